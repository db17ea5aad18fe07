"""Hallucination checks: does the output say only what its source text (or its other samples) says?

``grounded_in`` splits the output into claims (sentences and clauses) and finds in each the facts a
reader can check against the source: numbers (digits, number words, money, percentages), dates,
names and quoted strings. A fact is supported when the source states it, or, for numbers, when it
is the correct result of arithmetic the output shows (``16 - 3 - 4 = 9``), or one unshown step
(a + b, a - b, a * b, a / b) from a number the source states or the output wrote just before
("she uses 7 of her 16 eggs, so 9 are left"). That last rule accepts worked answers that skip a
step, and its price is that a made-up number one step away (12 = 16 - 4) passes too. Operands
follow the same rules; a wrong result is reported with the value the arithmetic gives, and a
right result of a made-up operand is not reported again (the operand is). Stronger, slower
methods use an NLI model or a judge model on whole claims.

``consistent`` is the SelfCheckGPT idea: a claim that other samples of the same model do not
repeat is likely made up.
"""

from __future__ import annotations

import bisect
import gc
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal, Protocol

from .result import CheckInputError, CheckResult, refusal, text_of

Method = Literal["facts", "nli", "judge"]
METHODS: tuple[str, ...] = ("facts", "nli", "judge")
_EVIDENCE_CHARS = 80
_REASON_ITEMS = 5
_EVIDENCE_ITEMS = 20  # enough to see a pattern; a megabyte of made-up numbers needs no more


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Judge(Protocol):
    """Anything that answers a prompt with text, such as the ``judge`` fixture's ``LLM``."""

    def generate(self, prompt: str, **kw: Any) -> Any: ...


# ---------------------------------------------------------------------------------------------
# Words that carry numbers


_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12}
# Ordinals name a count too ("the third day", "two-thirds"): the source side knows their numbers.
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "twelfth": 12, "twentieth": 20, "hundredth": 100, "half": 2, "quarter": 4,
}  # fmt: skip
_ORDINAL_FORMS = frozenset(_ORDINALS) | {word + "s" for word in _ORDINALS}  # "third", "thirds"
# Numbers a solution may use without the source writing them, because a word in the source implies
# them: "a week" lets an answer multiply by 7. Only words present in the source unlock their numbers.
_UNIT_CONSTANTS: dict[str, tuple[float, ...]] = {
    "week": (7,), "weeks": (7,), "weekly": (7,), "day": (24,), "days": (24,), "daily": (7, 30, 365),
    "hour": (60, 3600), "hours": (60, 3600), "minute": (60,), "minutes": (60,),
    "month": (12, 30, 4), "months": (12, 30, 4), "monthly": (12,), "year": (12, 52, 365),
    "years": (12, 52, 365), "yearly": (12,), "annual": (12,), "annually": (12,), "decade": (10,),
    "decades": (10,), "century": (100,), "dozen": (12,), "dozens": (12,), "pair": (2,), "pairs": (2,),
    "percent": (100,), "%": (100,), "cent": (100,), "cents": (100,), "foot": (12,), "feet": (12,),
    "inch": (12,), "inches": (12,), "yard": (3, 36), "yards": (3, 36), "mile": (5280,), "miles": (5280,),
    "pound": (16,), "pounds": (16,), "gallon": (4, 128), "gallons": (4, 128), "quart": (4,),
    "quarts": (4,), "kilogram": (1000,), "kilograms": (1000,), "kilometer": (1000,),
    "kilometers": (1000,), "meter": (100,), "meters": (100,), "liter": (1000,), "liters": (1000,),
    "weekend": (2,), "weekends": (2,), "weekday": (5,), "weekdays": (5,), "half": (2, 0.5),
    "twice": (2,), "thrice": (3,), "double": (2,), "doubles": (2,), "doubled": (2,), "triple": (3,),
    "triples": (3,), "tripled": (3,), "quadruple": (4,), "quadrupled": (4,), "halved": (2,), "twins": (2,),
    "triplets": (3,), "both": (2,),
    "quarter": (4, 0.25), "quarters": (4, 0.25), "semester": (2,), "score": (20,),
}  # fmt: skip
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_SCALES)
_RARE_ZIPF = 4.3  # wordfreq's scale: "the" is 7.7, "janet" 4.0, "overtime" 3.9, "tobias" 3.3
_UNIVERSAL = (0.0, 1.0, 2.0)  # "none left", counting from one, doubling and halving need no source
_OP_WORDS = {"plus": "+", "minus": "-", "times": "*", "x": "*"}
_SYMBOLS = {"\u00d7": "*", "\u00f7": "/", "\u2013": "-", "\u2212": "-"}
_EQ_WORDS = frozenset({"is", "are", "equals", "makes", "gives", "leaves", "was", "were", "totals", "yields"})
# A number right after one of these labels names a thing ("Level 3", "Step 2") rather than a quantity.
_LABELS = _word_set(
    """level step day week part question round stage phase option case item no number page chapter
    grade room floor line row table figure version class"""
)
_DETERMINERS = frozenset({"a", "an", "the", "his", "her", "its", "their", "my", "our", "your", "another"})
_TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "mt", "sen", "gov", "rev"})
_ABBREVIATIONS = _TITLES | {"e.g", "i.e", "vs", "etc", "approx", "inc", "ltd", "co", "no", "fig"}
_CONNECTORS = frozenset({"of", "de", "da", "del", "van", "von", "la", "le", "du", "the"})
# Capitalized because they start a sentence, not because they name something.
_STARTERS = _word_set(
    """a an the so then thus hence therefore first second third next finally lastly also and but or if
    when since because after before while in on at by for from to of with as this that these those
    there here it its he she they we you i his her their our your my each every all both total
    altogether overall together now however yes no not meanwhile additionally furthermore answer
    step final let note given using adding subtracting multiplying dividing multiply divide add subtract
    find convert calculate compute combine solve set plug substitute round start begin remember plus
    minus times"""
)
_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12, "jan": 1, "feb": 2, "mar": 3,
    "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_STOPWORDS = _STARTERS | _EQ_WORDS | {"has", "have", "had", "be", "been", "do", "does", "did", "will", "can"}

_MONTH = (
    r"(?P<{g}>January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\b\.?"
)
# Every date starts with a digit or a capital: the lookahead rejects other positions at once, which
# halves the time of a search that would otherwise try all four branches at each character.
_DATE = re.compile(
    r"(?=[\dA-Z])(?:"
    r"\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b"
    r"|\b(?P<bd>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _MONTH.format(g="bm") + r"(?:,?\s+(?P<by>\d{4})\b)?"
    r"|\b" + _MONTH.format(g="am") + r"(?:\s+(?P<ad>\d{1,2})(?:st|nd|rd|th)?\b)?(?:,?\s+(?P<ay>\d{4})\b)?"
    r"|\b(?P<wd>(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)s?"
    r"|Mon|Tues|Tue|Wed|Thurs|Thur|Thu|Fri|Sat|Sun)\b)"
)
# Every date holds the "-MM-" of an ISO date or the start of a month's or weekday's name. Each
# branch starts with a literal, so the search skips in C to the few places where one can start:
# four times cheaper than _DATE, whose lookahead tries its branches at every digit and capital.
_DATE_HINT = re.compile(r"-\d\d-|Jan|Feb|Ma[ry]|Apr|Ju[nl]|Aug|Sep|Oct|Nov|Dec|Mon|Tue|Wed|Thu|Fri|Sat|Sun")
# A straight double quote right after a digit is an inch mark (36"), not the start of a quotation.
# Both branches start with the quote mark itself (the lookbehind comes after it) so that the search
# jumps from quote mark to quote mark instead of trying every character.
_QUOTE = re.compile(r"\"(?<![\d\w]\")([^\"\n]{1,300})\"(?!\w)|“([^”\n]{1,300})”")
# Runs of ordinary lowercase words become one token: they matter only as unit words inside
# arithmetic ("20 sheep + 80 sheep") and as breaks between names, and one token per run keeps the
# check fast on long outputs. Words with a meaning of their own (numbers, operators, "is") stay apart.
# Words that can only act on a number that follows them: "is 9", "times $2", "divided by 4".
_TAIL_WORDS = _EQ_WORDS | {"plus", "minus", "times", "by", "percent"}
_PLAIN_WORD = r"(?:[a-z]{2,}|a\b)(?:['\u2019][a-z]+)?"  # one-letter words (x, y) may be variables
_PLAIN_WORDS = re.compile(_PLAIN_WORD)
# The branches are ordered by how often they match, and the costly number branches are guarded by
# their first character: with Python's backtracking engine that makes tokenizing several times faster.
# For the same reason the pattern starts by rejecting whitespace, and a run of plain words gives back
# whole words only (possessive quantifiers): a shorter word is never followed by what the run needs.
# Other words come after the numbers because testing a digit against a Unicode letter class is slow,
# and their first characters differ, so the order changes no token.
_TOKEN = re.compile(
    r"(?=\S)"
    r"(?P<plain>(?:[a-z]{2,}+|a\b)(?:['\u2019][a-z]++)?+(?:[ \t]++(?:[a-z]{2,}+|a\b)(?:['\u2019][a-z]++)?+)*"
    r"(?![\w\-/'\u2019]))"
    r"|(?=[\d$.])(?:"
    r"(?P<mixed>\b\d++[ \t]++\d++/\d++\b)"  # "3 1/2"
    r"|(?P<num>\$\s?\d{1,3}(?:[ \u202f]\d{3})+(?![\d,])(?:\.\d+)?"  # "$350 000"
    r"|(?:\$\s?)?+(?:\d{1,3}(?:,\d{3})++(?!\d)|\d++)(?:\.\d++)?+(?:\s?(?:%|percent\b|per\s?cent\b))?+"
    r"|(?:\$\s?)?\.\d+(?:\s?%)?))"
    r"|(?P<word>[^\W\d_]++(?:['\u2019][^\W\d_]++)*+(?:[-/][^\W\d_]++)*+)"
    r"|(?=[-/])(?P<joint>(?<=[\d%])[-/](?=[^\W\d_]{2}))"  # "30-minute", "$10/hour": no operator
    r"|(?P<op>[-+*/\u00d7\u00f7\u2013\u2212])|(?P<eq>=)|(?P<open>\()|(?P<close>\))|(?P<other>[:%,]|#++)"
)
# Punctuation matters only where it separates: a comma or period between two tokens is seen in the
# text between them, so only the marks of ``other`` become tokens of their own. The search skips
# the rest in C, as it skips spaces, which is cheaper than handing each to Python to drop.
_NOT_NUMERIC = re.compile(r"[^0-9.]")
_NAME_PARTS = re.compile(r"[\s\-/]+")
# One character class first, so that the search jumps from mark to mark in C instead of trying
# the pattern at every position: a newline or semicolon ends a claim, a run of .!? before a space.
_BOUNDARY = re.compile(r"[\n;.!?](?:(?<=[\n;])|[.!?]*(?=[\s\"”')\]]|$))")


