"""Judging an output's facts against a source's reading, and the check result that reports them."""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection

from ..evidence import EVIDENCE_CHARS, one_line
from ..result import CheckResult
from .arithmetic import _Equation
from .lexing import (
    _CONNECTORS,
    _NAME_PARTS,
    _TITLES,
    _UNIVERSAL,
    _bare,
    _huge_digits,
    _key,
    _norm,
    _written_amount,
)
from .phrases import changed_numbers
from .proportions import conflict, output_proportions
from .reading import _Fact, _Reading
from .relations import named_relation, relations_around

_REASON_ITEMS = 5
_EVIDENCE_ITEMS = 20  # enough to see a pattern; a megabyte of made-up numbers needs no more


# ---------------------------------------------------------------------------------------------
# Judging facts against a source


def _judge(reading: _Reading, source: _Reading, *, one_step: bool = False) -> list[_Fact]:
    """The facts of ``reading``, each with its verdict against ``source`` (``supported`` and ``why``).

    ``one_step`` also accepts a number one unshown step from known numbers (see ``_one_step``)."""
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
    for _ in range(4 if one_step else 0):
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
    for fact in reading.facts:
        if fact.kind == "number" and fact.role == "stated" and fact.why not in (_SHOWN_RIGHT, _COMPUTED):
            # A value the output's own right arithmetic gives may fill any relation, as a computed
            # one may ("she runs for 2 hours at 6 miles per hour" after "3 * 2 = 6 miles per
            # hour"), even when the context also writes it elsewhere ("six hours").
            if fact.key not in shared and fact.base_key not in shared:
                _check_relations(fact, reading.text, source)
        elif fact.why == _SHOWN_RIGHT and source.relations.named:
            _check_named_result(fact, reading, source)
    if source.rates or source.phrases:
        by_start = {fact.start: fact for fact in reading.facts if fact.kind == "number"}
        made = len(by_start)
        if source.rates:
            _check_proportions(reading, source, by_start)
        if source.phrases:
            _check_phrases(reading, source, by_start, shared.keys())
        if len(by_start) > made:  # facts made for a 1 or a 2 go in text order, like the others
            reading.facts[:] = sorted(
                [fact for fact in reading.facts if fact.kind != "number"] + list(by_start.values()),
                key=lambda fact: fact.start,
            )
    return reading.facts


Numbers = dict[int, _Fact]  # the output's number facts by where they start


def _check_proportions(reading: _Reading, source: _Reading, numbers: Numbers) -> None:
    """Quantities the output equates at a rate the context does not give between their units
    ("2 pounds of cheese = 2 * $6 = $12" when cheese is $3 a pound): the amount the output arrives
    at is unsupported. "1 lemon" is a fact here, though a 1 alone needs no source."""
    # A rate that is one of the context's numbers (but 0, 1 or 2) may be one it writes in words
    # that the rates are not read from: "half an hour every day" beside "2 hours every day".
    written = source.values.difference(_UNIVERSAL)
    for proportion in output_proportions(reading.text):
        says = conflict(source.rates, proportion)
        if says is None or proportion.ratio in written or _key(1 / proportion.ratio) in written:
            continue
        why = f"the context gives another rate: {says}"
        _flag_number(reading, numbers, proportion.amount_start, proportion.amount_end, why)


def _check_phrases(
    reading: _Reading, source: _Reading, numbers: Numbers, computed: Collection[float]
) -> None:
    """A number stated (not computed) in a phrase the context writes with other numbers only:
    "30 mph for 2 hours" when the context says "30 mph for 1 hour" (``phrases``)."""
    for start, end, says in changed_numbers(reading.text, source.phrases):
        why = f"the context writes another number in this phrase: {says}"
        _flag_number(reading, numbers, start, end, why, computed=computed)


def _flag_number(
    reading: _Reading, numbers: Numbers, start: int, end: int, why: str, *, computed: Collection[float] = ()
) -> None:
    """Mark the output's number at ``start`` unsupported for ``why``, unless it is already, or its
    value is ``computed`` by the output's own right arithmetic. A 1 or a 2, which alone needs
    no source and so is no fact, becomes one here (in ``numbers``): it can be the wrong number of
    a rate or phrase."""
    fact = numbers.get(start)
    if fact is None:
        text = reading.text[start:end]
        value = _written_amount(text)
        if _key(value) in computed:
            return
        claim = bisect.bisect_right(reading.claims, (start, math.inf)) - 1 if reading.claims else 0
        fact = numbers[start] = _Fact(
            "number", text, start, end, max(claim, 0), value, value, _key(value), _key(value)
        )
    elif not fact.supported or fact.key in computed:
        return
    fact.supported, fact.why = False, why


