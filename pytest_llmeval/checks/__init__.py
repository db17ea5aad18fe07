"""Checks: pure functions from a model output to a CheckResult that says why it passed or failed."""

from __future__ import annotations

from .numbers import final_number, number
from .result import CheckInputError, CheckResult, text_of
from .text import contains, equals, matches, not_contains

__all__ = [
    "CheckInputError",
    "CheckResult",
    "contains",
    "equals",
    "final_number",
    "matches",
    "not_contains",
    "number",
    "text_of",
]
