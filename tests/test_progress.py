"""Pre-generation progress: one rewritten line in a terminal, a line per interval in a log."""

from __future__ import annotations

import time

import pytest

from pytest_llmeval.progress import PrefetchProgress, log_interval


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_line_says_cases_done_tokens_per_second_and_eta() -> None:
    clock = Clock()
    progress = PrefetchProgress(lambda text: None, 200, terminal=True, clock=clock)
    assert progress.line() == "llmeval: pre-generating 0/200 cases, 0 s"
    clock.now += 20
    progress.advance(50, 1000)
    assert progress.line() == "llmeval: pre-generating 50/200 cases, 20 s, 50.0 tokens/s, ETA 60 s"
    progress.advance(150, 0)
    assert progress.line() == "llmeval: pre-generating 200/200 cases, 20 s, 50.0 tokens/s"


def test_a_terminal_gets_one_line_rewritten_and_cleared() -> None:
    written: list[str] = []
    with PrefetchProgress(written.append, 3, terminal=True, interval=0.01) as progress:
        progress.advance(1, 0)
        progress.advance(2, 0)
        time.sleep(0.05)  # no thread writes whole lines in a terminal
    assert all(w.startswith("\r") and "\n" not in w for w in written)
    assert written[0].startswith("\rllmeval: pre-generating 1/3 cases")
    assert written[-1].strip() == ""  # the last write blanks the line for the summary


def test_a_log_gets_whole_lines_while_a_chunk_is_still_running() -> None:
    written: list[str] = []
    with PrefetchProgress(written.append, 10, terminal=False, interval=0.02) as progress:
        time.sleep(0.15)  # one long chunk: nothing advanced, yet lines keep coming
        progress.advance(10, 30)
    assert len(written) >= 3
    assert all(w.endswith("\n") and "\r" not in w for w in written)
    assert written[0].startswith("llmeval: pre-generating 0/10 cases")


def test_the_interval_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert log_interval() == 15.0
    monkeypatch.setenv("LLMEVAL_PROGRESS_INTERVAL", "2.5")
    assert log_interval() == 2.5
    monkeypatch.setenv("LLMEVAL_PROGRESS_INTERVAL", "soon")
    assert log_interval() == 15.0
