"""not_garbled: catch degenerate model output - loops, token soup, mojibake, broken characters.

Each signal is a small function from the text to a ``Finding`` (or None), so the bench can score
them one by one and a failure names the signal that fired and the span that made it fire. Every
signal stays quiet on short texts and leaves code, tables, lists, math, numbers, URLs and text in
other languages alone; thresholds were calibrated on the dev split of
``tests/data/garbled/corpus.jsonl`` (``bench/bench_garbled.py`` prints the figures).

All signals are linear in the text; the share-based ones (words, scripts) read an evenly spread
sample of a very long text, because a share estimated from 20,000 characters is as good as one
from a megabyte.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import islice

from .evidence import EVIDENCE_CHARS, shorten
from .result import CheckResult, refusal, text_of


@dataclass(frozen=True)
class Finding:
    """One signal that fired: its name, the sentence a user reads, and the spans that decided it."""

    signal: str
    reason: str
    evidence: tuple[str, ...] = ()


def _visible(span: str) -> str:
    # ascii() shows control characters and lone surrogates instead of printing (or failing on) them.
    return shorten(ascii(span)[1:-1])


SAMPLE_CHARS = 20_000


def _sample(text: str, pieces: int = 10) -> str:
    """The text itself, or evenly spaced slices of it (cut at spaces) once it is very long."""
    if len(text) <= SAMPLE_CHARS:
        return text
    size = SAMPLE_CHARS // pieces
    step = len(text) // pieces
    slices = []
    for k in range(pieces):
        piece = text[k * step : k * step + size]
        slices.append(piece[piece.find(" ") + 1 : piece.rfind(" ")])
    return "\n".join(slices)


# ----- repetition ---------------------------------------------------------------------------------

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
        (_visible(text[start:unit_end]), _visible(text[start:end])),
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
        (_visible(" ".join(example)),),
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
            (_visible(lines.group()),),
        )
    for match in _RUN.finditer(text):
        run = match.group()
        char = run[0]
        limit = LETTER_RUN if char.isalpha() else EMPHASIS_RUN if char in "!?" else OTHER_RUN
        if len(run) >= limit:
            return Finding("character_run", f"{char!r} repeats {len(run)} times in a row", (_visible(run),))
    for token in _LONG_TOKEN.finditer(text):
        stutter = _STUTTER.search(token.group())
        if stutter and len(stutter.group()) >= STUTTER_MIN_CHARS:
            piece = stutter.group(1)
            return Finding(
                "character_run",
                f"{piece!r} repeats {len(stutter.group()) // len(piece)} times inside one word",
                (_visible(stutter.group()),),
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
        (_visible(text[middle : middle + EVIDENCE_CHARS]),),
    )


# ----- characters ---------------------------------------------------------------------------------

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
        tuple(_visible(text[max(0, m.start() - 30) : m.end() + 30]) for m in found),
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
        tuple(_visible(text[max(0, m.start() - 30) : m.end() + 30]) for m in found),
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


# ----- scripts ------------------------------------------------------------------------------------

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
def _script_table() -> dict[int, str]:
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
    return text.translate(_script_table())


WRONG_SCRIPT_MIN_LETTERS = 20
WRONG_SCRIPT_MAX_SHARE = 0.2


def wrong_script(text: str, script: str) -> Finding | None:
    """More than a fifth of the letters are in another script than the one the output should use."""
    expected = _script_name(script)
    codes = _script_codes(_sample(text))
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
        tuple(_visible(s) for s in spans),
    )


def _script_name(script: str) -> str:
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
    sample = _sample(text)
    codes = _script_codes(sample)
    switches = [m.end() for m in _SWITCH.finditer(codes) if _is_switch(m.group(1), codes[m.end()])]
    words = len(sample.split())
    if len(switches) < SWITCH_MIN_COUNT or len(switches) < SWITCH_MIN_SHARE * words:
        return None
    return Finding(
        "script_switches",
        f"{len(switches)} script switches inside words among its {words} words (fluent text: almost none)",
        tuple(_visible(_word_at(sample, at)) for at in switches[:3]),
    )


def _is_switch(before: str, after: str) -> bool:
    # Chinese and Japanese run Latin words into their text without spaces ("用Python编写").
    cjk = (before in _CJK_CODES) + (after in _CJK_CODES)
    return cjk == 0 or (cjk == 1 and "L" not in (before, after))


def _word_at(text: str, at: int) -> str:
    start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at)) + 1
    ends = [e for e in (text.find(" ", at), text.find("\n", at)) if e >= 0]
    return text[start : min(ends, default=len(text))]


# ----- words --------------------------------------------------------------------------------------

# A few of the most frequent words of each language wordfreq knows: enough to tell which word
# list to check a text against, without a language-detection model.
_STOPWORDS = {
    "en": "the and of to is in that it for you was with on are be this have as not",
    "fr": "le la les des est une et dans pour que qui pas sur avec du au il elle nous vous",
    "de": "der die das und ist nicht ein eine mit den von zu sich auf für ich sie es im dem",
    "es": "el la los las de que y en un una es por con para del se no al lo como",
    "it": "il la di che e un una è per non con sono del della gli le nel alla",
    "pt": "o a os as de que e um uma é não com para do da em no na se por mais",
    "nl": "de het een en van is dat op te in niet zijn voor met ik je ze er",
    "sv": "och att det som en är på för med jag inte av till den har var ett",
    "da": "og at det som en er på for med jeg ikke af til den har var et",
    "nb": "og at det som en er på for med jeg ikke av til den har var et",
    "pl": "i w nie na się z że do to jest jak ale co o od po tak",
    "cs": "a v se na je že to s z do o ve pro jako ale by jsem",
    "tr": "ve bir bu da de için ile çok ne olarak daha gibi ama en mi",
    "id": "dan yang di ini itu dengan untuk tidak dari dalam akan ada ke juga",
    "fi": "ja on ei se että oli hän mutta kun niin tai ovat myös ole",
    "vi": "và của là có không những được trong các một cho với người này",
    "ro": "și de la în cu nu că pe o un este pentru se care din",
    "ca": "i de la el que en els les per amb no una és al del",
    "hu": "a az és hogy nem egy is van meg de csak el már",
    "ru": "и в не на что я с он как это по но из у за от так",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "uk": "і в не на що я з він як це та але до у за від",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "bg": "и в не на че да се от за е по са с като",  # noqa: RUF001 (Cyrillic, not look-alike Latin)
    "ar": "في من على أن إلى هذا التي عن ما لا مع هو",
    "fa": "و در به از که این را با است برای آن",
    "ur": "کے میں کی ہے اور سے کو کا نے",
}
_STOPWORD_SETS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_STOPWORD_LANGUAGES: dict[str, tuple[str, ...]] = {}
for _lang, _words_of_lang in _STOPWORDS.items():
    for _word in _words_of_lang.split():
        _STOPWORD_LANGUAGES[_word] = (*_STOPWORD_LANGUAGES.get(_word, ()), _lang)
# Languages written with spaces between words, by script code; the first is the default.
_LANGUAGES_BY_SCRIPT = {
    "L": (
        "en",
        "fr",
        "de",
        "es",
        "it",
        "pt",
        "nl",
        "sv",
        "da",
        "nb",
        "pl",
        "cs",
        "tr",
        "id",
        "fi",
        "vi",
        "ro",
        "ca",
        "hu",
    ),
    "C": ("ru", "uk", "bg"),
    "A": ("ar", "fa", "ur"),
    "G": ("el",),
    "H": ("he",),
    "D": ("hi",),
    "B": ("bn",),
    "T": ("ta",),
}

WORDS_MIN = 8  # fewer words than this say nothing reliable about word validity
WORD_MIN_ZIPF = 2.5  # wordfreq's Zipf scale: 2.5 is once per 3 million words; BPE fragments sit below
KNOWN_FLUENT = 0.9  # at least this share of known words: language, whatever else it looks like
KNOWN_MIN = 0.5  # below this share it is no language at all
SALAD_MIN_WORDS = 25
SALAD_MAX_STOPWORDS = 0.1  # running text in any language is a fifth or more function words
PROSE_LINE_TOKENS = 12  # code, tables and lists have short lines; sentences and token soup long ones
STOPWORDS_FLUENT = 0.15


@cache
def _known_words(lang: str) -> frozenset[str]:
    """wordfreq's words of ``lang`` at or above WORD_MIN_ZIPF (its lists are bucketed by centibel)."""
    from wordfreq import get_frequency_list

    buckets = get_frequency_list(lang)
    return frozenset(word for bucket in buckets[: round(100 * (9 - WORD_MIN_ZIPF)) + 1] for word in bucket)