def _check_named_result(fact: _Fact, reading: _Reading, source: _Reading) -> None:
    """A right result put into what the context says of a name with another number, computed from
    other numbers than that one: "Liam is 2 * 2 = 4 years old" when Liam is 16."""
    equation = fact.equation
    if equation is None or equation.rhs or not equation.operands or fact.start != equation.result.start:
        return
    named = named_relation(reading.text, equation.operands[0].start, fact.end)
    if named is None:
        return
    says = source.relations.computed_conflict(named[0], fact.key, _derived_from(equation, reading.equations))
    if says is not None:
        fact.supported, fact.why = False, f"the context states another number here: {says}"


def _derived_from(equation: _Equation, equations: list[_Equation]) -> set[float]:
    """Every number ``equation``'s result is computed from: its operands, and theirs when an
    earlier right step computed them."""
    steps: dict[float, set[float]] = {}
    for step in equations:
        if step.holds and not step.rhs:
            steps.setdefault(_key(step.result.value), set()).update(_key(o.value) for o in step.operands)
    found: set[float] = set()
    todo = [_key(o.value) for o in equation.operands]
    while todo:
        value = todo.pop()
        if value not in found:
            found.add(value)
            todo.extend(steps.get(value, ()))
    return found


_COMPUTED = "computed in the output"
_STATED = "stated in the context"


def _check_relations(fact: _Fact, text: str, source: _Reading) -> None:
    """A number put into a relation the context states with other numbers ("9 years older than
    Drew" for the context's "4 years older than Drew") is unsupported, and the reason quotes the
    context (``relations.ContextRelations.conflict`` says when). Only numbers stated without
    arithmetic are looked at: "the shirt costs 5 + 2 = $7 now" restates a relation with a new value
    on purpose, and an operand's neighbours belong to its arithmetic ("the tickets cost 5 * $10")."""
    values = (fact.key, fact.base_key)
    stated = fact.why == _STATED
    for key in relations_around(text, fact.start, fact.end):
        conflict = source.relations.conflict(key, values, stated)
        if conflict is None:
            continue
        why, says = conflict
        if fact.supported:
            fact.supported, fact.why = False, f"{why}: {says}" if says else why
        elif says:
            fact.why += f"; the context says {says}"
        return


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


def _huge_verdict(fact: _Fact, source: _Reading) -> tuple[bool, str]:
    """A number too long for a float (see ``_float_of``) is supported only as the context writes it."""
    digits = _huge_digits(fact.text)
    if digits and digits in source.huge:
        return (True, _STATED)
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
            return (True, _STATED)
        if fact.role == "algebra":
            return (True, "part of the output's algebra (not checked)")
        if fact.fraction is not None and _key(fact.fraction) in known:
            return (True, "part of a fraction the context gives")
        if not known.isdisjoint(alternatives):
            how = "one step from the context's numbers" if value in implied else _COMPUTED
            return (True, how)
        if fact.role == "stated" and value in rounded:
            return (True, "a rounded value computed in the output")
        if fact.role == "operand":
            if not source.operand_constants.isdisjoint(alternatives):
                return (True, "100, which the context's percentages divide by")
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
    if hi - lo <= EVIDENCE_CHARS:
        return text[lo:hi]
    pad = max((EVIDENCE_CHARS - (end - start)) // 2, 0)
    left = max(lo, start - pad)
    return text[left : min(hi, left + EVIDENCE_CHARS)]


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
            claim_text = one_line(reading.text[claim[0] : min(claim[1], claim[0] + 4 * EVIDENCE_CHARS)])
            items.append(f"{one_line(fact.text)!r} ({fact.why}) in {claim_text!r}")
    more = f"; and {len(bad) - _REASON_ITEMS} more" if len(bad) > _REASON_ITEMS else ""
    unsupported_claims = len({fact.claim for fact in bad})
    reason = (
        f"{len(bad)} of {len(judged)} facts in {unsupported_claims} of {claims_with_facts} claims are not "
        f"supported by the context: " + "; ".join(items[:_REASON_ITEMS]) + more
    )
    return CheckResult(name, score >= min_supported, reason, score, tuple(evidence))
