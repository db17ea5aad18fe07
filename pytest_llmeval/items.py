"""Which collected items are suite cases, and how a case's outcome becomes its test report."""

from __future__ import annotations

import pytest

from .cases import Case
from .engine.types import EngineError
from .engine_pool import EnginePool
from .sides import MODEL
from .suite import ActiveCase, SuiteError, SuiteSpec, decide

case_key = pytest.StashKey[tuple[SuiteSpec, Case]]()
side_key = pytest.StashKey[str]()
active_key = pytest.StashKey[ActiveCase]()
prefetched_key = pytest.StashKey[bool]()


usage_error_key = pytest.StashKey[str]()


def mark_suite_items(items: list[pytest.Item], *, on_worker: bool = False) -> None:
    """Stash the suite and case of every item of an eval suite; a malformed suite is a usage error.

    An xdist worker cannot stop the run with one: the worker would crash and its message be
    lost (INTERNALERROR). There every suite item fails with it instead (``fail_unusable``)."""
    try:
        _mark_suite_items(items)
    except pytest.UsageError as exc:
        if not on_worker:
            raise
        for item in items:
            if item.get_closest_marker("llmeval") is not None:
                item.stash[usage_error_key] = str(exc)


def fail_unusable(item: pytest.Item) -> None:
    if usage_error_key in item.stash:
        pytest.fail(f"llmeval: {item.stash[usage_error_key]}", pytrace=False)


def _mark_suite_items(items: list[pytest.Item]) -> None:
    owners: dict[str, str] = {}
    case_items: dict[tuple[str, str, str], str] = {}  # (suite, side, case id) -> node id
    for item in items:
        marker = item.get_closest_marker("llmeval")
        if marker is None or not isinstance(item, pytest.Function):
            continue
        params = getattr(item, "callspec", None)
        cases = [v for v in (params.params.values() if params else ()) if isinstance(v, Case)]
        if len(cases) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.llmeval marks an eval suite, which needs the test "
                "parametrized over Case objects: @pytest.mark.parametrize('case', load_cases(...), ids=str)"
            )
        try:
            spec = SuiteSpec.from_marker(item.originalname.removeprefix("test_"), marker.kwargs)
        except SuiteError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        owner = f"{item.path}::{item.originalname}"
        if owners.setdefault(spec.name, owner) != owner:
            raise pytest.UsageError(
                f"two eval suites are named {spec.name!r} ({owners[spec.name]} and {owner}): "
                "give one a name with @pytest.mark.llmeval(name=...)"
            )
        side = str(params.params.get("_llmeval_side", MODEL)) if params else MODEL
        first = case_items.setdefault((spec.name, side, cases[0].id), item.nodeid)
        if first != item.nodeid:
            raise pytest.UsageError(
                f"suite {spec.name!r} has two cases with the id {cases[0].id!r} ({first} and {item.nodeid}): "
                "a baseline keeps one entry per id, so give each case its own id"
            )
        item.stash[case_key] = (spec, cases[0])
        item.stash[side_key] = side


def suite_cases(items: list[pytest.Item], side: str) -> list[tuple[SuiteSpec, Case]]:
    """The suite cases among ``items`` that run on ``side``, in order."""
    return [item.stash[case_key] for item in items if item.stash.get(side_key, None) == side]


def start_case(item: pytest.Item) -> ActiveCase:
    """The case ``item`` is about to run, remembered for its report."""
    spec, case = item.stash[case_key]
    active = item.stash[active_key] = ActiveCase(spec, case, side=item.stash[side_key])
    return active


def decide_report(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, pool: EnginePool
) -> None:
    """Turn a suite case's outcome into its report: passed, failed or xfailed by the suite's
    rules, with the case's record attached for the run's summary and gate."""
    if call.when == "call" and call.excinfo is not None and isinstance(call.excinfo.value, EngineError):
        # The engine or server failed this request: the cause in one line, not a traceback
        # through the plugin (the request's text and the server's answer are in the message).
        report.longrepr = f"llmeval: {type(call.excinfo.value).__name__}: {call.excinfo.value}"
    if call.when != "call" or active_key not in item.stash:
        return
    active = item.stash[active_key]
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, pytest.skip.Exception):
        return  # pytest.skip() inside the test: the case did not run, as with a skip mark
    if isinstance(error, pytest.fail.Exception):
        # pytest.fail() and pytest.xfail() say the case failed, on purpose: a failed check
        # with the test's message, not a bug in the test (which would block the baseline).
        kind = "xfail" if isinstance(error, pytest.xfail.Exception) else "fail"
        error = AssertionError(f"pytest.{kind}(): {error.msg}" if error.msg else f"pytest.{kind}()")
    record, verdict = decide(active, error, strict=pool.settings.strict, duration=call.duration)
    if verdict.outcome == "xfailed":
        report.outcome = "skipped"
        report.wasxfail = verdict.reason
    elif verdict.outcome == "failed" and error is None:
        report.outcome = "failed"
        report.longrepr = verdict.reason
    # Plain JSON-able attributes: xdist copies them from the worker's report to the controller's.
    report.llmeval_record = record.to_json()  # type: ignore[attr-defined]
    report.llmeval_suite = active.suite.to_json()  # type: ignore[attr-defined]
    report.llmeval_engine = pool.engine_info(pool.side_settings(active.side))  # type: ignore[attr-defined]