def _key(value: float) -> float:
    """The identity of a number across spellings: 3, 3.0, "three" and 300% / 100 are one key."""
    value = float(value)
    # Rounding a float to 6 places is slow (it goes through decimal digits) and leaves whole numbers,
    # most numbers of a text, unchanged.
    return value if value.is_integer() else round(value, 6)


# ---------------------------------------------------------------------------------------------
# Reading a text


@dataclass(slots=True)
class _Lexeme:
    kind: str  # num, word, op, eq, open, close, joint ("30-minute"), other
    start: int
    end: int
    text: str
    low: str = ""  # casefolded text of a word
    words: int = 1  # how many words a run of plain lowercase words holds
    value: float = 0.0
    base: float = 0.0  # the value before a scale word: 5 in "5 dozen", which can mean 5 or 60
    percent: bool = False
    decimals: int = 0
    sentence_start: bool = False
    claim: int = 0


@dataclass(slots=True)
class _Equation:
    operands: list[_Lexeme]
    result: _Lexeme  # the first number after "=": all of it, or the start of an expression ("= 8 + 18")
    text: str  # the arithmetic as written, for the reason
    computed: float | None  # None: not plain arithmetic (a variable, division by zero)
    rhs: list[_Lexeme] = field(default_factory=list)  # the numbers of an expression after "="
    rhs_value: float | None = None
    rhs_text: str = ""
    # Whether the left side gives the right one: worked out once by ``check`` when the equation is
    # complete, since every number of the equation asks.
    holds: bool = False

    def check(self) -> bool:
        """The left side gives the right one (to the precision written), e.g. ``2 * 4 + 3 * 6 = 8 + 18``."""
        if self.computed is None:
            return False
        if self.rhs_value is not None:
            return math.isclose(self.computed, self.rhs_value, rel_tol=1e-6, abs_tol=1e-6)
        return _correct(self.computed, self.result)

    def wrong_by(self) -> str:
        stated = " ".join(self.rhs_text.split()) if self.rhs else f"{self.result.value:g}"
        return f"{_arith(self)} gives {self.computed:g}, not {stated}"


@dataclass(slots=True)
class _Fact:
    kind: str  # number, date, name, quote
    text: str
    start: int
    end: int
    claim: int
    value: float = 0.0
    base: float = 0.0
    key: float = 0.0  # _key(value) and _key(base), asked for many times
    base_key: float = 0.0
    percent: bool = False
    role: str = "stated"  # stated, operand, result, algebra
    equation: _Equation | None = None
    fraction: float | None = None  # the value of "3/4" for its 3 and its 4
    date: tuple[int | None, int | None, int | None, int | None] = (None, None, None, None)
    # The verdict, set by ``_judge`` on the facts of the output it judges: kept on the fact rather
    # than in an object of its own, one fewer allocation for each of a long output's numbers.
    supported: bool = False
    why: str = ""


@dataclass
class _Reading:
    """What a text says that can be checked: its claims, facts, equations and vocabulary.

    An output's reading has facts and equations; a source's (``_source_reading``) has none, and
    instead the words, numbers, dates and text that the output's facts are judged against."""

    text: str
    claims: list[tuple[int, int]]
    facts: list[_Fact]
    equations: list[_Equation]
    words: set[str]
    normalized: str
    values: set[float] = field(default_factory=set)  # stated | constants
    stated: set[float] = field(default_factory=set)
    constants: set[float] = field(default_factory=set)
    initials: str = ""  # the first letters of its words in order: "mph" is in it for "miles per hour"
    dates: list[tuple[int | None, int | None, int | None, int | None]] = field(default_factory=list)
    huge: set[str] = field(default_factory=set)  # the significant digits of its numbers read as inf


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()
    return " ".join(text.split())


def _bare(word: str) -> str:
    """A word without its possessive: "janet's" -> "janet" (expects casefolded text)."""
    word = word.replace("\u2019", "'")
    if "'" in word:
        for ending in ("'s", "'ll", "'d", "'ve", "'re", "'m"):
            if word.endswith(ending):
                return word[: -len(ending)]
    return word.rstrip("'")


def _claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentences and clauses, as (start, end) offsets; abbreviations such as "Mr." do not end one."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        dot = match.start()
        if text[dot] == "." and dot and text[dot - 1].isalpha():
            space = max(text.rfind(" ", max(start, dot - 7), dot), text.rfind("\n", max(start, dot - 7), dot))
            word = text[max(space + 1, start) : dot].casefold()
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        end = match.end()
        part = text[start:end].lstrip()  # _strip_span written out: this runs for every claim
        first = end - len(part)
        if first < dot:
            spans.append((first, first + len(part.rstrip())))
        start = end
    span = _strip_span(text, start, len(text))
    if span[0] < span[1]:
        spans.append(span)
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    part = text[start:end].lstrip()  # str's own strip, not a loop over characters: a claim per call
    start = end - len(part)
    return start, start + len(part.rstrip())


# A float tells apart any two numbers of up to 15 significant digits. A longer number (or one past
# 1.8e308) is read as inf: it takes no part in arithmetic, and it is supported only when the
# context writes the same digits (``_huge_verdict``). Rounding it to a float instead would make two
# different 20-digit numbers equal, and a 310-digit one overflow.
_EXACT_DIGITS = 15


def _float_of(digits: str) -> float:
    """``digits`` (digits and at most one point) as a float, or inf when a float cannot hold it."""
    if len(digits) > _EXACT_DIGITS and len(_significant(digits)) > _EXACT_DIGITS:
        return math.inf
    return float(digits)  # inf past 1.8e308, never an OverflowError from a str


def _significant(digits: str) -> str:
    """``"0012.3400"`` -> ``"12.34"``: a number's digits without the zeros that say nothing."""
    whole, _, fraction = digits.partition(".")
    whole, fraction = whole.lstrip("0"), fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _number_value(raw: str) -> tuple[float, bool, int]:
    """``"$1,200.50"`` -> (1200.5, False, 2); ``"40%"`` -> (40.0, True, 0)."""
    if raw.isdigit():
        return _float_of(raw), False, 0
    percent = raw.endswith("%") or raw.casefold().endswith("cent")
    digits = _NOT_NUMERIC.sub("", raw)
    decimals = len(digits.split(".", 1)[1]) if "." in digits else 0
    return _float_of(digits), percent, decimals


def _words_value(words: list[str]) -> float | None:
    """``["one", "hundred", "and", "five"]`` -> 105; None when the words are no number."""
    total, current, seen = 0.0, 0.0, False
    for word in words:
        for part in word.split("-"):
            if part in _UNITS:
                current += _UNITS[part]
            elif part == "hundred":
                current = max(current, 1.0) * 100
            elif part in _SCALES:
                total += max(current, 1.0) * _SCALES[part]
                current = 0.0
            elif part in ("and", "a"):
                continue
            else:
                return None
            seen = True
    return total + current if seen else None


def _is_number_word(low: str) -> bool:
    if low in _NUMBER_WORDS:
        return True
    return "-" in low and all(p in _NUMBER_WORDS for p in low.split("-"))


