"""Give each pytest-xdist worker its own GPUs, so N workers run N model copies side by side."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from pathlib import Path


class GPUAssignmentError(ValueError):
    """The workers ask for more GPUs than the machine shows."""


def worker_gpus(worker_id: str, per_worker: int, visible: list[str]) -> list[str]:
    """The GPUs of worker ``gwK``: the K-th run of ``per_worker`` entries in ``visible``.

    ``visible`` lists the GPUs this process may use (the ids in an inherited CUDA_VISIBLE_DEVICES,
    or 0..n-1), so pinning composes with a scheduler that already restricted the job.
    """
    match = re.fullmatch(r"gw(\d+)", worker_id)
    if match is None:
        raise GPUAssignmentError(f"not a pytest-xdist worker id: {worker_id!r}")
    first = int(match.group(1)) * per_worker
    if first + per_worker > len(visible):
        raise GPUAssignmentError(
            f"worker {worker_id} needs GPUs {first}..{first + per_worker - 1} ({per_worker} per worker) "
            f"but only {len(visible)} are visible ({','.join(visible) or 'none'}): use fewer workers (-n)"
        )
    return visible[first : first + per_worker]


def visible_gpus(environ: Mapping[str, str], dev: Path = Path("/dev")) -> list[str]:
    """GPU ids this process may use: CUDA_VISIBLE_DEVICES if set, else one per /dev/nvidiaN file.

    Counting device files avoids importing torch (and initialising CUDA) in every worker.
    """
    if (inherited := environ.get("CUDA_VISIBLE_DEVICES")) is not None:
        return [gpu.strip() for gpu in inherited.split(",") if gpu.strip()]
    count = sum(1 for p in dev.glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name))
    return [str(i) for i in range(count)]


def pin_worker(
    per_worker: int | None, planned_workers: int = 0, environ: MutableMapping[str, str] | None = None
) -> str | None:
    """In an xdist worker, set CUDA_VISIBLE_DEVICES to its GPUs and return them.

    In the controller, which knows how many workers it will start, check that the last one
    would get its GPUs, so a bad ``-n`` fails once, before any worker starts.
    """
    env: MutableMapping[str, str] = os.environ if environ is None else environ
    if per_worker is None:
        return None
    worker_id = env.get("PYTEST_XDIST_WORKER")
    if worker_id is None:
        if planned_workers:
            worker_gpus(f"gw{planned_workers - 1}", per_worker, visible_gpus(env))
        return None
    gpus = ",".join(worker_gpus(worker_id, per_worker, visible_gpus(env)))
    env["CUDA_VISIBLE_DEVICES"] = gpus
    return gpus
