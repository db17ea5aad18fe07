"""JSON inside a model's prose: every value an output offers (the whole output, a fenced block, or a
span in surrounding text), best first, and why the ones that look like JSON do not parse."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import NamedTuple

from .fences import fences

__all__ = ["Failure", "Parsed", "answers", "json_candidates"]

_MAX_FENCES = 1000
_MAX_CANDIDATES = 1000
_MAX_STRAY_OPENERS = 16
# The ``info`` words of fenced blocks that may hold JSON.
_JSON_FENCES = ("", "json", "json5", "jsonc", "javascript", "js")


class Parsed(NamedTuple):
    """A JSON value found in the text, the span it was read from, where (" in a ```json block"),
    and how it was offered: 0 the whole text, 1 a fenced block, 2 a span in prose."""

    value: object
    span: str
    where: str
    tier: int = 0


def answers(parsed: list[Parsed]) -> list[Parsed]:
    """The values that are the answer: those of the best way the text offers JSON (the whole text,
    else its fenced blocks, else spans in prose), in order. An example object in the prose
    around a fenced answer is no answer: checking every value and taking whichever passed let
    an example pass for an answer that did not."""
    best = min((p.tier for p in parsed), default=0)
    return [p for p in parsed if p.tier == best]


class Failure(NamedTuple):
    """A span that looks like JSON but does not parse, and the parser's error."""

    error: str
    span: str
    where: str


def _reject_constant(name: str) -> object:
    # Python's json accepts NaN and Infinity; no other JSON parser does, so neither does a check.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _loads(text: str) -> object:
    return _DECODER.decode(text)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno} column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    return str(exc)


_OPENER = re.compile(r"[\[{]")
_BRACKET_OR_QUOTE = re.compile(r'[\[\]{}"]')
# JSON strings cannot hold a raw newline, so one ends a runaway string opened by a stray quote.
_STRING_END = re.compile(r'["\\\n]')
_JSON_START = re.compile(r'\{\s*["}]|\[\s*(?:[\[{"\]\-0-9]|true|false|null)')


def _bracket_spans(text: str) -> Iterator[tuple[int, int, bool]]:
    """Outermost ``{...}`` / ``[...]`` spans as (start, end, closed), skipping brackets inside strings.

    Linear: each character is scanned once, except after an opener that never closes and does not
    look like JSON (a stray "[" in prose), where scanning restarts a bounded number of times.
    """
    pos, stray = 0, 0
    while (opener := _OPENER.search(text, pos)) is not None:
        start, depth, i, in_string, closed = opener.start(), 0, opener.start(), False, False
        while True:
            if in_string:
                found = _STRING_END.search(text, i)
                if found is None:
                    break
                i = found.end() + 1 if found.group() == "\\" else found.end()
                in_string = found.group() == "\\"
                continue
            found = _BRACKET_OR_QUOTE.search(text, i)
            if found is None:
                break
            i, char = found.end(), found.group()
            if char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    closed = True
                    break
        if closed:
            yield start, i, True
            pos = i
        elif _JSON_START.match(text, start) or stray >= _MAX_STRAY_OPENERS:
            yield start, len(text), False
            return
        else:
            stray += 1
            pos = start + 1


def json_candidates(text: str) -> tuple[list[Parsed], list[Failure]]:
    """Every JSON value the text offers, best first: the whole text, fenced blocks, then spans in prose
    in the order they come; and the spans that look like JSON but do not parse, the most telling
    first. :func:`answers` picks those of the best kind.

    A list of numbers only in prose ("[1]") is left out. NaN and Infinity are not JSON here, as for
    every parser but Python's.
    """
    parsed: list[Parsed] = []
    failed: list[Failure] = []
    stripped = text.strip()
    if stripped:
        try:
            return [Parsed(_loads(stripped), stripped, "")], []
        except (ValueError, RecursionError) as exc:
            if _JSON_START.match(stripped):
                failed.append(Failure(_error_text(exc), stripped, ""))
    for fence in fences(text, limit=_MAX_FENCES):
        if fence.info not in _JSON_FENCES or not fence.body.strip():
            continue
        where = f" in a ```{fence.info} block" + ("" if fence.closed else " that is never closed")
        try:
            parsed.append(Parsed(_loads(fence.body), fence.body.strip(), where, 1))
        except (ValueError, RecursionError) as exc:
            failed.insert(0, Failure(_error_text(exc), fence.body.strip(), where))
    in_prose: list[Parsed] = []
    for count, (start, end, closed) in enumerate(_bracket_spans(text)):
        if count >= _MAX_CANDIDATES:
            break
        span = text[start:end]
        where = f" at char {start}"
        try:
            value = _loads(span)
        except (ValueError, RecursionError) as exc:
            if _JSON_START.match(span):
                error = _error_text(exc) if closed else f"it is cut off ({_error_text(exc)})"
                failed.append(Failure(error, span, where))
            continue
        if not _numbers_only(value):
            in_prose.append(Parsed(value, span, where, 2))
    return parsed + in_prose, failed


def _numbers_only(value: object) -> bool:
    """A list of numbers in prose ("see [1]", "the interval [0, 1]") reads as a citation or a range,
    not as a JSON answer; it counts only as the whole output or in a fenced block."""
    return isinstance(value, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
