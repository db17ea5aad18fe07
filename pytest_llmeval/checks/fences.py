"""Fenced code blocks in markdown (```` ``` ```` or ``~~~``): where they are, whether they close, and
the lines outside them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["FENCE_LINE", "Fence", "closes", "fences", "outside_code"]

FENCE_LINE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})([^\n]*)$", re.MULTILINE)


class Fence(NamedTuple):
    info: str  # the word after the opening fence: "json", "python", ""
    body: str
    start: int  # offset of the body in the text
    closed: bool


def fences(text: str, limit: int | None = None) -> list[Fence]:
    """The fenced code blocks, the first ``limit`` of them if given; an unclosed one runs to the end
    (a truncated answer), so only the last block can be unclosed."""
    blocks: list[Fence] = []
    opener: re.Match[str] | None = None
    for line in FENCE_LINE.finditer(text):
        if opener is None:
            marker, info = line.groups()
            if not (marker[0] == "`" and "`" in info):  # ```x``` on one line is inline code, not a fence
                opener = line
        elif closes(line, opener.group(1)) and not line.group(2).strip():
            body_start = opener.end() + 1
            blocks.append(Fence(_info(opener), text[body_start : line.start()], body_start, True))
            opener = None
            if len(blocks) == limit:
                return blocks
    if opener is not None:
        body_start = min(opener.end() + 1, len(text))
        blocks.append(Fence(_info(opener), text[body_start:], body_start, False))
    return blocks


def closes(line: re.Match[str], fence: str) -> bool:
    """A fence line of the opener's character, at least as long: it can close ``fence``."""
    return line.group(1)[0] == fence[0] and len(line.group(1)) >= len(fence)


def _info(opener: re.Match[str]) -> str:
    words = opener.group(2).split()
    return words[0].casefold() if words else ""


def outside_code(text: str) -> Iterator[str]:
    """The lines of ``text`` that are not inside fenced code blocks (a '# comment' is no heading)."""
    fence: str | None = None
    for line in text.splitlines():
        marker = FENCE_LINE.match(line)
        if fence is None and marker:
            fence = marker.group(1)
        elif fence is not None:
            if marker and closes(marker, fence):
                fence = None
        else:
            yield line
