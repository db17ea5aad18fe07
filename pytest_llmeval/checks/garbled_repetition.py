"""The repetition signals of ``not_garbled``: loops, repeated n-grams, character runs and
abnormal compression. They share one tokenization of the text (``_tokens``, cached).
"""

from __future__ import annotations

import re
import zlib
from functools import lru_cache
from itertools import islice

from .evidence import EVIDENCE_CHARS
from .garbled_signal import Finding, visible

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAS_CJK = re.compile(f"[{_CJK}]")
# Chinese and Japanese put no spaces between words: there every character is a token.
_CJK_TOKEN = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_ANY_TOKEN = re.compile(r"\S+")
_LIST_NUMBER = re.compile(r"\d{1,4}[.):]")


@lru_cache(maxsize=4)  # the repetition signals share one tokenization of the same text
def _tokens(text: str) -> tuple[str, ...]:
    """Whitespace tokens (CJK characters one each); list numbers ("1.", "12)") all read as ``#``,
    so a list whose items repeat under increasing numbers still reads as a loop."""
    raw = _CJK_TOKEN.findall(text) if _HAS_CJK.search(text) else text.split()
    return tuple(["#" if t[-1] in ".):" and _LIST_NUMBER.fullmatch(t) else t for t in raw])


def _token_spans(text: str, first: int, count: int) -> tuple[int, int]:
    """Start and end offsets in ``text`` of ``count`` tokens from token index ``first``."""
    matches = (_CJK_TOKEN if _HAS_CJK.search(text) else _ANY_TOKEN).finditer(text)
    start = next(islice(matches, first, None))
    end = start if count == 1 else next(islice(matches, count - 2, None))
    return start.start(), end.end()


LOOP_MIN_COPIES = 4
LOOP_MIN_TOKENS = 16  # "no, no, no, no" or a table row of "| Yes | Yes | Yes |" is no loop
LOOP_MAX_PERIOD = 400  # tokens; longer units are left to the compression signal
LOOP_MIN_COPIES_BARE = 30  # a unit without a word ("0,", "| - |") loops only when it runs on and on


def repetition_loop(text: str) -> Finding | None:
    """The same phrase, sentence or line 4+ times in a row (the classic greedy-decoding loop).

    One pass: a run of tokens each equal to the token ``period`` places back is a loop with that
    period; the candidate period comes from the token's previous occurrence, so the scan is
    linear in the number of tokens.
    """
    tokens = _tokens(text)
    last_seen: dict[str, int] = {}
    best = (0, 0, 0)  # (tokens covered, first token, period)
    period = 0
    run_start = 0
    for i, token in enumerate([*tokens, None]):
        if period and token is not None and tokens[i - period] == token:
            last_seen[token] = i
            continue
        covered = i - run_start + period
        enough = period and covered >= max(LOOP_MIN_COPIES * period, LOOP_MIN_TOKENS, best[0] + 1)
        bare_ok = covered >= LOOP_MIN_COPIES_BARE * period
        if enough and (bare_ok or _has_word(tokens[run_start - period : run_start])):
            best = (covered, run_start - period, period)
        if token is None:
            break
        previous = last_seen.get(token)
        period = i - previous if previous is not None and i - previous <= LOOP_MAX_PERIOD else 0
        run_start = i
        last_seen[token] = i
    covered, first, period = best
    if not covered:
        return None
    copies = covered // period
    start, unit_end = _token_spans(text, first, period)
    _, end = _token_spans(text, first, covered)
    return Finding(
        "repetition",
        f"the same {period}-token phrase repeats {copies} times in a row "
        f"(a loop; fluent text does not say one thing {LOOP_MIN_COPIES} times running)",
        (visible(text[start:unit_end]), visible(text[start:end])),
    )


def _has_word(unit: tuple[str, ...]) -> bool:
    # Rows of numbers and separators ("| 0 | 0 |", "----") repeat in real tables and data.
    return any(sum(c.isalpha() for c in token) >= 2 for token in unit)


