"""Unit conversions an output shows: "2 hours is 120 minutes", "3 feet = 36 inches", "$2 = 200 cents".

A conversion is arithmetic with a factor the reader knows, so a number it gives is as supported as
one that "2 * 60 = 120" gives. Only units whose sizes are fixed are listed: a month or a year has
no single number of days.
"""

from __future__ import annotations

from .arithmetic import _Equation
from .lexing import _Lexeme

# Each unit's size in the smallest unit of its kind; plurals are added below.
_KINDS: dict[str, dict[str, float]] = {
    "time": {"second": 1, "minute": 60, "hour": 3600, "day": 86_400, "week": 604_800},
    "length": {"inch": 1, "foot": 12, "feet": 12, "yard": 36, "mile": 63_360},
    "metric length": {"millimeter": 1, "centimeter": 10, "meter": 1000, "kilometer": 1_000_000},
    "mass": {"ounce": 1, "pound": 16},
    "metric mass": {"gram": 1, "kilogram": 1000},
    "volume": {"cup": 1, "pint": 2, "quart": 4, "gallon": 16},
    "metric volume": {"milliliter": 1, "liter": 1000},
    "money": {"cent": 1, "dollar": 100},
}
_SIZES: dict[str, tuple[str, float]] = {
    form: (kind, size)
    for kind, units in _KINDS.items()
    for name, size in units.items()
    for form in (name, "feet" if name == "foot" else name + ("es" if name.endswith("ch") else "s"))
}


def _unit_of(lex: _Lexeme) -> str | None:
    """The unit a word lexeme starts with ("minutes" of "minutes left"), if it is one."""
    if lex.kind != "word":
        return None
    first = lex.low.split(" ", 1)[0]
    return first if first in _SIZES else None


def _conversion(lexemes: list[_Lexeme], sign: int, text: str) -> _Equation | None:
    """The conversion around ``lexemes[sign]`` (``=`` or "is"), "N unit is M unit" or "$N = M cents",
    as an equation whose one operand is N; None when the words around the sign are not one."""
    if sign < 1 or sign + 2 >= len(lexemes):
        return None
    before = lexemes[sign - 1]
    if before.kind == "num" and before.text.startswith("$"):
        number, unit = before, "dollar"
    elif sign >= 2 and lexemes[sign - 2].kind == "num" and not lexemes[sign - 2].text.startswith("$"):
        number, unit = lexemes[sign - 2], _unit_of(before) or ""
    else:
        return None
    result, result_unit = lexemes[sign + 1], lexemes[sign + 2]
    target = _unit_of(result_unit)
    claim = lexemes[sign].claim
    if not unit or target is None or result.kind != "num" or result.text.startswith("$"):
        return None
    if any(lex.claim != claim for lex in (number, result, result_unit)) or number.percent or result.percent:
        return None
    (kind, size), (target_kind, target_size) = _SIZES[unit], _SIZES[target]
    if kind != target_kind or size == target_size:
        return None
    computed = number.value * size / target_size
    return _Equation([number], result, text[number.start : result_unit.end], computed)


def _restated_conversion(lexemes: list[_Lexeme], index: int, text: str) -> _Equation | None:
    """ "270 minutes, or 4.5 hours", "48 ounces (3 pounds)": the number at ``index`` with a unit
    after it converts, exactly, a number with another unit of its kind a few lexemes before it in
    its claim; that conversion as an equation, or None. Only an exact conversion counts, so a
    number that merely sits near another is never taken for one."""
    result = lexemes[index]
    if index + 1 >= len(lexemes) or result.percent or (target := _unit_of(lexemes[index + 1])) is None:
        return None
    target_kind, target_size = _SIZES[target]
    for back in range(index - 2, max(-1, index - 8), -1):
        number = lexemes[back]
        if number.claim != result.claim:
            return None
        if number.kind != "num" or number.percent or (unit := _unit_of(lexemes[back + 1])) is None:
            continue
        kind, size = _SIZES[unit]
        if kind == target_kind and size != target_size:
            end = lexemes[index + 1].end
            conversion = _Equation(
                [number], result, text[number.start : end], number.value * size / target_size
            )
            if conversion.check():
                return conversion
    return None