def _split_plain(out: list[_Lexeme], run: str, words: list[str], offset: int, attention: list[int]) -> None:
    """Append a run of lowercase words that holds words with a meaning of their own as several lexemes.

    Number words always stand apart ("a dozen", "one hundred and five" with them); "is" or "times"
    only at the end of a run, the one place where a number can follow them. The positions of the
    lexemes that ``_lex`` must look at again go to ``attention``.
    """
    if _NUMBER_WORDS.isdisjoint(words) and (len(words) < 2 or words[-2] not in ("multiplied", "divided")):
        # The common case, "so the total is": only the last word stands apart.
        last = len(run) - len(words[-1])
        if len(words) > 1:
            prefix = run[:last].rstrip()
            if prefix in _ATTENTION:
                attention.append(len(out))
            out.append(_Lexeme("word", offset, offset + len(prefix), prefix, prefix, len(words) - 1))
        if words[-1] in _ATTENTION:
            attention.append(len(out))
        out.append(_Lexeme("word", offset + last, offset + len(run), words[-1], words[-1]))
        return
    matches = list(_PLAIN_WORDS.finditer(run))
    last = len(matches) - 1
    start = end = -1
    count = 0
    for position, m in enumerate(matches):
        word = m[0]
        # Most words of a run are ordinary: one set lookup rules them out before the full test.
        special = word in _MAY_STAND_APART
        if special and word not in _NUMBER_WORDS:
            after = matches[position + 1][0] if position < last else ""
            special = (
                (word == "a" and after in _SCALES)
                or (
                    word == "and"
                    and position > 0
                    and matches[position - 1][0] in _NUMBER_WORDS
                    and after in _NUMBER_WORDS
                )
                or (word in _TAIL_WORDS and position == last)
                or (word in ("multiplied", "divided") and after == "by" and position == last - 1)
            )
        if special:
            if count:
                if run[start:end] in _ATTENTION:
                    attention.append(len(out))
                out.append(
                    _Lexeme("word", offset + start, offset + end, run[start:end], run[start:end], count)
                )
                count = 0
            if word in _ATTENTION:
                attention.append(len(out))
            out.append(_Lexeme("word", offset + m.start(), offset + m.end(), word, word))
            continue
        if not count:
            start = m.start()
        end = m.end()
        count += 1
    if count:
        if run[start:end] in _ATTENTION:
            attention.append(len(out))
        out.append(_Lexeme("word", offset + start, offset + end, run[start:end], run[start:end], count))


_MAY_STAND_APART = _NUMBER_WORDS | _TAIL_WORDS | {"a", "and", "multiplied", "divided"}
# Words that may join other lexemes or change their kind: number words, "a" (as in "a dozen"), and
# the words of operators. Words with a hyphen ("twenty-one") are looked at too.
_ATTENTION = _NUMBER_WORDS | frozenset(_OP_WORDS) | {"a", "multiplied", "divided"}


def _lex(text: str) -> list[_Lexeme]:
    """Tokens with number words and "80 thousand" merged into numbers and word operators resolved."""
    raw: list[_Lexeme] = []
    attention: list[int] = []  # the positions in ``raw`` of the words in _ATTENTION, for below
    mixed: set[int] = set()  # the positions of "3 1/2", which take no scale word
    # The branches run in the order of how often they are taken, and lexemes are built with
    # positional arguments: this loop runs for every token of the text.
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        token = m[0]
        start, end = m.span()
        if kind == "num":
            if token.isdigit():
                value = float(token) if len(token) <= _EXACT_DIGITS else _float_of(token)
                raw.append(_Lexeme("num", start, end, token, "", 1, value, value))
            else:
                value, percent, decimals = _number_value(token)
                raw.append(_Lexeme("num", start, end, token, "", 1, value, value, percent, decimals))
        elif kind == "plain":
            words = token.split()
            if _NUMBER_WORDS.isdisjoint(words) and words[-1] not in _TAIL_WORDS:
                if token in _ATTENTION:
                    attention.append(len(raw))
                raw.append(_Lexeme("word", start, end, token, token, len(words)))
            else:
                _split_plain(raw, token, words, start, attention)
        elif kind == "word":
            low = token.casefold()
            if low in _ATTENTION or "-" in low:
                attention.append(len(raw))
            raw.append(_Lexeme("word", start, end, token, low))
        elif kind == "mixed":
            whole, fraction = token.split()
            numerator, denominator = fraction.split("/")
            lex = _Lexeme("num", start, end, token, decimals=2)
            if len(token) > 2 * _EXACT_DIGITS:
                lex.value = lex.base = math.inf  # "3 1/2" with long parts: exact text only
            else:
                part = int(numerator) / int(denominator) if int(denominator) else 0
                lex.value = lex.base = int(whole) + part
            mixed.add(len(raw))
            raw.append(lex)
        else:
            raw.append(
                _Lexeme(kind or "other", start, end, _SYMBOLS.get(token, token) if kind == "op" else token)
            )
    if not attention:
        return raw
    # Only the words in ``attention`` can change anything: the lexemes between them are copied over
    # a slice at a time, not looked at one by one.
    out: list[_Lexeme] = []
    operator_words: list[int] = []  # the positions in ``out`` of "times", "plus", "x"...
    copied = 0  # raw[:copied] is in ``out`` or was merged away
    scaled, scaled_number = -1, raw[0]  # the last scale word merged ("80 thousand") and its number
    for i in attention:
        if i < copied:
            continue  # part of a number written in words
        tok = raw[i]
        low = tok.low
        if low in _SCALES and i and (i - 1 == scaled or (raw[i - 1].kind == "num" and i - 1 not in mixed)):
            number = scaled_number if i - 1 == scaled else raw[i - 1]
            out.extend(raw[copied:i])
            number.value *= _SCALES[low]
            number.decimals = 0
            number.end = tok.end
            number.text = text[number.start : number.end]
            copied, scaled, scaled_number = i + 1, i, number
        elif low in _OP_WORDS:
            out.extend(raw[copied:i])
            operator_words.append(len(out))
            out.append(tok)
            copied = i + 1
        elif low in ("multiplied", "divided") and i + 1 < len(raw) and raw[i + 1].low == "by":
            tok.kind, tok.text = "op", "*" if low == "multiplied" else "/"
            out.extend(raw[copied:i])
            out.append(tok)
            copied = i + 2
        elif (
            low in _NUMBER_WORDS
            or ("-" in low and _is_number_word(low))
            or (low == "a" and i + 1 < len(raw) and raw[i + 1].low in _SCALES)
        ):
            spelled = _number_in_words(text, raw, i)
            if spelled is not None:
                out.extend(raw[copied:i])
                out.append(spelled[0])
                copied = spelled[1]
    out.extend(raw[copied:])
    # "9 times $2" and "10 x 3" are arithmetic; "3 times a week" is not: an operator needs operands.
    for position in operator_words:
        lex = out[position]
        before_ok = position > 0 and out[position - 1].kind in ("num", "close", "word")
        after_ok = position + 1 < len(out) and out[position + 1].kind in ("num", "open")
        if before_ok and after_ok:
            lex.kind, lex.text = "op", _OP_WORDS[lex.low]
    return out


def _number_in_words(text: str, raw: list[_Lexeme], i: int) -> tuple[_Lexeme, int] | None:
    """The number that words from ``raw[i]`` on spell ("one hundred and five percent"), if any, and
    the index of the lexeme after them."""
    j = i
    words: list[str] = []
    while j < len(raw) and raw[j].kind == "word":
        word = raw[j].low
        joins = word == "and" and words and j + 1 < len(raw) and _is_number_word(raw[j + 1].low)
        if not (_is_number_word(word) or joins or (word == "a" and not words)):
            break
        words.append(word)
        j += 1
    value = _words_value(words)
    if value is None:
        return None
    start, end = raw[i].start, raw[j - 1].end
    percent = j < len(raw) and raw[j].low == "percent"
    if percent:
        end = raw[j].end
        j += 1
    return _Lexeme("num", start, end, text[start:end], value=value, base=value, percent=percent), j


def _is_variable(lex: _Lexeme) -> bool:
    return lex.kind == "word" and len(lex.text) == 1 and lex.text not in ("a", "A", "I")


def _equation_before(lexemes: list[_Lexeme], eq: int) -> list[_Lexeme] | None:
    """The arithmetic written just before ``lexemes[eq]`` (``=`` or "is") in its claim, or None.

    Walks back over operands, up to eight words after each ("30 minutes for the first train +"),
    parentheses and operators; bounded, so a long run of ``=`` signs stays linear.
    """
    claim = lexemes[eq].claim
    # "Inside the claim" is tested inline (i >= 0 and the claim matches): this runs for every "=".
    i, steps, want_operand = eq - 1, 0, True
    while i >= 0 and lexemes[i].claim == claim and steps < 60:
        steps += 1
        if want_operand:
            words = 0
            while (
                i >= 0
                and (lex := lexemes[i]).claim == claim
                and (
                    lex.kind in ("close", "joint")
                    or (lex.kind == "word" and words < 8 and lex.low not in _EQ_WORDS)
                )
            ):
                words += lex.words if lex.kind == "word" else 0
                i -= 1
            if i < 0 or lexemes[i].claim != claim or lexemes[i].kind != "num":
                break
            i -= 1
            opened = False
            while i >= 0 and lexemes[i].claim == claim and lexemes[i].kind == "open":
                opened = True
                i -= 1
            # "2(60)" and "27(1/3)": a number or ")" right before "(" multiplies.
            want_operand = (
                opened and i >= 0 and lexemes[i].claim == claim and lexemes[i].kind in ("num", "close")
            )
            continue
        lex = lexemes[i]
        if lex.kind == "op":
            want_operand = True
            i -= 1
        elif lex.kind == "close":
            want_operand = True  # "(1/2) 278": a parenthesis right before a number multiplies
        elif (
            lex.low in _DETERMINERS
            and i >= 1
            and lexemes[i - 1].claim == claim
            and lexemes[i - 1].kind == "op"
        ):
            want_operand = True  # "25 classmates + his 1 teacher"
            i -= 2
        else:
            break
    start = i + 1
    while (
        start < eq and lexemes[start].kind not in ("num", "open", "op") and not _is_variable(lexemes[start])
    ):
        start += 1
    while start < eq and lexemes[start].kind == "op" and lexemes[start].text != "-":
        start += 1  # a dangling operator whose left operand is not a number ("per day * ...")
    span = lexemes[start:eq]
    return span if sum(1 for lex in span if lex.kind == "num") >= 2 else None


