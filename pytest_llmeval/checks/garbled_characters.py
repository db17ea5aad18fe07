"""The character signals of ``not_garbled``: control characters, U+FFFD, lone surrogates, and
mojibake (UTF-8 decoded with the wrong codec, as ftfy finds it).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from itertools import islice

from .garbled_signal import Finding, visible

# C0/C1 controls other than tab, newlines and form feeds; ESC unless it starts an ANSI colour code;
# U+FFFD (a decoder gave up); lone surrogates; the noncharacters U+FFFE/U+FFFF.
_BAD_CHAR = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f-\x9f\ufffd\ud800-\udfff\ufffe\uffff]|\x1b(?!\\[)")


def bad_characters(text: str) -> Finding | None:
    """Control characters, U+FFFD replacement characters or lone surrogates: damaged text."""
    found = list(islice(_BAD_CHAR.finditer(text), 3))
    if not found:
        return None
    count = len(found) if len(found) < 3 else sum(1 for _ in _BAD_CHAR.finditer(text))
    names = ", ".join(sorted({_char_name(m.group()) for m in found}))
    return Finding(
        "bad_characters",
        f"{count} damaged character(s) ({names}); model output should have none",
        tuple(visible(text[max(0, m.start() - 30) : m.end() + 30]) for m in found),
    )


def _char_name(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"lone surrogate U+{code:04X}"
    return f"U+{code:04X} {unicodedata.name(char, 'control character')}"


def mojibake(text: str) -> Finding | None:
    """UTF-8 read as cp1252 or latin-1 somewhere on the way ("cafÃ©", "donâ€™t"), found by ftfy."""
    if text.isascii():
        return None  # mojibake needs non-ASCII characters: most outputs skip the regex
    found = list(islice(_mojibake_matches(text), 3))
    if not found:
        return None
    return Finding(
        "mojibake",
        f"it contains mojibake (UTF-8 decoded with the wrong codec), e.g. {found[0].group()!r}; "
        "ftfy.fix_text repairs such text",
        tuple(visible(text[max(0, m.start() - 30) : m.end() + 30]) for m in found),
    )


# Every match of ftfy's BADNESS_RE holds a non-ASCII character and is at most 7 characters long,
# so all of them lie within this many characters of a non-ASCII one.
_MOJIBAKE_REACH = 8
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _mojibake_matches(text: str) -> Iterator[re.Match[str]]:
    """BADNESS_RE's matches in order, searched only near non-ASCII characters.

    Its pattern is a long alternation tried at every position, a third of not_garbled's time on an
    English answer with a few curly quotes; the windows around non-ASCII runs hold every match.
    """
    from ftfy.badness import BADNESS_RE

    low = high = -1
    for run in _NON_ASCII.finditer(text):
        if run.start() - _MOJIBAKE_REACH > high:
            if high >= 0:
                yield from BADNESS_RE.finditer(text, low, high)
            low = max(run.start() - _MOJIBAKE_REACH, 0)
        high = run.end() + _MOJIBAKE_REACH
    if high >= 0:
        yield from BADNESS_RE.finditer(text, low, high)