NGRAM_N = 8
NGRAM_MIN_CHARS = 30  # a repeated 8-gram must be this long: "| Yes | Yes | Yes | Yes" is a table
NGRAM_MIN_TOKENS = 40
NGRAM_MAX_REPEATED = 0.2


def repeated_ngrams(text: str) -> Finding | None:
    """A large share of the text repeats 8-word spans said before: a loop with small variations."""
    tokens = _tokens(text)
    if len(tokens) < NGRAM_MIN_TOKENS:
        return None
    seen: set[tuple[str, ...]] = set()
    repeated = 0
    example: tuple[str, ...] = ()
    for gram in zip(*(tokens[k:] for k in range(NGRAM_N)), strict=False):
        if gram in seen:
            if sum(map(len, gram)) + NGRAM_N - 1 >= NGRAM_MIN_CHARS:
                repeated += 1
                example = example or gram
        else:
            seen.add(gram)
    share = repeated / (len(tokens) - NGRAM_N + 1)
    if share < NGRAM_MAX_REPEATED:
        return None
    return Finding(
        "repeated_ngrams",
        f"{share:.0%} of its {NGRAM_N}-word spans repeat earlier ones (fluent text: under "
        f"{NGRAM_MAX_REPEATED:.0%}); it keeps saying the same things",
        (visible(" ".join(example)),),
    )


# Letters and the marks people repeat for emphasis ("!!!") are flagged after a few copies;
# separators ("-----", "====", "....") and digits only when absurdly long, since tables, rules
# and numbers legitimately use them. Ten empty lines in a row are no layout either.
_RUN = re.compile(r"(\S)\1{5,}")
_EMPTY_LINES = re.compile(r"\n(?:[ \t]*\n){9,}")
LETTER_RUN = 8
EMPHASIS_RUN = 6
OTHER_RUN = 100
# A short piece of a word repeated inside one long token ("lessnesslessnessless", "mommommom").
_LONG_TOKEN = re.compile(r"\S{20,}")
_STUTTER = re.compile(r"([^\W\d_]\S{1,11}?)\1{4,}")
STUTTER_MIN_CHARS = 20


def character_run(text: str) -> Finding | None:
    """A character, empty line or word piece repeated far beyond emphasis: "aaaaaaaaa", "!!!!!!!!",
    100 dashes, ten empty lines, "lessnesslessnessless"."""
    lines = _EMPTY_LINES.search(text)
    if lines:
        return Finding(
            "character_run",
            f"{lines.group().count(chr(10))} line breaks in a row",
            (visible(lines.group()),),
        )
    for match in _RUN.finditer(text):
        run = match.group()
        char = run[0]
        limit = LETTER_RUN if char.isalpha() else EMPHASIS_RUN if char in "!?" else OTHER_RUN
        if len(run) >= limit:
            return Finding("character_run", f"{char!r} repeats {len(run)} times in a row", (visible(run),))
    for token in _LONG_TOKEN.finditer(text):
        stutter = _STUTTER.search(token.group())
        if stutter and len(stutter.group()) >= STUTTER_MIN_CHARS:
            piece = stutter.group(1)
            return Finding(
                "character_run",
                f"{piece!r} repeats {len(stutter.group()) // len(piece)} times inside one word",
                (visible(stutter.group()),),
            )
    return None


COMPRESSION_MIN_BYTES = 600
COMPRESSION_MAX_RATIO = 0.1  # long JSON arrays and logs reach 0.17: only loops go this low


def compression_ratio(text: str) -> Finding | None:
    """zlib squeezes the text far below what prose, code or tables compress to: it repeats itself."""
    data = text.encode("utf-8", errors="surrogatepass")
    if len(data) < COMPRESSION_MIN_BYTES:
        return None
    ratio = len(zlib.compress(data, 6)) / len(data)
    if ratio >= COMPRESSION_MAX_RATIO:
        return None
    middle = len(text) // 2
    return Finding(
        "compression",
        f"zlib compresses it to {ratio:.0%} of its size "
        f"(prose, code and tables: over {COMPRESSION_MAX_RATIO:.0%})",
        (visible(text[middle : middle + EVIDENCE_CHARS]),),
    )
