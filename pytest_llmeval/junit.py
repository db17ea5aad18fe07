"""What a run adds to pytest's JUnit XML (``--junitxml``): each suite's numbers as testsuite
properties, and each suite that fails the run as a failed testcase of its own.

Both must be added on the xdist controller, before junitxml writes its file in its own
``pytest_sessionfinish``: the run records call this from theirs, which runs first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pytest

from .report import RunReport


def wanted(config: pytest.Config) -> bool:
    """Whether this run writes JUnit XML (``--junitxml``)."""
    return bool(config.getoption("xmlpath", None))


def add_suite_properties(config: pytest.Config, report: RunReport) -> None:
    """Each suite's verdict, case count, pass rate and metrics as ``llmeval.<suite>.<name>``
    properties of the ``<testsuite>``."""
    record = _testsuite_property(config)
    if record is None:
        return
    for suite in report.suites:
        record(f"llmeval.{suite.name}.verdict", suite.verdict)
        record(f"llmeval.{suite.name}.cases", str(len(suite.cases)))
        record(f"llmeval.{suite.name}.pass_rate", f"{suite.pass_rate:.4f}")
        for metric in suite.metrics:
            record(f"llmeval.{suite.name}.{metric.name}", f"{metric.value:.4f}")


def add_gate_testcases(config: pytest.Config, problems: Mapping[str, Sequence[str]]) -> None:
    """Each suite that fails the run becomes a failed testcase ``llmeval.gate`` / suite name,
    so a CI dashboard that reads only JUnit sees the failure the exit status reports.

    Public API only: a :class:`pytest.TestReport` per phase, handed to the
    ``pytest_runtest_logreport`` hook as any test's report is (junitxml, and any other
    reporting plugin, takes it from there)."""
    for suite, reasons in problems.items():
        if not reasons:
            continue
        nodeid = f"llmeval.gate::{suite}"
        for when, outcome in (("call", "failed"), ("teardown", "passed")):
            report = pytest.TestReport(
                nodeid=nodeid,
                location=("llmeval.gate", None, suite),
                keywords={},
                outcome=outcome,  # type: ignore[arg-type]
                longrepr="\n".join(reasons) if outcome == "failed" else None,
                when=when,  # type: ignore[arg-type]
            )
            config.hook.pytest_runtest_logreport(report=report)


def _testsuite_property(config: pytest.Config) -> Callable[[str, object], None] | None:
    """What the ``record_testsuite_property`` fixture gives a test, for use outside any test.

    pytest documents testsuite properties only through that session fixture, and on the xdist
    controller, which writes the XML, no test runs and no fixture is ever set up (pytest issue
    #7767). The fixture returns ``config.stash[xml_key].add_global_property``; the same is done
    here. ``xml_key`` is the one private pytest name this package uses, and only here: should
    it move, the properties are left out and everything else still works."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:
        return None
    xml = config.stash.get(xml_key, None)
    return None if xml is None else xml.add_global_property