# Code in fences or backticks, and chunks that are addresses, paths, hashes or encoded data
# rather than words: none of them is evidence of token soup.
_CODE = re.compile(r"```.*?(?:```|$)|`[^`\n]*`", re.S)
# Matches start only where a chunk starts ((?<!\S)), so each chunk is scanned once: linear time.
_DATA_CHUNK = re.compile(r"(?<!\S)(?:\S*?(?:://|www\.|@|\\)|(?=\S{25})\S*?[\d/=+%])\S*")


def _prose(text: str) -> str:
    """The text without code and without chunks that are addresses, paths, hashes or encoded data."""
    return _DATA_CHUNK.sub(" ", _CODE.sub(" ", text))


_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
    "\u0900-\u0dff\u200c\u200d"
)
_HAS_MARKS = re.compile(f"[{_MARKS}]")
# Letters with the marks Python's \w leaves out (Indic vowel signs, Arabic points): words stay whole.
# The plain letter class is much faster, so it serves the texts that have no such marks.
_MARKED_WORD = re.compile(f"(?:[^\\W\\d_]|[{_MARKS}])+")
_PLAIN_WORD = re.compile(r"[^\W\d_]+")
_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")


def _words(text: str) -> list[str]:
    words: list[str] = []
    for word in (_MARKED_WORD if _HAS_MARKS.search(text) else _PLAIN_WORD).findall(text):
        if word.islower() or word.isupper() or not word.isascii():
            words.append(word)
        else:
            words.extend(_CAMEL.findall(word))  # code: "innerWidth" is two words
    return words