def _ambiguous(lex: _Lexeme) -> bool:
    """A number with two readings: 40% (40 or 0.4) and 3 dozen (36, or 3 in "3 dozen x 12")."""
    return lex.kind == "num" and (lex.percent or lex.base != lex.value)


def _evaluate(span: list[_Lexeme], readings: int) -> float | None:
    """Plain arithmetic over the numbers and operators of ``span`` (unit words are skipped).

    Bit k of ``readings`` picks the second reading of the k-th ambiguous number: p/100 for a
    percentage (``200 GB * 40%``), the unscaled number for "3 dozen".
    """
    items: list[tuple[str, float]] = []
    ambiguous_index = 0
    skip = 0
    last = len(span) - 1
    for position, lex in enumerate(span):
        if skip:
            skip -= 1
            continue
        kind = lex.kind
        if kind == "num":
            if items and items[-1][0] in ("n", ")"):
                items.append(("*", 0.0))  # "2(60)", "(4 + 5)(2)"
            if (
                position + 1 < last
                and span[position + 1].text == "/"
                and _is_fraction(span[position : position + 3])
            ):
                # "1 1/2 / 1/2": a fraction written without spaces binds tighter than the division around it
                items.append(("n", lex.value / span[position + 2].value))
                skip = 2
                continue
            value = lex.value
            if lex.percent:
                if readings >> ambiguous_index & 1:
                    value /= 100
                ambiguous_index += 1
            elif lex.base != value:
                if readings >> ambiguous_index & 1:
                    value = lex.base
                ambiguous_index += 1
            items.append(("n", value))
        elif kind == "op" or kind == "close":
            items.append((lex.text, 0.0))
        elif kind == "open":
            if items and items[-1][0] in ("n", ")"):
                items.append(("*", 0.0))
            items.append((lex.text, 0.0))
        elif kind == "word" and len(lex.text) == 1 and _is_variable(lex):
            return None
    if _FLAT.fullmatch("".join([kind for kind, _ in items])):
        return _flat_arithmetic(items)
    reader = _Arithmetic(items)
    try:
        value = reader.expr()
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return value if reader.pos == len(items) and math.isfinite(value) else None


_FLAT = re.compile(r"n(?:[-+*/]n)*")  # the kinds of items without parentheses or signs


def _flat_arithmetic(items: list[tuple[str, float]]) -> float | None:
    """``items`` without parentheses or signs (number, operator, number, ...), as ``_Arithmetic``
    reads them, operation for operation, but without its calls: most shown arithmetic is like this."""
    total: float | None = None
    sign = "+"
    term = items[0][1]
    try:
        for k in range(1, len(items), 2):
            op, right = items[k][0], items[k + 1][1]
            if op == "*":
                term *= right
            elif op == "/":
                term /= right
            else:
                total = term if total is None else total + term if sign == "+" else total - term
                sign, term = op, right
    except ZeroDivisionError:
        return None
    value = term if total is None else total + term if sign == "+" else total - term
    return value if math.isfinite(value) else None


class _Arithmetic:
    """Reads ``items`` (("n", value), operators, parentheses) by recursive descent, ``*`` and ``/``
    before ``+`` and ``-``. A class rather than nested functions: those would refer to each other in
    a cycle that only the cycle collector frees, and a long output evaluates thousands of spans."""

    def __init__(self, items: list[tuple[str, float]]) -> None:
        self.items = items
        self.pos = 0

    def expr(self) -> float:
        items = self.items
        value = self.term()
        while self.pos < len(items) and items[self.pos][0] in "+-":
            op = items[self.pos][0]
            self.pos += 1
            value = value + self.term() if op == "+" else value - self.term()
        return value

    def term(self) -> float:
        items = self.items
        value = self.factor()
        while self.pos < len(items) and items[self.pos][0] in ("*", "/", "\u00d7", "\u00f7"):
            op = items[self.pos][0]
            self.pos += 1
            right = self.factor()
            value = value * right if op in ("*", "\u00d7") else value / right
        return value

    def factor(self) -> float:
        items = self.items
        if self.pos >= len(items):
            raise ValueError("missing operand")
        kind, value = items[self.pos]
        self.pos += 1
        if kind == "n":
            return value
        if kind == "-":
            return -self.factor()
        if kind == "(":
            inner = self.expr()
            if self.pos < len(items) and items[self.pos][0] == ")":
                self.pos += 1
            return inner
        raise ValueError(f"unexpected {kind}")


def _expression_after(lexemes: list[_Lexeme], eq: int) -> list[_Lexeme]:
    """The arithmetic right after ``=`` when it is more than one number (``= 18/2 = 9``), else []."""
    claim = lexemes[eq].claim
    end = eq + 1
    while end < len(lexemes) and end - eq < 60:
        lex = lexemes[end]
        if lex.claim != claim:
            break
        if lex.kind in ("word", "joint") and lexemes[end - 1].kind in ("num", "close", "joint", "word"):
            # unit words may follow a number when an operator comes next: "= 2 babies / 4 babies"
            words, count = end, 0
            while words < len(lexemes) and count < 8 and lexemes[words].kind in ("word", "joint"):
                count += lexemes[words].words
                words += 1
            if words < len(lexemes) and lexemes[words].kind == "op" and lexemes[words].claim == claim:
                end = words
                continue
            break
        if lex.kind not in ("num", "op", "open", "close"):
            break
        end += 1
    while end > eq + 1 and lexemes[end - 1].kind in ("op", "open", "word", "joint"):
        end -= 1
    span = lexemes[eq + 1 : end]
    if sum(1 for lex in span if lex.kind == "num") < 2 or not any(lex.kind == "op" for lex in span):
        return []
    return span


def _has_operator(span: list[_Lexeme]) -> bool:
    """An operator other than the slash of a fraction such as 1/4."""
    return any(
        lex.kind == "op"
        and not (lex.text == "/" and 0 < i < len(span) - 1 and _is_fraction(span[i - 1 : i + 2]))
        for i, lex in enumerate(span)
    )


def _is_fraction(lexemes: list[_Lexeme]) -> bool:
    return (
        len(lexemes) == 3
        and lexemes[0].kind == "num"
        and lexemes[1].text == "/"
        and lexemes[2].kind == "num"
        and lexemes[0].end == lexemes[1].start
        and lexemes[1].end == lexemes[2].start
        and lexemes[2].value != 0
        and not lexemes[0].percent
        and lexemes[0].value.is_integer()
        and lexemes[2].value.is_integer()
    )


def _matches_result(span: list[_Lexeme], result: _Lexeme) -> float | None:
    """The value the arithmetic gives, under the reading of its ambiguous numbers that fits best."""
    # A span with a variable needs no test here: every reading of it evaluates to None.
    ambiguous = sum(map(_ambiguous, span))
    best: float | None = None
    for mask in range(1 << min(ambiguous, 3)):
        value = _evaluate(span, mask)
        if value is None:
            continue
        if best is None or _distance(value, result) < _distance(best, result):
            best = value
    return best


def _distance(value: float, result: _Lexeme) -> float:
    """How far ``value`` is from the nearest reading of ``result`` (40% is 40 or 0.4)."""
    distance = abs(value - result.value)
    if result.base != result.value:
        distance = min(distance, abs(value - result.base))
    if result.percent:
        distance = min(distance, abs(value - result.value / 100))
    return distance


def _correct(computed: float, result: _Lexeme) -> bool:
    """Right up to the precision the output wrote: ``10 / 3 = 3.33`` is right, ``9 * 2 = 17`` is not."""
    tolerance = 0.5 * 10.0 ** (-result.decimals) + 1e-9 * abs(computed)
    return _distance(computed, result) <= tolerance or _distance(abs(computed), result) <= tolerance


