"""How much of an output a check quotes in its reason and evidence, and how a longer span is cut."""

from __future__ import annotations

import re

__all__ = ["EVIDENCE_CHARS", "LONE_SURROGATE", "one_line", "shorten"]

# The most characters one evidence span shows: enough to recognise the place, short enough that a
# failure message with several spans stays readable.
EVIDENCE_CHARS = 80


def shorten(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """``text`` itself, or its first ``limit - 3`` characters and "..." when it is longer than ``limit``."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str, limit: int = EVIDENCE_CHARS) -> str:
    """``text`` with its whitespace runs as single spaces, shortened: a claim quoted in a reason.
    Only the first ``4 * limit`` characters are read, since a claim can be a megabyte long."""
    return shorten(" ".join(text[: 4 * limit].split()), limit)


# A lone surrogate: what a bad decode leaves in a str. UTF-8 cannot hold it, and it is no letter.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
