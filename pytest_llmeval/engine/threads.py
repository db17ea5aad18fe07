"""How many torch threads a CPU engine should run."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def cpu_threads(running: Callable[[], int | None] | None = None, samples: int = 5) -> int:
    """The torch threads this process should run: the cores it may use, shared among xdist
    workers, less the cores other processes keep busy as the engine starts.

    torch takes every core by default, and its threads wait for each other at every operation.
    When another CPU-bound process shares the cores, one thread keeps losing its core and the
    others wait for it: measured here (bench/bench_threads.py, 2 cores, SmolLM2), a suite took
    1.95x its quiet time beside one busy process with 2 threads and 1.21x with 1 thread, while
    1 thread on a quiet machine cost 1.11x. ``running`` counts the runnable processes of the
    machine, this one included (default: /proc/loadavg); the fewest of a few samples is used, so
    a passing process does not count.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    share = max(1, cores // workers)
    if workers > 1:  # xdist workers are each other's busy processes: the share already says so
        return share
    read = running or _running_processes
    counts: list[int] = []
    for sample in range(samples):
        if sample and running is None:
            time.sleep(0.01)  # samples apart in time, so one passing process is not counted
        if (count := read()) is not None:
            counts.append(count)
    if not counts:
        return share
    others = max(0, min(counts) - 1)
    return max(1, min(share, cores - others))


def _running_processes() -> int | None:
    """Runnable tasks on the machine now (the 4th field of /proc/loadavg, "running/total")."""
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            running = int(handle.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None
    return running