def _read(text: str, *, for_source: bool = False) -> _Reading:
    claims = _claim_spans(text)
    taken: list[tuple[int, int]] = []
    facts: list[_Fact] = []
    claim_starts = [start for start, _ in claims]

    def claim_of(offset: int) -> int:
        return max(bisect.bisect_right(claim_starts, offset) - 1, 0)

    dates: list[tuple[int | None, int | None, int | None, int | None]] = []
    for m in _QUOTE.finditer(text):
        taken.append((m.start(), m.end()))
        facts.append(_Fact("quote", m.group(0), m.start(), m.end(), claim_of(m.start())))
    in_quote = _span_lookup(list(taken))
    for m in _DATE.finditer(text) if _DATE_HINT.search(text) else ():
        date = _date_of(m)
        if date is None or in_quote(m.start()):
            continue
        dates.append(date)
        taken.append((m.start(), m.end()))
        facts.append(_Fact("date", m.group(0), m.start(), m.end(), claim_of(m.start()), date=date))
    taken.sort()

    lexemes = _lex(text)
    if for_source:
        return _source_reading(text, claims, lexemes, dates)
    algebra, signs, candidates = _mark_claims(lexemes, claims)
    equations: list[_Equation] = []
    roles: dict[int, tuple[str, _Equation | None]] = {}
    for index in signs:
        lex = lexemes[index]
        after = lexemes[index + 1] if index + 1 < len(lexemes) else None
        if after is not None and after.text == "-" and index + 2 < len(lexemes):
            after = lexemes[index + 2]  # "= -30": the sign is compared through the absolute value
        if after is None or after.kind != "num" or after.claim != lex.claim:
            continue
        span = _equation_before(lexemes, index)
        if span is None or (lex.kind == "word" and not _has_operator(span)):
            continue  # "1/4 pound of butter makes 1 dozen" is a sentence, not arithmetic
        rhs = _expression_after(lexemes, index)
        end = rhs[-1].end if rhs else after.end
        equation = _Equation(
            [x for x in span if x.kind == "num"],
            after,
            text[span[0].start : end],
            _matches_result(span, after),
        )
        if rhs:
            equation.rhs = [x for x in rhs if x.kind == "num"]
            equation.rhs_text = text[rhs[0].start : rhs[-1].end]
            readings = [_evaluate(rhs, mask) for mask in range(1 << min(sum(map(_ambiguous, rhs)), 3))]
            values = [v for v in readings if v is not None]
            if values and equation.computed is not None:
                computed = equation.computed
                equation.rhs_value = min(values, key=lambda v: abs(v - computed))
        equation.holds = equation.check()
        equations.append(equation)
        for operand in equation.operands:
            roles.setdefault(id(operand), ("operand", equation))
        roles[id(after)] = ("result", equation)
        if equation.rhs and equation.holds:
            for number in equation.rhs:
                roles[id(number)] = ("result", equation)  # "= 8 + 18": restates the left side, checked

    taken_lexemes = _indices_within(lexemes, taken)
    run: list[_Lexeme] = []
    # A gap between two candidates is a lexeme that ends a name.
    previous = -2
    for index in candidates:
        lex = lexemes[index]
        if run and index != previous + 1:
            facts.extend(_names(text, run))
            run = []
        previous = index
        kind = lex.kind
        if kind == "word":
            if lex.text[0].isupper() or (run and lex.text in _CONNECTORS):
                if run and (lex.claim != run[-1].claim or not text[run[-1].end : lex.start].isspace()):
                    facts.extend(_names(text, run))  # a name does not run across lines or punctuation
                    run = []
                if index not in taken_lexemes:
                    run.append(lex)
                    continue
            if run:
                facts.extend(_names(text, run))
                run = []
            continue
        if run:
            facts.extend(_names(text, run))
            run = []
        if kind == "num" and index not in taken_lexemes:
            role, owner = roles.get(id(lex), ("stated", None))
            if lex.value in _UNIVERSAL and role != "result":
                continue
            if role == "stated" and lex.value.is_integer() and index:
                label = lexemes[index - 1].low.rsplit(" ", 1)[-1]
                if label in _LABELS:
                    continue
            if lex.claim in algebra and (owner is None or owner.computed is None or role != "result"):
                role = "algebra"
            value = lex.value
            key = value if value.is_integer() else round(value, 6)  # _key written out: every number
            fact = _Fact(
                "number",
                lex.text,
                lex.start,
                lex.end,
                lex.claim,
                lex.value,
                lex.base,
                key,
                key if lex.base == lex.value else _key(lex.base),
                lex.percent,
                role,
                owner,
            )
            if index + 1 < len(lexemes) and lexemes[index + 1].text == "/":
                if _is_fraction(lexemes[index : index + 3]):
                    fact.fraction = lex.value / lexemes[index + 2].value
            elif (
                index >= 2 and lexemes[index - 1].text == "/" and _is_fraction(lexemes[index - 2 : index + 1])
            ):
                fact.fraction = lexemes[index - 2].value / lex.value
            facts.append(fact)
    if run:
        facts.extend(_names(text, run))
    facts.sort(key=attrgetter("start"))

    return _Reading(text, claims, facts, equations, set(), "")


def _source_reading(
    text: str,
    claims: list[tuple[int, int]],
    lexemes: list[_Lexeme],
    dates: list[tuple[int | None, int | None, int | None, int | None]],
) -> _Reading:
    """What judging against a source needs: its numbers, words, dates and text. A source's own
    facts and arithmetic are never judged, so they are not worked out (half the cost of a context)."""
    words = _source_words(lexemes)
    reading = _Reading(text, claims, [], [], words, _norm(text))
    # "Monday through Friday" names the days between too.
    weekdays = sorted({d[3] for d in dates if d[3] is not None})
    if len(weekdays) >= 2:
        dates.extend((None, None, None, day) for day in range(weekdays[0], weekdays[-1] + 1))
    if "weekend" in words or "weekends" in words:
        dates.extend((None, None, None, day) for day in (5, 6))
    reading.dates = dates
    reading.stated, reading.constants = _source_values(lexemes, words)
    reading.values = reading.stated | reading.constants
    huge = {_huge_digits(lex) for lex in lexemes if lex.kind == "num" and lex.value == math.inf}
    reading.huge = huge - {""}
    reading.initials = "".join(word[0] for lex in lexemes if lex.kind == "word" for word in lex.low.split())
    return reading


def _source_words(lexemes: list[_Lexeme]) -> set[str]:
    """Every word of a source, casefolded, without possessives; compounds also by their parts."""
    words: set[str] = set()
    for lex in lexemes:
        if lex.kind == "num" and lex.low == "" and not lex.text[:1].isdigit():
            words.update(lex.text.casefold().replace("-", " ").split())  # "three dozen" still says "dozen"
        elif lex.kind == "word":
            if lex.words > 1:
                if "'" in lex.low or "\u2019" in lex.low:
                    words.update(_bare(part) for part in lex.low.split())
                else:
                    words.update(lex.low.split())  # no possessive: _bare would keep every word as it is
            elif "-" in lex.low or "/" in lex.low:
                words.update(_bare(part) for part in re.split(r"[-/]", lex.low))
            words.add(_bare(lex.low))
    return words


def _indices_within(lexemes: list[_Lexeme], spans: list[tuple[int, int]]) -> set[int]:
    """The positions of the lexemes that start inside one of ``spans`` (few: dates and quotes)."""
    inside: set[int] = set()
    for low, high in spans:
        i = bisect.bisect_left(lexemes, low, key=attrgetter("start"))
        while i < len(lexemes) and lexemes[i].start < high:
            inside.add(i)
            i += 1
    return inside


def _span_lookup(spans: list[tuple[int, int]]) -> Callable[[int], bool]:
    """A test "is this offset inside one of the sorted spans", cheap for offsets asked in order."""
    position = 0

    def inside(offset: int) -> bool:
        nonlocal position
        while position < len(spans) and spans[position][1] <= offset:
            position += 1
        return position < len(spans) and spans[position][0] <= offset

    return inside


def _mark_claims(
    lexemes: list[_Lexeme], claims: list[tuple[int, int]]
) -> tuple[set[int], list[int], list[int]]:
    """Give each lexeme its claim and mark the words that start a sentence (or follow a colon).

    Returns the claims that do algebra (a one-letter variable next to a number, operator or ``=``),
    and, found in the same pass because a long output has hundreds of thousands of lexemes, the
    positions of ``=`` and "is"-like words, and of the numbers and the words a name can hold.
    """
    starts = [start for start, _ in claims]
    index, claim, pending = -1, 0, False
    following = starts[0] if starts else math.inf  # where the next claim starts
    variables: list[int] = []  # one-letter words, checked below: a loop over them only is cheaper
    signs: list[int] = []
    candidates: list[int] = []
    for position, lex in enumerate(lexemes):
        if lex.start >= following:
            while index + 1 < len(starts) and lex.start >= starts[index + 1]:
                index += 1
            claim, pending = index, True
            following = starts[index + 1] if index + 1 < len(starts) else math.inf
        lex.claim = claim
        kind = lex.kind
        if kind == "word":
            lex.sentence_start = pending
            pending = False
            text = lex.text
            if text[0].isupper() or text in _CONNECTORS:
                candidates.append(position)
            if len(text) == 1 and _is_variable(lex):
                variables.append(position)
            if lex.low in _EQ_WORDS:
                signs.append(position)
        elif kind == "num":
            pending = False
            candidates.append(position)
        elif kind == "eq":
            signs.append(position)
        elif lex.text == ":":
            pending = True
    algebra: set[int] = set()
    arithmetic = ("num", "op", "eq", "open", "close")
    for i in variables:
        lex = lexemes[i]
        if (i > 0 and lexemes[i - 1].kind in arithmetic and lexemes[i - 1].claim == lex.claim) or (
            i + 1 < len(lexemes) and lexemes[i + 1].kind in arithmetic and lexemes[i + 1].claim == lex.claim
        ):
            algebra.add(lex.claim)
    return algebra, signs, candidates


def _names(text: str, run: list[_Lexeme]) -> list[_Fact]:
    """Names in a run of capitalized words: "Mr. Lee", "Green Valley Market"; not "The" or "So"."""
    while run and run[-1].text in _CONNECTORS:
        run = run[:-1]
    at_start = bool(run) and run[0].sentence_start
    dropped = False
    while run and (
        _bare(run[0].low) in _STARTERS or run[0].low.endswith(("ing", "ly")) or run[0].text in _CONNECTORS
    ):
        run = run[1:]
        dropped = True
    # "I" (and "I'd"), and variables such as "X" in "X + 5 = 12"
    run = [lex for lex in run if len(lex.text) > 1 and lex.text.replace("\u2019", "'").split("'")[0] != "I"]
    if not run or (at_start and not dropped and len(run) == 1 and not _rare_word(_bare(run[0].low))):
        return []
    if len(run) > 6:
        return []  # a heading or a title in Title Case, not a name
    if all(lex.text.casefold() in _TITLES for lex in run):
        return []
    start, end = run[0].start, run[-1].end
    return [_Fact("name", text[start:end], start, end, run[0].claim)]


