"""Reading a text for ``grounded_in``: its claims, and the facts in them (numbers with their role in
the arithmetic, names, dates, quotes); or, for a source, what those facts are judged against."""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter

from ..result import CheckInputError, text_of
from .arithmetic import (
    _ambiguous,
    _correct,
    _derivation_in_parentheses,
    _Equation,
    _equation_before,
    _evaluate,
    _expression_after,
    _has_operator,
    _is_fraction,
    _is_variable,
    _matches_result,
)
from .lexing import (
    _CONNECTORS,
    _DATE,
    _DATE_HINT,
    _EQ_WORDS,
    _IMPERATIVE,
    _LABELS,
    _LINK_ENDINGS,
    _MONTHS,
    _ORDINAL_FORMS,
    _ORDINALS,
    _QUOTE,
    _SCALES,
    _STOPWORDS,
    _UNIT_CONSTANTS,
    _UNITS,
    _UNIVERSAL,
    _WEEKDAYS,
    _bare,
    _claim_spans,
    _huge_digits,
    _key,
    _lex,
    _Lexeme,
    _norm,
)
from .names import name_span
from .phrases import Phrases, context_phrases
from .proportions import Rates, context_rates
from .relations import ContextRelations, context_relations
from .units import _conversion, _restated_conversion


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
    # 100 when the source writes a percentage: an operand may divide by it ("2.5 / 100 * $5,000"),
    # but a number stated on its own ("he earns $100") is not supported by it.
    operand_constants: set[float] = field(default_factory=set)
    initials: str = ""  # the first letters of its words in order: "mph" is in it for "miles per hour"
    dates: list[tuple[int | None, int | None, int | None, int | None]] = field(default_factory=list)
    huge: set[str] = field(default_factory=set)  # the significant digits of its numbers read as inf
    relations: ContextRelations = field(default_factory=ContextRelations)  # a source's relations
    rates: Rates = field(default_factory=dict)  # a source's rates ("$3 per pound"), by their units
    phrases: Phrases = field(default_factory=dict)  # a source's numbers by the words around them


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
    cut_off_at = _cut_off_end(text)
    algebra, signs, candidates, opens = _mark_claims(lexemes, claims)
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
        if span is None and (conversion := _conversion(lexemes, index, text)) is not None:
            if conversion.check():  # "2 hours is 120 minutes"; a wrong one is judged as written
                conversion.holds = True
                equations.append(conversion)
                roles.setdefault(id(conversion.operands[0]), ("operand", conversion))
                roles[id(after)] = ("result", conversion)
            continue
        if span is None or (lex.kind == "word" and not _has_operator(span)):
            continue  # "1/4 pound of butter makes 1 dozen" is a sentence, not arithmetic
        rhs = _expression_after(lexemes, index)
        end = rhs[-1].end if rhs else after.end
        first = index - len(span)  # "divide 24 by 8 ...": the verb says what "by" does
        verb = lexemes[first - 1] if first else None
        imperative = verb is not None and verb.low in _IMPERATIVE and verb.claim == lex.claim
        begin = verb.start if verb is not None and imperative else span[0].start
        equation = _Equation(
            [x for x in span if x.kind == "num"],
            after,
            text[begin:end],
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
        if (
            not equation.holds
            and rhs
            and equation.computed is not None
            and _correct(equation.computed, after)
        ):
            # "16 - 3 - 4 = 9 eggs x $2 = $18": the next step of a chain starts at the result; the
            # expression after "=" is not a restatement of the left side. The next "=" judges it.
            equation.rhs, equation.rhs_value, equation.rhs_text = [], None, ""
            equation.text = text[span[0].start : after.end]
            equation.holds = True
        equations.append(equation)
        for operand in equation.operands:
            roles.setdefault(id(operand), ("operand", equation))
        roles[id(after)] = ("result", equation)
        if equation.rhs and equation.holds:
            for number in equation.rhs:
                roles[id(number)] = ("result", equation)  # "= 8 + 18": restates the left side, checked
    for index in opens:  # "9 eggs left (16 - 3 - 4)": a derivation after its result, without "="
        derivation = _derivation_in_parentheses(lexemes, index)
        if derivation is None or id(derivation[0]) in roles:
            continue
        number, span = derivation
        close = lexemes[index + len(span) + 1]
        equation = _Equation(
            [x for x in span if x.kind == "num"],
            number,
            text[number.start : close.end],
            _matches_result(span, number),
        )
        if not equation.check():
            continue  # "5 apples (2 from Tom + 1)" may not be a derivation: judged as written
        equation.holds = True
        equations.append(equation)
        for operand in equation.operands:
            roles.setdefault(id(operand), ("operand", equation))
        roles[id(number)] = ("result", equation)

    for index in candidates:  # "270 minutes, or 4.5 hours": a conversion without "=" or "is"
        if lexemes[index].kind == "num" and id(lexemes[index]) not in roles:
            conversion = _restated_conversion(lexemes, index, text)
            if conversion is not None:
                conversion.holds = True  # the number it converts keeps its own role and verdict
                equations.append(conversion)
                roles[id(conversion.result)] = ("result", conversion)
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
            # 0, 1 and 2 need no source ("none left", "one of them", "twice"), but a price does: "$1".
            if lex.value in _UNIVERSAL and role != "result" and not lex.text.startswith("$"):
                continue
            if role == "stated" and lex.end == cut_off_at:
                continue  # an answer cut off at "$8," may have been writing "$8,000": not a fact
            if role == "stated" and lex.value.is_integer() and index:
                before = lexemes[index - 1]
                if before.text == "-" and before.start == lex.start - 1 and index >= 2:
                    before = lexemes[index - 2]  # "Step-3"
                if before.low.rsplit(" ", 1)[-1] in _LABELS:
                    continue
            if role == "stated" and _LIST_MARKER.match(text, lex.start) and _line_start(text, lex.start):
                continue  # "3." or "3)" numbering a list: a position, not a quantity
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
    # "Monday through Friday" names the days between too; "Monday and Thursday" does not.
    for m in _WEEKDAY_RANGE.finditer(text):
        first, last = (
            _WEEKDAYS.index(next(d for d in _WEEKDAYS if d[:3] == g.casefold())) for g in m.groups()
        )
        days = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        dates.extend((None, None, None, day) for day in days)
    if "weekend" in words or "weekends" in words:
        dates.extend((None, None, None, day) for day in (5, 6))
    reading.dates = dates
    reading.stated, reading.constants = _source_values(lexemes, words)
    reading.values = reading.stated | reading.constants
    if "percent" in words or any(lex.text == "%" or lex.percent for lex in lexemes):
        reading.operand_constants = {_key(100)} - reading.values
    huge = {_huge_digits(lex.text) for lex in lexemes if lex.kind == "num" and lex.value == math.inf}
    reading.huge = huge - {""}
    numbers = [(lex.start, lex.end, lex.value, lex.base) for lex in lexemes if lex.kind == "num"]
    reading.relations = context_relations(text, numbers)
    reading.rates = context_rates(text)
    reading.phrases = context_phrases(text)
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
) -> tuple[set[int], list[int], list[int], list[int]]:
    """Give each lexeme its claim and mark the words that start a sentence (or follow a colon).

    Returns the claims that do algebra (a one-letter variable next to a number, operator or ``=``),
    and, found in the same pass because a long output has hundreds of thousands of lexemes, the
    positions of ``=`` and "is"-like words, of the numbers and the words a name can hold, and of
    opening parentheses.
    """
    starts = [start for start, _ in claims]
    index, claim, pending = -1, 0, False
    following = starts[0] if starts else math.inf  # where the next claim starts
    variables: list[int] = []  # one-letter words, checked below: a loop over them only is cheaper
    signs: list[int] = []
    candidates: list[int] = []
    opens: list[int] = []
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
            if lex.low in _EQ_WORDS or lex.low == "get" or lex.low.endswith(_LINK_ENDINGS):
                signs.append(position)
        elif kind == "num":
            pending = False
            candidates.append(position)
        elif kind == "eq":
            signs.append(position)
        elif kind == "open":
            opens.append(position)
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
    return algebra, signs, candidates, opens


