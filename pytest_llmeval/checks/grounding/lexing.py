"""Lexing for ``grounded_in``: the words that carry numbers, and a text cut into lexemes (numbers,
words, operators) with the values of numbers written in digits or words."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


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
    "cent": (100,), "cents": (100,), "foot": (12,), "feet": (12,),
    "inch": (12,), "inches": (12,), "yard": (3, 36), "yards": (3, 36), "mile": (5280,), "miles": (5280,),
    "pound": (16,), "pounds": (16,), "gallon": (4, 128), "gallons": (4, 128), "quart": (4,),
    "quarts": (4,), "kilogram": (1000,), "kilograms": (1000,), "kilometer": (1000,),
    "kilometers": (1000,), "meter": (100,), "meters": (100,), "liter": (1000,), "liters": (1000,),
    "weekend": (2,), "weekends": (2,), "weekday": (5,), "weekdays": (5,), "half": (2, 0.5),
    "twice": (2,), "thrice": (3,), "double": (2,), "doubles": (2,), "doubled": (2,), "triple": (3,),
    "triples": (3,), "tripled": (3,), "quadruple": (4,), "quadrupled": (4,), "halved": (2,), "twins": (2,),
    "triplets": (3,), "quadruplets": (4,), "quintuplets": (5,), "sextuplets": (6,), "octuplets": (8,),
    "both": (2,), "quarter": (4, 0.25, 25), "quarters": (4, 0.25, 25), "semester": (2,), "score": (20,),
    "dime": (10,), "dimes": (10,), "nickel": (5,), "nickels": (5,), "fingers": (10,), "toes": (10,),
}  # fmt: skip
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_SCALES)
_RARE_ZIPF = 4.3  # wordfreq's scale: "the" is 7.7, "janet" 4.0, "overtime" 3.9, "tobias" 3.3
_UNIVERSAL = (0.0, 1.0, 2.0)  # "none left", counting from one, doubling and halving need no source
_OP_WORDS = {"plus": "+", "minus": "-", "times": "*", "x": "*", "cdot": "*"}  # LaTeX's \times, \cdot
# The multiplication sign and the dots that stand for it, the division sign, en dash and minus sign.
_SYMBOLS = {
    "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/", "\u2013": "-", "\u2212": "-"
}  # fmt: skip
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
    minus times okay ok oh ah um uh hmm wow sure well"""
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
_YEAR = r"1\d{3}|2[01]\d\d"  # a four-digit number is a year only from 1000 to 2199: not "March, 3000 posts"
_DATE = re.compile(
    r"(?=[\dA-Z])(?:"
    r"\b(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})\b"
    r"|\b(?P<bd>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?"
    + _MONTH.format(g="bm")
    + rf"(?:,?\s+(?P<by>{_YEAR})\b)?"
    r"|\b" + _MONTH.format(g="am") + r"(?:\s+(?P<ad>\d{1,2})(?:st|nd|rd|th)?\b)?"
    rf"(?:,?\s+(?P<ay>{_YEAR})\b)?"
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
# "divide 24 by 8", "multiply 2 and 3", "add 5 to 7": the verb, the words that may join its two
# numbers, and the operator they make (subtraction, "subtract 3 from 10", turns the numbers around
# and is not read).
_IMPERATIVE = {
    **dict.fromkeys(("divide", "divides", "dividing"), (("by",), "/")),
    **dict.fromkeys(("multiply", "multiplies", "multiplying"), (("by", "and"), "*")),
    **dict.fromkeys(("add", "adds", "adding"), (("and", "to"), "+")),
}
# The words that end a run and give a result, like "is": "which gives us 9", "we get 9", "to get 9".
_LINK_ENDINGS = ("gives us", "give us", " get", "results in")
_TAIL_WORDS = _EQ_WORDS | _IMPERATIVE.keys() | {"plus", "minus", "times", "by", "percent"}
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
    r"|(?P<op>[-+*/\u00d7\u00b7\u22c5\u00f7\u2013\u2212])|(?P<eq>=)|(?P<open>\()|(?P<close>\))|(?P<other>[:%,]|#++)"
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


def _written_amount(text: str) -> float:
    """A number as the rate and phrase rules match it ("$1,200.50", "30%"): 1200.5, 30.0."""
    return float(text.lstrip("$").rstrip("%").replace(",", ""))


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
_ATTENTION = _NUMBER_WORDS | frozenset(_OP_WORDS) | _IMPERATIVE.keys() | {"a", "multiplied", "divided", "of"}


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
        elif (
            low == "of"
            and i + 1 < len(raw)
            and raw[i + 1].kind == "num"
            and _takes_a_share(out, raw, copied, i)
        ):
            tok.kind, tok.text = "op", "*"  # "2.5% of $5,000", "1/4 of 20": a share of a number
            out.extend(raw[copied : i + 1])
            copied = i + 1
        elif low in ("multiplied", "divided") and i + 1 < len(raw) and raw[i + 1].low == "by":
            tok.kind, tok.text = "op", "*" if low == "multiplied" else "/"
            out.extend(raw[copied:i])
            out.append(tok)
            copied = i + 2
        elif (
            low in _IMPERATIVE
            and i + 3 < len(raw)
            and raw[i + 1].kind == "num"
            and raw[i + 2].low in _IMPERATIVE[low][0]
            and raw[i + 3].kind == "num"
        ):
            joint = raw[i + 2]  # "divide 24 by 8": "by" becomes the operator, "divide" stays a word
            joint.kind, joint.text = "op", _IMPERATIVE[low][1]
            out.extend(raw[copied : i + 3])
            copied = i + 3
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


def _takes_a_share(out: list[_Lexeme], raw: list[_Lexeme], copied: int, i: int) -> bool:
    """The lexemes before ``raw[i]`` ("of") end in a percentage or a fraction such as 1/4, written
    right before it: "2.5% of", "1/4 of", not "3 of" or "5% of the 20"."""
    before = [*out[-3:], *raw[max(copied, i - 3) : i]][-3:]
    if not before or before[-1].kind != "num":
        return False
    if before[-1].percent:
        return True
    return (
        len(before) == 3
        and before[0].kind == "num"
        and before[1].text == "/"
        and before[0].end == before[1].start
        and before[1].end == before[2].start
    )


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


def _huge_digits(text: str) -> str:
    """The significant digits of a number too long for a float (see ``_float_of``)."""
    return _significant(_NOT_NUMERIC.sub("", text))
