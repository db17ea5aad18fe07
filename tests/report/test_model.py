"""The report model: a lossless JSON round trip, standard JSON, and clear errors for bad files."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.baselines.stats import Comparison, Decision, compare_pass_fail, compare_scores, gate
from pytest_llmeval.report import (
    SCHEMA_VERSION,
    CaseReport,
    ReportError,
    RunReport,
    SuiteReport,
    load_report,
)
from pytest_llmeval.report.model import parse_report

from .factory import Run


def suite_report(**fields: object) -> SuiteReport:
    values: dict[str, object] = {
        "name": "s",
        "passed": 1,
        "total": 1,
        "pass_rate": 1.0,
        "pass_rate_interval": (0.2, 1.0),
    }
    return SuiteReport.model_validate(values | fields)


def test_round_trip_through_a_file_is_lossless(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(run.report.to_json(), encoding="utf-8")
    assert load_report(path) == run.report
    assert load_report(str(path)).schema_version == SCHEMA_VERSION == 1


def test_non_finite_numbers_are_standard_json_strings(tmp_path: Path) -> None:
    # No paired case: the values are NaN and no drop is detectable (infinite).
    empty = compare_pass_fail("s", {"a": True}, {"b": True})
    assert math.isnan(empty.delta) and math.isinf(empty.detectable_drop)
    report = RunReport(created="t", suites=(suite_report(comparisons=(empty,)),))

    def no_constants(name: str) -> None:
        raise AssertionError(f"bare {name} in the JSON")

    data = json.loads(report.to_json(), parse_constant=no_constants)
    comparison = data["suites"][0]["comparisons"][0]
    assert comparison["delta"] == "NaN" and comparison["detectable_drop"] == "Infinity"
    path = tmp_path / "r.json"
    path.write_text(report.to_json(), encoding="utf-8")
    back = load_report(path).suites[0].comparisons[0]
    assert math.isnan(back.delta) and back.detectable_drop == math.inf


def test_a_comparison_is_rebuilt_exactly_and_prints_the_terminal_lines() -> None:
    passes = compare_pass_fail("s", {f"c{i}": True for i in range(30)}, {f"c{i}": i >= 6 for i in range(30)})
    scores = compare_scores("s", {"a": 0.5, "b": 0.7, "c": 0.9}, {"a": 0.4, "b": 0.7, "c": 0.8}, metric="f1")
    sampled = compare_pass_fail("s", {"a": (True, False), "b": True}, {"a": (False, False), "b": True})
    report = RunReport(created="t", suites=(suite_report(comparisons=gate([passes, scores, sampled])),))
    back = parse_report(report.to_json())
    for stored, comparison in zip(back.suites[0].comparisons, report.suites[0].comparisons, strict=True):
        assert stored == comparison
        assert stored.summary_line() == comparison.summary_line()
        assert stored.detail_line() == comparison.detail_line()


def test_flipped_means_passed_in_the_baseline_and_not_now() -> None:
    def case(passed: bool, baseline: bool | None) -> CaseReport:
        return CaseReport(id="c", passed=passed, baseline_passed=baseline)

    assert case(False, True).flipped
    assert not case(True, True).flipped
    assert not case(False, False).flipped
    assert not case(False, None).flipped  # no baseline entry: nothing to flip from


def test_flipped_ids_join_the_gate_and_the_stored_baseline(run: Run) -> None:
    support = run.report.suites[0]
    main = support.main_comparison()
    assert main is not None
    assert set(main.flips_to_fail) <= support.flipped_ids()
    assert support.flipped_ids() == {c.id for c in support.cases if c.flipped}
    # Without the stored baseline the gate's flips still count.
    bare = support.model_copy(update={"cases": ()})
    assert bare.flipped_ids() == set(main.flips_to_fail)


def test_verdicts(run: Run) -> None:
    support, math_suite = run.report.suites
    assert support.verdict == "REGRESSED"
    assert math_suite.verdict == "NOT COMPARED"  # recorded in this run: nothing to compare with
    assert run.report.failed

    def comparison(decision: Decision) -> Comparison:
        return dataclasses.replace(compare_pass_fail("s", {"a": True}, {"a": True}), decision=decision)

    assert suite_report(comparisons=(comparison(Decision.WARNING),)).verdict == "WARNING"
    assert suite_report(comparisons=(comparison(Decision.IMPROVED),)).verdict == "IMPROVED"
    assert suite_report(warnings=("generation settings changed",)).verdict == "WARNING"
    assert suite_report(not_compared="no paired cases").verdict == "NOT COMPARED"
    assert suite_report(threshold_failures=("pass rate 0.5 is below 0.8",)).verdict == "FAILED"
    assert suite_report(metric_errors=("metric bleu: no references",)).verdict == "FAILED"
    erred = CaseReport(id="boom", passed=False, error=True)
    assert suite_report(cases=(erred,)).problems() == ["1 case(s) raised an error: boom"]
    assert suite_report().verdict == "OK"


def test_a_critical_flip_is_one_problem_not_two(run: Run) -> None:
    problems = run.report.suites[0].problems()
    assert sum("refund-policy" in p for p in problems) == 1
    critical = CaseReport(id="must", passed=False, critical=True)
    assert suite_report(cases=(critical,)).problems() == ["1 critical case(s) failed: must"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ("[1, 2]", "is malformed: expected a JSON object, got list"),
        ('{"schema_version": 1}', "is malformed at created: Field required"),
        (
            '{"schema_version": 1, "created": "t", "suites": [{"name": "s"}]}',
            "is malformed at suites.0.passed: Field required",
        ),
        ('{"schema_version": 1, "created": "t", "surprise": 1}', "is malformed at surprise: Extra inputs"),
        ('{"schema_version": 2, "created": "t", "new": []}', "has schema version 2, newer than"),
    ],
    ids=["json", "not-object", "missing-field", "nested", "extra-field", "newer"],
)
def test_unusable_report_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ReportError) as caught:
        load_report(path)
    assert str(caught.value).startswith(f"report {path} ")
    assert message in str(caught.value)


def test_missing_or_undecodable_file(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"report .*nope\.json cannot be read"):
        load_report(tmp_path / "nope.json")
    (tmp_path / "latin.json").write_bytes(b'{"created": "\xe9"}')
    with pytest.raises(ReportError, match=r"latin\.json cannot be read"):
        load_report(tmp_path / "latin.json")


def test_the_report_package_does_not_import_pytest() -> None:
    code = "import json, sys, pytest_llmeval.report; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = json.loads(run.stdout)
    assert "pytest" not in modules and "_pytest" not in modules


def test_under_strict_a_failed_case_fails_the_report_as_it_failed_the_run() -> None:
    """--llmeval-strict fails pytest on any failed check; the reports once said "run passed"."""
    failed = CaseReport(id="c9", passed=False)
    lax = suite_report(passed=0, cases=(failed,))
    strict = suite_report(passed=0, cases=(failed,), strict=True)
    assert lax.problems() == [] and lax.verdict == "OK"
    assert strict.problems() == ["1 case(s) failed (--llmeval-strict): c9"] and strict.verdict == "FAILED"
    assert RunReport(created="x", suites=(strict,)).failed


def test_a_critical_flip_is_regressed_in_the_report_as_in_the_gate() -> None:
    baseline = {f"c{i:02d}": True for i in range(50)}
    current = dict(baseline, c00=False)
    comparison = compare_pass_fail("s", baseline, current, critical={"c00"})
    assert comparison.decision is not Decision.REGRESSED and comparison.critical_flips == ("c00",)
    report = suite_report(comparisons=(comparison,), failures=("critical case(s) flipped pass->fail: c00",))
    assert report.verdict == "REGRESSED"


def test_a_report_with_a_non_finite_score_is_malformed(tmp_path: Path) -> None:
    """A hand-made report with NaN scores once made `compare` crash with a traceback and exit 1."""
    data = json.loads(
        RunReport(created="x", suites=(suite_report(cases=(CaseReport(id="c", passed=True),)),)).to_json()
    )
    data["suites"][0]["cases"][0]["scores"] = {"s": "NaN"}
    with pytest.raises(ReportError, match=r"is malformed at suites\.0\.cases\.0\.scores\.s"):
        parse_report(json.dumps(data))