_WEEKDAY_RANGE = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?[ \t]*(?:through|thru|to|until|till|-|\u2013|\u2014)[ \t]*"
    r"(mon|tue|wed|thu|fri|sat|sun)",
    re.IGNORECASE,
)
_LIST_MARKER = re.compile(r"\d{1,3}[.)](?:[ \t]|$)", re.MULTILINE)


def _line_start(text: str, offset: int) -> bool:
    """Only spaces stand between ``offset`` and the start of its line.

    Walks back over the spaces alone (not to the line's start), so that checking every number of a
    one-line answer stays linear: the spaces before one number are before no other."""
    while offset and text[offset - 1] != "\n" and text[offset - 1].isspace():
        offset -= 1
    return not offset or text[offset - 1] == "\n"


def _cut_off_end(text: str) -> int:
    """Where a text ends that was cut off right after a comma ("... she earned $8,"): the offset
    after its last non-space before that final comma; -1 when the text does not end in a comma.

    A number ending there is what ``text[number.end:].strip() == ","`` asks, answered once for
    the whole text instead of once per number (a slice of the rest of the text each time)."""
    tail = text.rstrip()
    return len(tail[:-1].rstrip()) if tail.endswith(",") else -1


def _names(text: str, run: list[_Lexeme]) -> list[_Fact]:
    """The name in a run of capitalized words, as a fact (see ``names.name_span``)."""
    span = name_span(text, run)
    return [] if span is None else [_Fact("name", text[span[0] : span[1]], span[0], span[1], run[0].claim)]


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
            if lex.base != lex.value:  # "3 dozen" states 12 too: an answer may write 3 x 12 = 36
                constants.update(_key(v) for w, v in _SCALES.items() if w in lex.text.casefold())
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
    return stated, constants - stated


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