@lru_cache(maxsize=4096)
def _rare_word(word: str) -> bool:
    """A word too rare in English to start a sentence by chance: likely a name ("Tobias checked it").

    A single capitalized word at a sentence start is otherwise not taken for a name, since "Shoes"
    or "Divide" are capitalized there too. Frequent names ("John") are missed; that is the price.
    """
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en") < _RARE_ZIPF


def _date_of(m: re.Match[str]) -> tuple[int | None, int | None, int | None, int | None] | None:
    """(month, day, year, weekday) of a date match; None for "May" alone, which is rarely a month."""
    groups = m.groupdict()
    if groups["iy"]:
        return int(groups["im"]), int(groups["id"]), int(groups["iy"]), None
    if groups["wd"]:
        day = groups["wd"].casefold()
        return None, None, None, next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(day[:3]))
    month_name = groups["bm"] or groups["am"]
    day = groups["bd"] or groups["ad"]
    year = groups["by"] or groups["ay"]
    if month_name == "May" and not (day or year):
        return None
    return _MONTHS[month_name.casefold()], int(day) if day else None, int(year) if year else None, None


def _source_values(lexemes: list[_Lexeme], words: set[str]) -> tuple[set[float], set[float]]:
    """The numbers a source states (with percentages as fractions and complements, and fractions'
    values), and the constants its words imply: ordinals, "two-thirds", "a week" (7)."""
    stated = {_key(v) for v in _UNIVERSAL}
    constants: set[float] = set()
    for i, lex in enumerate(lexemes):
        if lex.kind == "num":
            stated.add(_key(lex.value))
            stated.add(_key(lex.base))
            if lex.percent:
                stated.update(_key(v) for v in (lex.value / 100, 100 - lex.value, (100 - lex.value) / 100))
            if i + 1 < len(lexemes) and lexemes[i + 1].low.split(" ", 1)[0] in ("cent", "cents"):
                stated.add(_key(lex.value / 100))  # "5 cents" is $0.05
            nxt = lexemes[i + 2] if i + 2 < len(lexemes) else None
            if nxt is not None and lexemes[i + 1].text == "/" and nxt.kind == "num" and nxt.value:
                stated.add(_key(lex.value / nxt.value))
        elif lex.kind == "word":
            for word in lex.low.split():
                if word not in _ORDINAL_FORMS and "-" not in word:
                    continue  # most words: no ordinal, no "two-thirds"
                parts = word.split("-")
                for part in parts:
                    stem = part[:-1] if part.endswith("s") and part[:-1] in _ORDINALS else part
                    if stem in _ORDINALS:
                        constants.update(_key(v) for v in (_ORDINALS[stem], 1 / _ORDINALS[stem]))
                if len(parts) == 2 and parts[0] in _UNITS and parts[1].rstrip("s") in _ORDINALS:
                    numerator = _UNITS[parts[0]]
                    constants.update(
                        _key(v) for v in (numerator, numerator / _ORDINALS[parts[1].rstrip("s")])
                    )
    for word in words & _UNIT_CONSTANTS.keys():
        constants.update(_key(v) for v in _UNIT_CONSTANTS[word])
    if any(lex.text == "%" or lex.percent for lex in lexemes):
        constants.add(_key(100))
    return stated, constants - stated


# ---------------------------------------------------------------------------------------------
# Judging facts against a source


def _judge(reading: _Reading, source: _Reading) -> list[_Fact]:
    """The facts of ``reading``, each with its verdict against ``source`` (``supported`` and ``why``)."""
    known = set(source.values)
    # The operands behind each computed value: "11 * 2 = 22" must not make 11 "one step from 22"
    # in turn, unless 22 is also known some other way. Kept as the operands every computation of a
    # value shares, indexed by operand, so that each fact looks its own up instead of scanning them all.
    shared: dict[float, set[float]] = {}
    for equation in reading.equations:
        if equation.holds:
            operands = {_key(operand.value) for operand in equation.operands}
            for number in equation.rhs or [equation.result]:
                value, base = number.value, number.base
                results = {_key(value)} if base == value else {_key(value), _key(base)}
                if number.percent:
                    results.add(_key(value / 100))
                for result in results:
                    known.add(result)
                    shared[result] = shared[result] & operands if result in shared else set(operands)
    circular: dict[float, set[float]] = {}
    for result, operands in shared.items():
        if result not in source.values:
            for operand in operands:
                circular.setdefault(operand, set()).add(result)

    stated: list[tuple[_Fact, float]] = []  # numbers neither computed nor part of algebra
    nearby: dict[int, set[float]] = {}  # the numbers of each claim
    for fact in reading.facts:
        if fact.kind == "number":
            value = fact.key
            numbers = nearby.get(fact.claim)
            if numbers is None:
                nearby[fact.claim] = {value, fact.base_key}
            else:
                numbers.add(value)
                numbers.add(fact.base_key)
            # Solving for x is the output's own reasoning, which these rules cannot follow: its
            # numbers are taken as given (and can justify later steps), and only its names, dates
            # and quotes are checked.
            if fact.role == "algebra":
                known.add(value)
            elif fact.role != "result":
                stated.append((fact, value))
    implied: set[float] = set()
    # A value the output states without arithmetic may be one unshown step from a number the
    # context states or a known number the output wrote in the same or the two claims before
    # ("she used 7 of her 16 eggs, so 9 are left"). Looking only nearby keeps a made-up number from
    # being "implied" by some far-off pair. A newly accepted value can justify the next, so repeat
    # until nothing changes (few rounds in practice).
    no_values: set[float] = set()
    local_numbers: dict[int, set[float]] = {}  # by claim: the numbers of it and the two before
    constants = source.constants
    plain_stated = source.stated - constants  # the context's own numbers, in every pool
    for _ in range(4):
        grew = False
        for fact, value in stated:
            if value in known:
                continue
            local = local_numbers.get(fact.claim)
            if local is None:
                claim = fact.claim
                local = nearby.get(claim - 2, no_values) | nearby.get(claim - 1, no_values) | nearby[claim]
                local_numbers[claim] = local
            own = circular.get(value, no_values)
            pool = ((local & known) - constants) | plain_stated  # a new set: free to change below
            if own:
                pool -= own
            pool.discard(value)
            if _one_step(fact.value, pool, known, own, constants):
                known.add(value)
                implied.add(value)
                grew = True
        if not grew:
            break
    # "33.333...%, which rounds to 33%": whole numbers next to a computed fraction are its rounding.
    rounded = {
        _key(f(k)) for k in known if not k.is_integer() and math.isfinite(k) for f in (math.floor, math.ceil)
    }
    by_text: dict[tuple[str, str], tuple[bool, str]] = {}  # the verdicts of names, dates and quotes
    for fact in reading.facts:
        # Most numbers of a worked answer are results of right arithmetic: decided here, without a call.
        owner = fact.equation
        if owner is not None and owner.holds and fact.role == "result":
            fact.supported, fact.why = True, _SHOWN_RIGHT
        elif fact.kind == "number":
            fact.supported, fact.why = _verdict(fact, source, known, implied, rounded)
        else:
            # A name, date or quote is judged by its text alone, and an output repeats the same few.
            verdict = by_text.get((fact.kind, fact.text))
            if verdict is None:
                verdict = by_text[fact.kind, fact.text] = _verdict(fact, source, known, implied, rounded)
            fact.supported, fact.why = verdict
    return reading.facts


def _one_step(
    value: float, pool: set[float], known: set[float], excluded: set[float], constants: set[float]
) -> bool:
    """``value`` is a + b, a - b, a * b or a / b for a number ``a`` the context or the output states.

    ``b`` must be known and not ``excluded`` (values computed from ``value`` itself). 0 and 1 never
    count (they would make any known number's neighbour "implied"); 2 and the constants that words
    imply (7 for "week") only multiply or divide: "5 a day" makes 35 a week, but 35 + 7 means nothing.
    """
    # _key written out: this runs for every pair of a number and a candidate operand.
    for a in pool:
        if a == 0.0 or a == 1.0:
            continue
        if a != 2.0:
            for b in (value - a, a - value):
                if not b.is_integer():
                    b = round(b, 6)
                if b in known and b not in excluded and b not in _UNIVERSAL and b not in constants:
                    return True
        for b in (value / a, a / value if value else math.inf):
            if not b.is_integer():
                if not math.isfinite(b):
                    continue
                b = round(b, 6)
            if b in known and b not in excluded and b != 0.0 and b != 1.0:
                return True
    return False


_SHOWN_RIGHT = "shown arithmetic is right"


def _huge_digits(lex: _Lexeme | _Fact) -> str:
    return _significant(_NOT_NUMERIC.sub("", lex.text))


def _huge_verdict(fact: _Fact, source: _Reading) -> tuple[bool, str]:
    """A number too long for a float (see ``_float_of``) is supported only as the context writes it."""
    digits = _huge_digits(fact)
    if digits and digits in source.huge:
        return (True, "stated in the context")
    size = f"{len(digits)} significant digits" if digits else "a number word too large"
    return (False, f"{size}: too long to compute with, and the context does not write it")


