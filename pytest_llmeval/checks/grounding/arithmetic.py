"""Arithmetic an output shows: the equations written in a text, and whether each one holds."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .lexing import _DETERMINERS, _EQ_WORDS, _Lexeme


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
            words, closes = 0, 0
            while (
                i >= 0
                and (lex := lexemes[i]).claim == claim
                and (
                    lex.kind in ("close", "joint")
                    or (lex.kind == "word" and words < 8 and lex.low not in _EQ_WORDS)
                    or (lex.kind == "open" and closes > 0)  # "13 (Carlton's team) + 7": a note
                    or (  # "16 - 3 - 4 eggs, which is 9": a relative clause, no new sentence
                        lex.text == ","
                        and steps == 1
                        and i + 1 < eq
                        and lexemes[i + 1].low in ("which", "that")
                        and i + 2 == eq
                    )
                    or (  # "divide 24 by 8, which gives us 3", "..., we get 3": a run of words
                        lex.text == "," and steps == 1 and i + 1 == eq and " " in lexemes[eq].low
                    )
                )
            ):
                words += lex.words if lex.kind == "word" else 0
                closes += (lex.kind == "close") - (lex.kind == "open")
                i -= 1
            if i < 0 or lexemes[i].claim != claim or lexemes[i].kind != "num":
                break
            i -= 1
            opened = False
            while i >= 0 and lexemes[i].claim == claim and lexemes[i].kind == "open":
                opened = True
                i -= 1
            # "2(60)" and "27(1/3)": a number or ")" right before "(" multiplies; with a space
            # between, "$18 (16 - 3 - 4 = 9)" is a note on the number.
            want_operand = (
                opened
                and i >= 0
                and lexemes[i].claim == claim
                and lexemes[i].kind in ("num", "close")
                and lexemes[i].end == lexemes[i + 1].start
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
            end = position + 1
            while end <= last and span[end].kind == "word":
                end += 1
            if end > position + 1 and end <= last and span[end].kind == "close":
                skip = end - position  # "13 (Carlton's team) + 7": a note in words, not a factor
                continue
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


def _derivation_in_parentheses(lexemes: list[_Lexeme], open_at: int) -> tuple[_Lexeme, list[_Lexeme]] | None:
    """The number a parenthesis after it derives, and the arithmetic inside, or None.

    "She has 9 eggs left (16 - 3 - 4)" shows how 9 comes about as surely as "16 - 3 - 4 = 9". The
    number may be followed by up to eight words before "("; the parenthesis must hold arithmetic
    only (numbers, operators, unit words, nested parentheses, no "="), with two numbers at least.
    Whether the arithmetic gives the number is the caller's to check."""
    claim = lexemes[open_at].claim
    before, words = open_at - 1, 0
    while (
        before >= 0
        and (lex := lexemes[before]).claim == claim
        and lex.kind == "word"
        and words < 8
        and lex.low not in _EQ_WORDS
    ):
        words += lex.words
        before -= 1
    if before < 0 or lexemes[before].kind != "num" or lexemes[before].claim != claim:
        return None
    end, depth = open_at + 1, 1
    while end < len(lexemes) and end - open_at < 60:
        lex = lexemes[end]
        if lex.claim != claim or lex.kind not in ("num", "op", "open", "close", "word"):
            return None
        depth += (lex.kind == "open") - (lex.kind == "close")
        if depth > 3:
            return None  # no derivation nests that deep; stopping here keeps "9 (9 (9 (..." cheap
        if depth == 0:
            span = lexemes[open_at + 1 : end]
            if sum(1 for x in span if x.kind == "num") < 2 or not _has_operator(span):
                return None
            return lexemes[before], span
        end += 1
    return None


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


def _arith(equation: _Equation) -> str:
    rhs_text = equation.rhs[0].text if equation.rhs else equation.result.text
    left = equation.text.rsplit(rhs_text, 1)[0].rstrip()
    for word in sorted(_EQ_WORDS, key=len, reverse=True):
        if left.casefold().endswith(" " + word):
            left = _RELATIVE.sub("", left[: -len(word)].rstrip())
            break
    else:
        left = _LINK_RUN.sub("", left)
    return " ".join(left.rstrip("=").split())


_RELATIVE = re.compile(r",\s*(?:which|that)$", re.IGNORECASE)  # "16 - 3 - 4 eggs, which is 9"
# The words of a link that gives a result, with what leads up to them: ", which gives us", " we get".
_LINK_RUN = re.compile(r",?(?:\s+[a-z']+)*?\s+(?:gives? us|get|results in)$", re.IGNORECASE)
