"""What every check must do with bad, odd and huge inputs; each checks test file names its own
checks and texts and asserts with these."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from pytest_llmeval.checks.result import CheckInputError, CheckResult

Check = Callable[[Any], CheckResult]


def assert_rejects_none_and_reads_bytes(check: Check, output: bytes) -> None:
    with pytest.raises(CheckInputError, match="got None"):
        check(None)
    assert isinstance(check(output), CheckResult)


def assert_decides(check: Check, text: str, passes: bool) -> None:
    result = check(text)
    assert result.passed is passes, result.reason
    assert result.reason


def assert_fast(check: Check, outputs: Sequence[str]) -> None:
    # A loose bound that still catches quadratic work; the measured speeds are far lower.
    for output in outputs:
        start = time.perf_counter()
        check(output)
        assert time.perf_counter() - start < 3.0, output[:20]