def _verdict(
    fact: _Fact, source: _Reading, known: set[float], implied: set[float], rounded: set[float]
) -> tuple[bool, str]:
    if fact.kind == "number":
        value = fact.key
        if value == math.inf:
            return _huge_verdict(fact, source)
        # A tuple, tested with isdisjoint: no set to build for each of a long output's numbers.
        alternatives = (
            (value, fact.base_key, _key(fact.value / 100)) if fact.percent else (value, fact.base_key)
        )
        equation = fact.equation
        if fact.role == "result" and equation is not None and equation.computed is not None:
            if equation.holds:
                return (True, _SHOWN_RIGHT)
            return (False, equation.wrong_by())
        if not source.values.isdisjoint(alternatives):
            return (True, "stated in the context")
        if fact.role == "algebra":
            return (True, "part of the output's algebra (not checked)")
        if fact.fraction is not None and _key(fact.fraction) in known:
            return (True, "part of a fraction the context gives")
        if not known.isdisjoint(alternatives):
            how = "one step from the context's numbers" if value in implied else "computed in the output"
            return (True, how)
        if fact.role == "stated" and value in rounded:
            return (True, "a rounded value computed in the output")
        if fact.role == "operand":
            return (False, "an operand the context does not give and no step computes")
        return (False, "not in the context and no shown computation gives it")
    if fact.kind == "name":
        parts = [_bare(p.casefold()) for p in _NAME_PARTS.split(fact.text) if p]
        parts = [p for p in parts if p.rstrip(".") not in _TITLES and p not in _CONNECTORS]
        missing = [p for p in parts if not _known_word(p, source.words)]
        if not missing:
            return (True, "named in the context")
        if fact.text.isupper() and 1 < len(fact.text) <= 5 and fact.text.casefold() in source.initials:
            return (True, "an abbreviation of words in the context")
        return (False, "a name the context does not mention")
    if fact.kind == "date":
        if any(_date_within(fact.date, known_date) for known_date in source.dates):
            return (True, "a date of the context")
        return (False, "a date the context does not give")
    inner = _norm(fact.text[1:-1]).strip(" .,;:!?")
    if inner and inner in source.normalized:
        return (True, "quoted from the context")
    return (False, "a quote the context does not contain")


def _known_word(word: str, words: set[str]) -> bool:
    """``word`` or its singular ("daisy" for "daisies", "skyler" for "skylers'") is in ``words``."""
    return (
        word in words
        or (word.endswith("s") and word[:-1] in words)
        or (word.endswith("y") and word[:-1] + "ies" in words)
        or (word.endswith("ies") and word[:-3] + "y" in words)
    )


def _arith(equation: _Equation) -> str:
    rhs_text = equation.rhs[0].text if equation.rhs else equation.result.text
    left = equation.text.rsplit(rhs_text, 1)[0].rstrip()
    for word in sorted(_EQ_WORDS, key=len, reverse=True):
        if left.casefold().endswith(" " + word):
            left = left[: -len(word)].rstrip()
            break
    return " ".join(left.rstrip("=").split())


def _date_within(
    date: tuple[int | None, int | None, int | None, int | None],
    known: tuple[int | None, int | None, int | None, int | None],
) -> bool:
    """Every part the output gives (month, day, year, weekday) is a part the context gives alike."""
    return all(part is None or part == other for part, other in zip(date, known, strict=True))


# ---------------------------------------------------------------------------------------------
# Reporting


