"""Proportions: two quantities an output equates, held to the rate the context gives between them.

A context that says "cheese costs $3.00 per pound" or "6 lemons would yield 1 cup of juice" gives a
rate between two units. An output that equates quantities of the same two units ("2 pounds of
cheese = 2 * $6 = $12", "1 cup of lemon juice is equal to 1 lemon") says a rate too, and when it is
none of the context's rates between those units the output has changed a stated relation, even
though its arithmetic is right and each number appears somewhere in the context.

Read narrowly, since a wrong flag here would call right arithmetic made up:

- the context's rates: "$3 per pound" (also "a", "an", "each", "every" before the unit), "4 apples
  per bag", "6 lemons (would) yield/make/give/fill 1 cup", "3 shirts for $15";
- the output's proportions: "N A [of thing] (=, is, is equal to, equals, costs, makes, yields) M B",
  either directly or through arithmetic that only multiplies or divides and starts from N
  ("2 pounds of cheese = 2 * $6 = $12"). A quantity joined to another ("1 pound of meat and 1 pound
  of cheese is $10") is a sum, not a proportion, and is left alone.

Units are single words compared in the singular, money is "$". Nothing is decided when the context
gives no rate between the two units.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from .lexing import _written_amount
from .relations import _PER_WORDS, _singular

_AMOUNT = r"\$?\d+(?:,\d{3})*(?:\.\d+)?"  # "$1,200.50"; "5, then" is 5 and a comma
_UNIT_WORD = r"[A-Za-z]{3,}"
_THING = r"(?:[ \t]+of(?:[ \t]+[A-Za-z]+){1,3}?)?"
# "$3.00 per pound", "$4 a pound", "4 apples per bag": "per" makes a rate of any word, "a", "each"
# and "every" only of units (as in ``relations``: "$2 and a pencil" is no rate).
_PER_RATE = re.compile(
    rf"(?P<n>{_AMOUNT})(?:[ \t]+(?P<a>{_UNIT_WORD}))?{_THING}[ \t]+"
    rf"(?:per[ \t]+(?P<b>{_UNIT_WORD})|(?:an?|each|every)[ \t]+(?P<unit>(?:{_PER_WORDS})s?))\b",
    re.IGNORECASE,
)
# "6 lemons would yield 1 cup", "2 eggs make 1 cake".
_YIELD_RATE = re.compile(
    rf"(?P<n>{_AMOUNT})[ \t]+(?P<a>{_UNIT_WORD}){_THING}[ \t]+(?:(?:would|will|can)[ \t]+)?"
    rf"(?:yields?|makes?|gives?|produces?|fills?)[ \t]+(?P<m>{_AMOUNT})[ \t]+(?P<b>{_UNIT_WORD})\b",
    re.IGNORECASE,
)
# "3 shirts for $15" (not "2 cookies for $1.00 each" or "20 cupcakes for $2 for each cupcake",
# prices each).
_FOR_RATE = re.compile(
    rf"(?P<m>{_AMOUNT})[ \t]+(?P<b>{_UNIT_WORD})[ \t]+for[ \t]+(?P<n>\$[\d.,]*\d)"
    r"(?![\d.,]*[ \t]+(?:each|apiece|per|for|an?|every)\b)"
)
_LINK = r"(?:=|is equal to|equals|is|are|costs?|makes?|yields?|gives?)"
# The output's "N A [of thing] LINK [arithmetic =] M B", within one line; the arithmetic is at most
# 80 characters, so that a long line with many "N A is" costs no more than a short one.
_PROPORTION = re.compile(
    rf"(?P<n>{_AMOUNT})[ \t]+(?P<a>{_UNIT_WORD}){_THING}[ \t]+{_LINK}[ \t]+"
    rf"(?:(?P<arith>(?:[^=.\n;]|\.(?=\d)){{0,80}}?)=[ \t]*)?(?P<m>{_AMOUNT})(?:[ \t]+(?P<b>{_UNIT_WORD}))?",
    re.IGNORECASE,
)
# Before a quantity that is part of a sum or of arithmetic ("0.5 hours * 14 days = 7 hours").
_JOINED = re.compile(r"(?:\band|\bor|\bplus|\btimes|[-+*/x\u00d7])[ \t]*$", re.IGNORECASE)
_OPERAND = re.compile(_AMOUNT)
# Words after a number that are no unit of a rate.
_NOT_UNITS = frozenset(
    {"and", "the", "for", "per", "each", "every", "than", "times", "more", "less", "total", "with"}
)

Rates = dict[tuple[str, str], dict[float, str]]


@dataclass(frozen=True)
class Proportion:
    """A rate an output says: ``ratio`` of unit ``units[0]`` per one ``units[1]``, written at
    [start, end), whose right-hand amount is at [amount_start, amount_end)."""

    units: tuple[str, str]
    ratio: float
    start: int
    end: int
    amount_start: int
    amount_end: int


def _unit(amount: str, word: str | None) -> str | None:
    """The unit of an amount: "$" for money, else the word after it (singular), if it is one."""
    if amount.startswith("$"):
        return "$"
    if word is None or word.casefold() in _NOT_UNITS:
        return None
    unit = _singular(word)
    return "$" if unit == "dollar" else unit


def context_rates(text: str) -> Rates:
    """The rates a context gives, by (unit, per unit), each with its phrase."""
    rates: Rates = {}

    def add(a: str | None, b: str | None, n: float, m: float, phrase: str) -> None:
        if a is None or b is None or a == b or m == 0 or not math.isfinite(n / m):
            return
        rates.setdefault((a, b), {}).setdefault(round(n / m, 6), " ".join(phrase.split()))

    for match in _PER_RATE.finditer(text):
        b = (match["b"] or match["unit"]).casefold()
        a = match["a"]
        if b in _NOT_UNITS or (a is not None and a.casefold() in _NOT_UNITS):
            continue
        add(_unit(match["n"], a), _singular(b), _written_amount(match["n"]), 1.0, match[0])
    for match in _YIELD_RATE.finditer(text):
        a, b = _unit(match["n"], match["a"]), _unit(match["m"], match["b"])
        add(a, b, _written_amount(match["n"]), _written_amount(match["m"]), match[0])
    for match in _FOR_RATE.finditer(text):
        add(
            "$",
            _unit(match["m"], match["b"]),
            _written_amount(match["n"]),
            _written_amount(match["m"]),
            match[0],
        )
    return rates


def output_proportions(text: str) -> list[Proportion]:
    """The proportions an output states (see the module docstring for what counts as one)."""
    found: list[Proportion] = []
    for match in _PROPORTION.finditer(text):
        if _JOINED.search(text, max(0, match.start() - 12), match.start()):
            continue  # "1 pound of meat and 1 pound of cheese is $10": part of a sum
        n = _written_amount(match["n"])
        arithmetic = match["arith"]
        if arithmetic is not None:
            operands = [_written_amount(o) for o in _OPERAND.findall(arithmetic)]
            if re.search(r"[+\-]", arithmetic) or n not in operands:
                continue  # only a product or quotient that starts from N keeps the proportion
        a, b = _unit(match["n"], match["a"]), _unit(match["m"], match["b"])
        m = _written_amount(match["m"])
        if a is None or b is None or a == b or n == 0:
            continue
        found.append(Proportion((b, a), round(m / n, 6), match.start(), match.end(), *match.span("m")))
    return found


def conflict(rates: Rates, proportion: Proportion) -> str | None:
    """The context's phrases when it gives rates between the proportion's units and none of them
    is the proportion's; None when it gives none or the proportion is one of them."""
    b, a = proportion.units
    stated = rates.get((b, a))
    if stated is not None:
        if any(math.isclose(proportion.ratio, ratio, rel_tol=1e-6) for ratio in stated):
            return None
        phrases = list(stated.values())
    elif (inverse := rates.get((a, b))) is not None and proportion.ratio:
        if any(math.isclose(1 / proportion.ratio, ratio, rel_tol=1e-6) for ratio in inverse):
            return None
        phrases = list(inverse.values())
    else:
        return None
    return " and ".join(repr(phrase) for phrase in phrases[:3])