@lru_cache(maxsize=4)  # the word signals share one reading of the same text
def _reading(text: str) -> tuple[str, list[str], list[str]]:
    """The prose of a text, all its words, and the words of its long (sentence or soup) lines."""
    prose = _prose(_sample(text))
    long_lines = "\n".join(line for line in prose.splitlines() if len(line.split()) >= PROSE_LINE_TOKENS)
    return long_lines, _words(prose), long_lines.split()


def _unknown(lowered: list[str], known: frozenset[str]) -> frozenset[str]:
    """The lower-cased words wordfreq does not know (set operations first: most words are known)."""
    return frozenset(word for word in set(lowered).difference(known) if not _is_known(word, known))


def _is_known(word: str, known: frozenset[str]) -> bool:
    """Casefolded, and at apostrophes split ("l'énergie"), as wordfreq stores its words."""
    form = word.replace("\u2019", "'").casefold().replace("i\u0307", "i")
    if form in known:
        return True
    parts = [part for part in form.split("'") if len(part) > 1]
    return "'" in form and bool(parts) and all(part in known for part in parts)


def non_words(text: str) -> Finding | None:
    """Its words are not the words of its language (by wordfreq), or they are, but thrown together
    without the function words every sentence has: token soup, not language."""
    long_lines, all_words, _ = _reading(text)
    words = [w for w in all_words if len(w) > 1]  # one-letter words and variables say nothing
    if len(words) < WORDS_MIN:
        return None
    lowered = list(map(str.lower, words))
    best: tuple[float, str, frozenset[str]] | None = None
    for lang in _candidate_languages(all_words):
        if lang == _FLUENT:
            return None
        unknown = _unknown(lowered, _known_words(lang))
        share = 1 - sum(map(unknown.__contains__, lowered)) / len(words)
        if share >= KNOWN_FLUENT:
            return None
        if best is None or share > best[0]:
            best = (share, lang, unknown)
    if best is None:
        return None
    share, lang, unknown = best
    examples = _visible(" ".join(list(dict.fromkeys(w for w in words if w.lower() in unknown))[:12]))
    if share < KNOWN_MIN:
        return Finding(
            "non_words",
            f"only {share:.0%} of its {len(words)} words are {lang} words (wanted at least {KNOWN_MIN:.0%})",
            (examples,),
        )
    return _word_salad(long_lines, lang, share, examples)


