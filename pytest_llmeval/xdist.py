"""Everything the plugin knows of pytest-xdist, in one place.

Public xdist API only, except :func:`queued_behind` (see there): ``config.workerinput`` marks a
worker, the ``--tx``/``--dist`` options say what the controller will start, and
``pytest_xdist_make_scheduler`` picks the scheduler. A worker's records reach the controller as
plain attributes of its test reports, which xdist serialises like any report attribute.
xdist itself is imported only when it schedules a run.
"""

from __future__ import annotations

from typing import Any

import pytest


def is_worker(config: pytest.Config) -> bool:
    """Whether this process is an xdist worker (xdist's own ``is_xdist_worker`` test)."""
    return hasattr(config, "workerinput")


def planned_workers(config: pytest.Config) -> int:
    """How many workers the controller will start: xdist has already turned -n into one --tx
    entry per worker when pytest_configure runs. 0 without xdist, and in a worker."""
    return len(config.getoption("tx", None) or [])


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Use work stealing where the user left xdist's default (``-n N`` means ``--dist load``).

    ``load`` hands tests out a few at a time, so a worker could only batch a handful of cases;
    ``worksteal`` gives each worker an equal contiguous block up front (whole suites stay
    together, and each worker pre-generates its block in one batch) and still rebalances by
    stealing from busy workers.
    """
    if config.getoption("dist", None) != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


def queued_behind(item: pytest.Item) -> list[pytest.Item]:
    """On a worker: the items the controller has queued for this worker behind ``item``.

    xdist has no public way to see this: the hooks give a worker its current and next item
    only, and the controller cannot send a worker anything of its own once the run started.
    So this reads the worker's queue of test indices (``WorkerInteractor.torun``, a
    ``TestQueue`` of ints, read under its lock as xdist itself does). If a later xdist
    changes it, the list is empty and each case is simply answered on its own.
    """
    interactor = next(
        (p for p in item.config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"), None
    )
    torun = getattr(interactor, "torun", None)
    items = item.session.items
    if torun is None or not items:
        return []
    with torun.lock() as indices:
        return [items[i] for i in indices if isinstance(i, int)]