def _window(text: str, start: int, end: int, claim: tuple[int, int]) -> str:
    """An exact span of ``text`` of at most ~80 characters around [start, end), inside its claim."""
    lo, hi = claim
    if hi - lo <= _EVIDENCE_CHARS:
        return text[lo:hi]
    pad = max((_EVIDENCE_CHARS - (end - start)) // 2, 0)
    left = max(lo, start - pad)
    return text[left : min(hi, left + _EVIDENCE_CHARS)]


def _shorten(text: str, limit: int = _EVIDENCE_CHARS) -> str:
    text = " ".join(text[: 4 * limit].split())  # cut first: a claim can be a megabyte long
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _facts_result(name: str, reading: _Reading, judged: list[_Fact], min_supported: float) -> CheckResult:
    if not judged:
        return CheckResult(
            name, True, "no checkable facts (numbers, dates, names, quotes) in the output", 1.0, ()
        )
    bad = [fact for fact in judged if not fact.supported]
    score = 1.0 - len(bad) / len(judged)
    claims_with_facts = len({fact.claim for fact in judged})
    if not bad:
        by_arithmetic = sum(1 for fact in judged if fact.why in (_SHOWN_RIGHT, "computed in the output"))
        how = f" ({by_arithmetic} by the output's own arithmetic)" if by_arithmetic else ""
        reason = f"all {len(judged)} facts in {claims_with_facts} claims are supported by the context{how}"
        return CheckResult(name, True, reason, 1.0, ())
    items: list[str] = []
    evidence: list[str] = []
    for fact in bad:
        claim = reading.claims[fact.claim] if reading.claims else (0, len(reading.text))
        if len(evidence) < _EVIDENCE_ITEMS:
            evidence.append(_window(reading.text, fact.start, fact.end, claim))
        if len(items) < _REASON_ITEMS:
            claim_text = _shorten(reading.text[claim[0] : min(claim[1], claim[0] + 4 * _EVIDENCE_CHARS)])
            items.append(f"{_shorten(fact.text)!r} ({fact.why}) in {claim_text!r}")
    more = f"; and {len(bad) - _REASON_ITEMS} more" if len(bad) > _REASON_ITEMS else ""
    unsupported_claims = len({fact.claim for fact in bad})
    reason = (
        f"{len(bad)} of {len(judged)} facts in {unsupported_claims} of {claims_with_facts} claims are not "
        f"supported by the context: " + "; ".join(items[:_REASON_ITEMS]) + more
    )
    return CheckResult(name, score >= min_supported, reason, score, tuple(evidence))


# ---------------------------------------------------------------------------------------------
# The checks


def grounded_in(
    output: str,
    context: str,
    *,
    method: Method = "facts",
    min_supported: float = 1.0,
    nli_model: str | os.PathLike[str] | None = None,
    min_entailment: float = 0.5,
    judge: Judge | None = None,
    judge_max_tokens: int = 256,
) -> CheckResult:
    """Every checkable fact (or, with ``nli``/``judge``, every claim) of the output is backed by ``context``.

    ``method="facts"`` (default) matches numbers, dates, names and quotes and checks shown arithmetic;
    ``"nli"`` asks a Hugging Face NLI model (``nli_model``, a name or folder) whether the context
    entails each claim; ``"judge"`` asks ``judge.generate(prompt)`` for a JSON verdict. The check
    passes when the share of supported facts or claims (the score) is at least ``min_supported``.
    """
    output = text_of(output, "grounded_in")
    context = _context_text(context)
    if method not in METHODS:
        raise ValueError(f"grounded_in: method must be one of {', '.join(METHODS)}, got {method!r}")
    _check_share("min_supported", min_supported)
    if nli_model is not None and method != "nli":
        raise ValueError("grounded_in: nli_model is only used with method='nli'")
    if judge is not None and method != "judge":
        raise ValueError("grounded_in: judge is only used with method='judge'")
    if (
        refused := refusal("grounded_in", len(output) + len(context), "the output with its context")
    ) is not None:
        return refused
    if method == "nli":
        if nli_model is None:
            raise ValueError(
                "grounded_in: method='nli' needs nli_model=, a Hugging Face NLI model name or folder"
            )
        _check_share("min_entailment", min_entailment)
        return _grounded_by_nli(output, context, os.fspath(nli_model), min_entailment, min_supported)
    if method == "judge":
        if judge is None or not callable(getattr(judge, "generate", None)):
            raise ValueError(
                "grounded_in: method='judge' needs judge=, an object with .generate(prompt) -> str"
            )
        if judge_max_tokens < 1:
            raise ValueError(f"grounded_in: judge_max_tokens must be at least 1, got {judge_max_tokens}")
        return _grounded_by_judge(output, context, judge, judge_max_tokens, min_supported)
    # Reading a megabyte allocates about a million objects, none in a cycle, and the cycle
    # collector would walk all of them again and again as they pile up: a third of the time on a
    # long output. It is paused while the work runs in a call of its own, so that the objects are
    # freed by reference counting before it resumes.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _grounded_by_facts(output, context, min_supported)
    finally:
        if collecting:
            gc.enable()


def _grounded_by_facts(output: str, context: str, min_supported: float) -> CheckResult:
    reading = _read(output)
    judged = _judge(reading, _source(context))
    return _facts_result("grounded_in", reading, judged, min_supported)


@lru_cache(maxsize=16)
def _source(context: str) -> _Reading:
    """The reading of a context, kept because a suite checks many outputs against the same one, and
    on short outputs reading the context is a good part of the work. Nothing changes a reading once
    made (``_judge`` only looks at it), so sharing it is safe."""
    return _read(context, for_source=True)


def consistent(output: str, samples: Sequence[str], *, min_agreement: float = 0.5) -> CheckResult:
    """Each claim of ``output`` is backed by at least ``min_agreement`` of ``samples`` (SelfCheckGPT-style).

    ``samples`` are other answers the same model gave to the same prompt. A sample backs a claim
    when it supports every fact of the claim and shares at least half of its content words. The
    score is the share of claims the samples back.
    """
    output = text_of(output, "consistent")
    if isinstance(samples, str | bytes) or not isinstance(samples, Sequence):
        raise ValueError("consistent: samples must be a list of other answers (strings), not one string")
    if not samples:
        raise ValueError("consistent: samples is empty; sample the model more than once")
    texts = [text_of(sample, "consistent (a sample)") for sample in samples]
    _check_share("min_agreement", min_agreement)
    size = len(output) + sum(map(len, texts))
    if (refused := refusal("consistent", size, "the output with its samples")) is not None:
        return refused
    reading = _read(output)
    claim_words = [_content_words(output[start:end]) for start, end in reading.claims]
    claims = [(i, span) for i, span in enumerate(reading.claims) if claim_words[i]]
    if not claims:
        return CheckResult("consistent", True, "no claims to compare in the output", 1.0, ())
    backing = [0] * len(reading.claims)
    for sample in texts:
        source = _read(sample, for_source=True)
        unsupported = {fact.claim for fact in _judge(reading, source) if not fact.supported}
        sample_words = {_bare(w) for w in source.words}
        for index, _ in claims:
            # Numbers are judged as facts, above; the words are what the sample must share. A claim
            # that is only numbers ("The answer is 120.") is backed by its facts alone.
            words = {w for w in claim_words[index] if not w.isdigit()}
            overlap = len(words & sample_words) / len(words) if words else 1.0
            if index not in unsupported and overlap >= 0.5:
                backing[index] += 1
    weak = [(i, span) for i, span in claims if backing[i] / len(texts) < min_agreement]
    score = 1.0 - len(weak) / len(claims)
    if not weak:
        reason = (
            f"all {len(claims)} claims are backed by at least {min_agreement:.0%} of {len(texts)} samples"
        )
        return CheckResult("consistent", True, reason, score, ())
    items = [
        f"{_shorten(output[s:e])!r} ({backing[i]} of {len(texts)} samples)"
        for i, (s, e) in weak[:_REASON_ITEMS]
    ]
    more = f"; and {len(weak) - _REASON_ITEMS} more" if len(weak) > _REASON_ITEMS else ""
    reason = (
        f"{len(weak)} of {len(claims)} claims are backed by fewer than {min_agreement:.0%} of the samples: "
        + "; ".join(items)
        + more
    )
    evidence = tuple(_window(output, s, s, (s, e)) for _, (s, e) in weak[:_EVIDENCE_ITEMS])
    return CheckResult("consistent", False, reason, score, evidence)


def _content_words(text: str) -> set[str]:
    return {
        _bare(m.group(0).casefold())
        for m in re.finditer(r"[^\W_]+(?:['\u2019][^\W_]+)*", text)
        if (len(m.group(0)) > 2 or m.group(0).isdigit()) and m.group(0).casefold() not in _STOPWORDS
    }


def _context_text(context: object) -> str:
    if context is None:
        raise CheckInputError("grounded_in: context is None; pass the source text the output must stick to")
    if isinstance(context, str | bytes | bytearray):
        return text_of(context, "grounded_in (the context)")
    raise CheckInputError(
        f"grounded_in: context must be the source text as str, got {type(context).__name__}"
    )


def _check_share(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")


def claims_of(text: str) -> list[str]:
    """The claims (sentences and clauses) ``grounded_in`` checks one by one."""
    return [text[s:e] for s, e in _claim_spans(text)]


# ---------------------------------------------------------------------------------------------
# method="nli"


@lru_cache(maxsize=2)
def _nli(name: str) -> tuple[Any, Any, int]:
    """Tokenizer, model and the index of the "entailment" label, loaded once per model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)
    model = AutoModelForSequenceClassification.from_pretrained(name).eval()
    labels = {int(i): str(label) for i, label in model.config.id2label.items()}
    entail = [i for i, label in labels.items() if label.casefold().startswith("entail")]
    if len(entail) != 1:
        raise ValueError(
            f"grounded_in: {name} is not an NLI model: its labels {sorted(labels.values())} "
            "have no single 'entailment' label"
        )
    return tokenizer, model, entail[0]


def _grounded_by_nli(output: str, context: str, name: str, bound: float, min_supported: float) -> CheckResult:
    import torch

    spans = [span for span in _claim_spans(output) if _content_words(output[span[0] : span[1]])]
    if not spans:
        return CheckResult("grounded_in", True, "no claims in the output to check", 1.0, ())
    tokenizer, model, entail = _nli(name)
    limit = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    probabilities: list[float] = []
    with torch.no_grad():
        for first in range(0, len(spans), 16):
            batch = [output[s:e] for s, e in spans[first : first + 16]]
            encoded = tokenizer(
                [context] * len(batch),
                batch,
                truncation=True,
                max_length=limit,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.float()
            probabilities.extend(torch.softmax(logits, dim=-1)[:, entail].tolist())
    weak = [(span, p) for span, p in zip(spans, probabilities, strict=True) if p < bound]
    score = 1.0 - len(weak) / len(spans)
    if not weak:
        reason = f"the context entails all {len(spans)} claims (entailment >= {bound:g})"
        return CheckResult("grounded_in", True, reason, score, ())
    items = [f"{_shorten(output[s:e])!r} (entailment {p:.2f})" for (s, e), p in weak[:_REASON_ITEMS]]
    more = f"; and {len(weak) - _REASON_ITEMS} more" if len(weak) > _REASON_ITEMS else ""
    reason = (
        f"{len(weak)} of {len(spans)} claims are not entailed by the context (entailment < {bound:g}): "
        + "; ".join(items)
        + more
    )
    evidence = tuple(_window(output, s, s, (s, e)) for (s, e), _ in weak[:_EVIDENCE_ITEMS])
    return CheckResult("grounded_in", score >= min_supported, reason, score, evidence)


# ---------------------------------------------------------------------------------------------
# method="judge"

_JUDGE_PROMPT = """You check an answer against its source text. A claim is unsupported when the source does \
not state it: a number, name, date or quote that is not in the source, or arithmetic with a wrong result.

Source:
{context}

Answer, one claim per line:
{claims}

Reply with JSON only, listing the numbers of the unsupported claims (an empty list if all are supported):
{{"unsupported": [ ]}}"""


def judge_prompt(output: str, context: str) -> str:
    """The prompt ``grounded_in(method="judge")`` sends: the source and the output's numbered claims."""
    claims = "\n".join(f"{i}. {' '.join(claim.split())}" for i, claim in enumerate(claims_of(output), 1))
    return _JUDGE_PROMPT.format(context=context.strip(), claims=claims)


def parse_verdict(reply: str, claims: Sequence[str]) -> list[int] | None:
    """The 0-based indices of the claims a judge's reply calls unsupported, or None if it cannot be read.

    Accepts JSON inside a fenced block or surrounded by other text, as ``{"unsupported": [...]}`` or a
    bare list, whose items are claim numbers (1-based), claim texts, or objects with a "claim" field.
    """
    for candidate in _json_candidates(reply):
        items = candidate.get("unsupported") if isinstance(candidate, dict) else candidate
        if isinstance(candidate, dict) and items is None:
            items = candidate.get("unsupported_claims")
        if not isinstance(items, list):
            continue
        indices = [_claim_index(item, claims) for item in items]
        if all(i is not None for i in indices):
            return sorted({i for i in indices if i is not None})
    return None


def _json_candidates(reply: str) -> list[Any]:
    decoder = json.JSONDecoder()
    found: list[Any] = []
    fenced = re.findall(r"```(?:json)?\s*(.*?)```", reply, flags=re.DOTALL)
    for text in [*fenced, reply]:
        starts = [m.start() for m in re.finditer(r"[\[{]", text)][:50]
        for start in starts:
            try:
                value, _ = decoder.raw_decode(text, start)
            except ValueError:
                continue
            found.append(value)
    return found


def _claim_index(item: object, claims: Sequence[str]) -> int | None:
    if isinstance(item, dict):
        item = item.get("claim", item.get("id", item.get("number")))
    if isinstance(item, bool):
        return None
    if isinstance(item, int | float) and float(item).is_integer() and 1 <= int(item) <= len(claims):
        return int(item) - 1
    if isinstance(item, str):
        if item.strip().isdigit():
            return _claim_index(int(item.strip()), claims)
        wanted = _content_words(item)
        best, best_overlap = None, 0.0
        for index, claim in enumerate(claims):
            words = _content_words(claim)
            overlap = len(words & wanted) / max(len(words | wanted), 1)
            if overlap > best_overlap:
                best, best_overlap = index, overlap
        return best if best_overlap >= 0.5 else None
    return None


def _grounded_by_judge(
    output: str, context: str, judge: Judge, max_tokens: int, min_supported: float
) -> CheckResult:
    claims = claims_of(output)
    if not claims:
        return CheckResult("grounded_in", True, "no claims in the output to check", 1.0, ())
    reply = judge.generate(judge_prompt(output, context), max_tokens=max_tokens, temperature=0.0)
    if not isinstance(reply, str):
        return CheckResult(
            "grounded_in", False, f"the judge returned {type(reply).__name__}, not text", 0.0, ()
        )
    indices = parse_verdict(reply, claims)
    if indices is None:
        reason = (
            'the judge\'s verdict is not JSON of the form {"unsupported": [claim numbers]}: '
            f"{_shorten(reply, 160)!r}"
        )
        return CheckResult("grounded_in", False, reason, 0.0, (reply[:_EVIDENCE_CHARS],))
    score = 1.0 - len(indices) / len(claims)
    if not indices:
        return CheckResult(
            "grounded_in", True, f"the judge found all {len(claims)} claims supported", 1.0, ()
        )
    items = [f"{_shorten(claims[i])!r}" for i in indices[:_REASON_ITEMS]]
    more = f"; and {len(indices) - _REASON_ITEMS} more" if len(indices) > _REASON_ITEMS else ""
    reason = f"the judge found {len(indices)} of {len(claims)} claims unsupported: " + "; ".join(items) + more
    evidence = tuple(claims[i][:_EVIDENCE_CHARS] for i in indices[:_EVIDENCE_ITEMS])
    return CheckResult("grounded_in", score >= min_supported, reason, score, evidence)
