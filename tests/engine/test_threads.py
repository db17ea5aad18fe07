"""How many torch threads the transformers backend takes: its cores, less what others keep busy."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pytest_llmeval.engine.threads import cpu_threads

CORES = len(os.sched_getaffinity(0))


def counts(*values: int | None) -> Iterator[int | None]:
    return iter(values)


@pytest.fixture(autouse=True)
def _no_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)


def test_a_quiet_machine_gets_every_core() -> None:
    samples = counts(1, 1, 2, 1, 1)  # this process, once with a passing other one
    assert cpu_threads(lambda: next(samples)) == CORES


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores")
def test_a_busy_process_beside_takes_its_core() -> None:
    samples = counts(2, 3, 2, 2, 2)
    assert cpu_threads(lambda: next(samples)) == CORES - 1
    crowded = counts(9, 9, 9, 9, 9)
    assert cpu_threads(lambda: next(crowded)) == 1  # never fewer than one


def test_xdist_workers_share_the_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    samples = counts(3, 3, 3, 3, 3)  # the workers themselves are the busy processes
    assert cpu_threads(lambda: next(samples)) == max(1, CORES // 2)


def test_without_a_reading_the_share_stands() -> None:
    assert cpu_threads(lambda: None) == CORES


def test_the_real_reading_is_a_sane_number() -> None:
    assert 1 <= cpu_threads() <= CORES
