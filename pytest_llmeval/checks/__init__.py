"""Checks: pure functions from a model output to a CheckResult that says why it passed or failed."""

from __future__ import annotations

from .result import CheckResult
from .text import contains, equals, matches, not_contains

__all__ = ["CheckResult", "contains", "equals", "matches", "not_contains"]
