"""The script signals of ``not_garbled``: letters in another script than the expected one, and
words that switch script inside themselves. ``script_table`` maps every letter to its script's
one-letter code; the word signals use it to guess a text's language.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import islice

from .garbled_signal import Finding, sampled, visible

# Unicode blocks of the scripts a model writes, with a one-letter code each (Han outside the BMP
# is left out: rare, and its table would be larger than all the rest together).
_SCRIPT_BLOCKS: dict[str, tuple[str, tuple[tuple[int, int], ...]]] = {
    "Latin": (
        "L",
        (
            (0x41, 0x5A),
            (0x61, 0x7A),
            (0xAA, 0xAA),
            (0xBA, 0xBA),
            (0xC0, 0xD6),
            (0xD8, 0xF6),
            (0xF8, 0x24F),
            (0x1E00, 0x1EFF),
            (0x2C60, 0x2C7F),
            (0xA720, 0xA7FF),
            (0xFF21, 0xFF3A),
            (0xFF41, 0xFF5A),
        ),
    ),
    "Greek": ("G", ((0x370, 0x3FF), (0x1F00, 0x1FFF))),
    "Cyrillic": ("C", ((0x400, 0x52F), (0x1C80, 0x1C8F), (0x2DE0, 0x2DFF), (0xA640, 0xA69F))),
    "Armenian": ("R", ((0x530, 0x58F),)),
    "Hebrew": ("H", ((0x590, 0x5FF), (0xFB1D, 0xFB4F))),
    "Arabic": ("A", ((0x600, 0x6FF), (0x750, 0x77F), (0x8A0, 0x8FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))),
    "Devanagari": ("D", ((0x900, 0x97F),)),
    "Bengali": ("B", ((0x980, 0x9FF),)),
    "Gurmukhi": ("P", ((0xA00, 0xA7F),)),
    "Gujarati": ("U", ((0xA80, 0xAFF),)),
    "Tamil": ("T", ((0xB80, 0xBFF),)),
    "Telugu": ("E", ((0xC00, 0xC7F),)),
    "Kannada": ("K", ((0xC80, 0xCFF),)),
    "Malayalam": ("M", ((0xD00, 0xD7F),)),
    "Thai": ("I", ((0xE00, 0xE7F),)),
    "Georgian": ("Y", ((0x10A0, 0x10FF),)),
    "Hangul": ("O", ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF))),
    "Hiragana": ("Q", ((0x3040, 0x309F),)),
    "Katakana": ("W", ((0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))),
    "Han": (
        "N",
        (
            (0x2E80, 0x2FDF),
            (0x3005, 0x3005),
            (0x3007, 0x3007),
            (0x3400, 0x4DBF),
            (0x4E00, 0x9FFF),
            (0xF900, 0xFAFF),
        ),
    ),
}
SCRIPTS = tuple(_SCRIPT_BLOCKS)
_SCRIPT_OF_CODE = {code: name for name, (code, _) in _SCRIPT_BLOCKS.items()}
# Marks that belong to the letter before them, whatever its script: accents, joiners.
_TRANSPARENT = ((0x300, 0x36F), (0x200C, 0x200D), (0xFE00, 0xFE0F))
# The danda ends sentences in several Indic scripts: punctuation, not Devanagari.
_PUNCTUATION = (0x964, 0x965)
# Japanese mixes kanji and kana inside words, Korean hangul and hanja.
_CJK_CODES = frozenset("NQWO")


@cache
def script_table() -> dict[int, str]:
    """``str.translate`` table: a letter becomes its script's code, a mark "~", ASCII non-letters " "."""
    table = {c: " " for c in range(0x80)}
    for code, blocks in _SCRIPT_BLOCKS.values():
        for low, high in blocks:
            table.update(dict.fromkeys(range(low, high + 1), code))
    for low, high in _TRANSPARENT:
        table.update(dict.fromkeys(range(low, high + 1), "~"))
    table.update(dict.fromkeys(_PUNCTUATION, " "))
    return table


def _script_codes(text: str) -> str:
    """The text with every letter replaced by its script code (same length, same offsets)."""
    return text.translate(script_table())


WRONG_SCRIPT_MIN_LETTERS = 20
WRONG_SCRIPT_MAX_SHARE = 0.2


def wrong_script(text: str, script: str) -> Finding | None:
    """More than a fifth of the letters are in another script than the one the output should use."""
    expected = script_name(script)
    codes = _script_codes(sampled(text))
    counts = {code: codes.count(code) for code in _SCRIPT_OF_CODE}
    total = sum(counts.values())
    if total < WRONG_SCRIPT_MIN_LETTERS:
        return None
    allowed = {_SCRIPT_BLOCKS[expected][0]}
    if allowed & {"Q", "W"}:
        allowed |= {"N", "Q", "W"}  # Japanese: kana and kanji together
    foreign = {code: n for code, n in counts.items() if code not in allowed and n}
    share = sum(foreign.values()) / total
    if share <= WRONG_SCRIPT_MAX_SHARE:
        return None
    top = max(foreign, key=foreign.__getitem__)
    spans = [text[m.start() : m.end()] for m in islice(re.finditer(f"{top}[{top}~]*", codes), 3)]
    return Finding(
        "wrong_script",
        f"{share:.0%} of its letters are not {expected} (mostly {_SCRIPT_OF_CODE[top]}); "
        f"expected at most {WRONG_SCRIPT_MAX_SHARE:.0%}",
        tuple(visible(s) for s in spans),
    )


def script_name(script: str) -> str:
    aliases = {name.casefold(): name for name in SCRIPTS} | {
        "kanji": "Han",
        "hanzi": "Han",
        "korean": "Hangul",
    }
    name = aliases.get(script.strip().casefold()) if isinstance(script, str) else None
    if name is None:
        raise ValueError(f"not_garbled: unknown script {script!r}; use one of {', '.join(SCRIPTS)}")
    return name


_SWITCH = re.compile(r"([A-Z])~*(?!\1|~)(?=[A-Z])")
SWITCH_MIN_COUNT = 2
SWITCH_MIN_SHARE = 0.03


def script_switches(text: str) -> Finding | None:
    """Words that switch script inside themselves ("hello" + Cyrillic, "Conv" + Greek): token soup."""
    if text.isascii():
        return None
    sample = sampled(text)
    codes = _script_codes(sample)
    switches = [m.end() for m in _SWITCH.finditer(codes) if _is_switch(m.group(1), codes[m.end()])]
    words = len(sample.split())
    if len(switches) < SWITCH_MIN_COUNT or len(switches) < SWITCH_MIN_SHARE * words:
        return None
    return Finding(
        "script_switches",
        f"{len(switches)} script switches inside words among its {words} words (fluent text: almost none)",
        tuple(visible(_word_at(sample, at)) for at in switches[:3]),
    )


def _is_switch(before: str, after: str) -> bool:
    # Chinese and Japanese run Latin words into their text without spaces ("用Python编写").
    cjk = (before in _CJK_CODES) + (after in _CJK_CODES)
    return cjk == 0 or (cjk == 1 and "L" not in (before, after))


def _word_at(text: str, at: int) -> str:
    start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [e for e in (text.find(" ", at), text.find("\n", at)) if e >= 0]
    return text[start : min(ends, default=len(text))]
