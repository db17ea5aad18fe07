"""Progress of pre-generation, for a terminal and for logs.

In a terminal one line is rewritten in place after every chunk of cases. Where output is not a
terminal (CI logs, ``| tee``) a carriage return would pile up, so a background thread writes a
whole line at a fixed interval instead, however long a single chunk takes: a log never goes
silent for longer than that while the model works.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

LOG_INTERVAL = 15.0  # seconds between lines in a log; LLMEVAL_PROGRESS_INTERVAL overrides it


def log_interval() -> float:
    """The seconds between progress lines in a log: LLMEVAL_PROGRESS_INTERVAL, else 15."""
    try:
        seconds = float(os.environ.get("LLMEVAL_PROGRESS_INTERVAL", LOG_INTERVAL))
    except ValueError:
        return LOG_INTERVAL
    return seconds if seconds > 0 else LOG_INTERVAL


class PrefetchProgress:
    """Counts finished cases and generated tokens, and says so: cases done of all, tokens/s, ETA."""

    def __init__(
        self,
        write: Callable[[str], None],
        total: int,
        *,
        terminal: bool,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write
        self._total = total
        self._terminal = terminal
        self._interval = log_interval() if interval is None else interval
        self._clock = clock
        self._started = clock()
        self._done = 0
        self._tokens = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._shown = 0  # length of the line on the terminal now

    def __enter__(self) -> PrefetchProgress:
        if not self._terminal:
            self._thread = threading.Thread(target=self._log, name="llmeval-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._terminal and self._shown:
            self._write("\r" + " " * self._shown + "\r")  # the summary line takes its place

    def advance(self, cases: int, tokens: int) -> None:
        """``cases`` more cases are answered, with ``tokens`` newly generated tokens."""
        with self._lock:
            self._done += cases
            self._tokens += tokens
        if self._terminal:
            line = self.line()
            self._write("\r" + line.ljust(self._shown))
            self._shown = len(line)

    def line(self) -> str:
        with self._lock:
            done, tokens = self._done, self._tokens
        elapsed = max(self._clock() - self._started, 1e-9)
        text = f"llmeval: pre-generating {done}/{self._total} cases, {elapsed:.0f} s"
        if tokens:
            text += f", {tokens / elapsed:.1f} tokens/s"
        if 0 < done < self._total:
            text += f", ETA {elapsed / done * (self._total - done):.0f} s"
        return text

    def _log(self) -> None:
        while not self._stop.wait(self._interval):
            self._write(self.line() + "\n")