def _word_salad(long_lines: str, lang: str, share: float, examples: str) -> Finding | None:
    """Long lines of words with almost none of the language's function words: a salad of tokens."""
    stopwords = _STOPWORD_SETS.get(lang)
    if stopwords is None:
        return None
    words = [w.casefold() for w in _words(long_lines)]
    if len(words) < SALAD_MIN_WORDS:
        return None
    function_share = sum(w in stopwords for w in words) / len(words)
    if function_share >= SALAD_MAX_STOPWORDS:
        return None
    return Finding(
        "non_words",
        f"a word salad: {share:.0%} of its words are {lang} words, but only {function_share:.0%} are "
        f"function words like {', '.join(_STOPWORDS[lang].split()[:3])} "
        f"(sentences: over {SALAD_MAX_STOPWORDS:.0%})",
        (examples,),
    )


# Two words run together without a space, as a sampler stitching BPE pieces does: "SinceNV",
# "to,lack". "JavaScript" or "iPhone" are words wordfreq knows, so they do not count.
_GLUE_POINT = re.compile(r"[a-z][A-Z]|[a-z]{2}[,;][a-z]{2}")
_LETTER_RUN = re.compile(r"[A-Za-z]+")
_CAMEL_POINT = re.compile(r"[a-z][A-Z]")
_COMMA_GLUE = re.compile(r"[a-z]{2}[,;][a-z]{2}")
GLUED_MIN_SHARE = 0.02
GLUED_MIN_COUNT = 2


def glued_words(text: str) -> Finding | None:
    """Sentences whose words are run together without spaces ("SinceNV", "to,lack"): token soup."""
    long_lines, _, tokens = _reading(text)
    if len(tokens) < SALAD_MIN_WORDS:
        return None
    known = _known_words("en")
    glued: dict[str, None] = {}  # the tokens around each glue point, in order, once each
    for point in _GLUE_POINT.finditer(long_lines):
        start = max(long_lines.rfind(" ", 0, point.start()), long_lines.rfind("\n", 0, point.start())) + 1
        end = min(
            e
            for e in (long_lines.find(" ", point.end()), long_lines.find("\n", point.end()), len(long_lines))
            if e >= 0
        )
        token = long_lines[start:end]
        if token.isascii() and _is_glued(token, known):
            glued[token] = None
    if len(glued) < GLUED_MIN_COUNT or len(glued) < GLUED_MIN_SHARE * len(tokens):
        return None
    return Finding(
        "glued_words",
        f"{len(glued)} of its {len(tokens)} words are run together without spaces (fluent text: almost none)",
        (_visible(" ".join(list(glued)[:6])),),
    )


def _is_glued(token: str, known: frozenset[str]) -> bool:
    if _COMMA_GLUE.search(token):
        return True
    return any(_CAMEL_POINT.search(run) and run.lower() not in known for run in _LETTER_RUN.findall(token))


def _candidate_languages(words: list[str]) -> Iterator[str]:
    """The word lists to try, cheapest and likeliest first; ``_FLUENT`` ends the search.

    English first for Latin text. In another language, text where a sixth of the words are its
    stopwords is language, and loading its word list (up to a second) would only confirm it;
    otherwise the script's default language and the two stopword leaders are tried.
    """
    head = words[:100]
    if sum(word.isascii() for word in head) * 2 > len(head):
        candidates = _LANGUAGES_BY_SCRIPT["L"]
    else:
        table = _script_table()
        scripts: dict[str, int] = {}
        for word in head:
            code = table.get(ord(word[0]))
            if code in _LANGUAGES_BY_SCRIPT:
                scripts[code] = scripts.get(code, 0) + 1
        if not scripts:
            return  # Han, kana, Thai, hangul: words are not split by spaces, or not in wordfreq's form
        candidates = _LANGUAGES_BY_SCRIPT[max(scripts, key=scripts.__getitem__)]
    if candidates[0] == "en":
        yield "en"
    sample = words[:400]
    hits = dict.fromkeys(candidates[1:] if candidates[0] == "en" else candidates, 0)
    for word in sample:
        for lang in _STOPWORD_LANGUAGES.get(word.lower(), ()):
            if lang in hits:
                hits[lang] += 1
    leaders = sorted((lang for lang in hits if hits[lang]), key=lambda lang: -hits[lang])
    if leaders and hits[leaders[0]] >= STOPWORDS_FLUENT * len(sample):
        yield _FLUENT
        return
    yield from dict.fromkeys(lang for lang in (candidates[0], *leaders[:2]) if lang != "en")


_FLUENT = "<fluent>"  # not a language: the marker that stopwords alone showed the text is language


# ----- perplexity ---------------------------------------------------------------------------------

PERPLEXITY_MIN_WORDS = 8


def high_perplexity(text: str, reference: Callable[[str], float], max_perplexity: float) -> Finding | None:
    """A reference model finds the text far less likely than fluent text of any kind."""
    if len(text.split()) < PERPLEXITY_MIN_WORDS:
        return None  # the perplexity of a few words says more about the words than about the text
    perplexity = float(reference(text))
    if math.isnan(perplexity):
        raise ValueError("not_garbled: the reference returned NaN as perplexity")
    if perplexity <= max_perplexity:
        return None
    return Finding(
        "perplexity",
        f"perplexity {perplexity:.0f} under the reference model (at most {max_perplexity:g} wanted)",
        (_visible(text),),
    )


# ----- the check ----------------------------------------------------------------------------------

SIGNALS: dict[str, Callable[[str], Finding | None]] = {
    "repetition": repetition_loop,
    "repeated_ngrams": repeated_ngrams,
    "character_run": character_run,
    "compression": compression_ratio,
    "bad_characters": bad_characters,
    "mojibake": mojibake,
    "script_switches": script_switches,
    "non_words": non_words,
    "glued_words": glued_words,
}
"""The deterministic signals by name: what ``not_garbled`` runs when no script or reference is given."""

# Calibrated on the dev split with SmolLM2-135M-Instruct as the reference (per-token perplexity):
# fluent model answers, code and tables stay under it, token soup is in the thousands. Text in
# languages the reference barely knows can exceed it: pass a reference that knows them, or raise it.
DEFAULT_MAX_PERPLEXITY = 275.0


def garbled_findings(
    text: str,
    *,
    script: str | None = None,
    reference: Callable[[str], float] | None = None,
    max_perplexity: float = DEFAULT_MAX_PERPLEXITY,
) -> list[Finding]:
    """Every signal that fires on ``text``: the check without its verdict, for benches and reports."""
    findings = [found for signal in SIGNALS.values() if (found := signal(text)) is not None]
    if script is not None and (found := wrong_script(text, script)) is not None:
        findings.append(found)
    if reference is not None and (found := high_perplexity(text, reference, max_perplexity)) is not None:
        findings.append(found)
    return findings


def not_garbled(
    output: str,
    *,
    script: str | None = None,
    reference: Callable[[str], float] | None = None,
    max_perplexity: float = DEFAULT_MAX_PERPLEXITY,
) -> CheckResult:
    """The output reads as language (or code, or data), not as a broken model's degenerate text.

    ``script`` names the script the output should be written in ("Latin", "Cyrillic", "Han", ...);
    ``reference`` maps a text to its perplexity under a reference model, and a text of 8+ words
    above ``max_perplexity`` fails.
    """
    output = text_of(output, "not_garbled")
    if script is not None:
        _script_name(script)
    if reference is not None and not callable(reference):
        raise ValueError(f"not_garbled: reference must be a callable text -> perplexity, got {reference!r}")
    if isinstance(max_perplexity, bool) or not (
        isinstance(max_perplexity, int | float) and 1.0 < max_perplexity < math.inf
    ):
        raise ValueError(
            f"not_garbled: max_perplexity must be a finite number above 1, got {max_perplexity!r}"
        )
    if (refused := refusal("not_garbled", len(output))) is not None:
        return refused
    findings = garbled_findings(output, script=script, reference=reference, max_perplexity=max_perplexity)
    if not findings:
        return CheckResult.of("not_garbled", True, "no sign of degenerate text")
    reason = "; ".join(f"{found.signal}: {found.reason}" for found in findings)
    return CheckResult.of("not_garbled", False, reason, tuple(span for f in findings for span in f.evidence))
