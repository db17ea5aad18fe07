"""What a run leaves behind for people and CI: JSON and HTML reports, history, JUnit, step summary."""

from __future__ import annotations

import importlib.util
import xml.etree.ElementTree as ET

import pytest

from pytest_llmeval.report import load_report, read_history

SUITE = """
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"c{i}", prompt=f"question {i}", expected="yes", tags=("demo",)) for i in range(10)]
SAID = {"c8": "no", "c9": "<b>no</b>"}

@pytest.mark.llmeval()
@pytest.mark.parametrize("case", CASES, ids=str)
def test_answers(case):
    expect(SAID.get(case.id, "yes")).equals(case.expected)
"""


def test_json_and_html_reports_and_history(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--llmeval-report-json=out/run.json", "--llmeval-report-html=out/run.html"
    )
    assert result.ret == pytest.ExitCode.OK
    html = pytester.path / "out" / "run.html"
    result.stdout.fnmatch_lines(
        ["llmeval: JSON report written to out/run.json", f"llmeval: HTML report written to {html}"]
    )
    report = load_report(pytester.path / "out" / "run.json")
    [suite] = report.suites
    assert suite.name == "answers" and len(suite.cases) == 10 and suite.pass_rate == 0.8
    failed = {c.id: c for c in suite.cases if not c.passed}
    assert sorted(failed) == ["c8", "c9"] and failed["c9"].prompt == "question 9"
    assert failed["c9"].checks[0].name == "equals" and failed["c9"].tags == ("demo",)
    page = html.read_text()
    assert "&lt;b&gt;no&lt;/b&gt;" in page and "<b>no</b>" not in page
    # Each run appends one history record; a second run makes two.
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    history = read_history(pytester.path / ".llmeval" / "history.jsonl")
    assert len(history) == 2 and history[-1].suites["answers"].pass_rate == 0.8


def test_a_report_that_cannot_be_written_is_one_line_and_the_rest_is_kept(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    (pytester.path / "out" / "run.html").mkdir(parents=True)  # a folder where the file should go
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--llmeval-report-json=out/run.json", "--llmeval-report-html=out/run.html"
    )
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "answers  10 cases  pass 0.800 *",
            "llmeval: JSON report written to out/run.json",
            "llmeval: HTML report not written to out/run.html: Is a directory",
        ]
    )
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert load_report(pytester.path / "out" / "run.json").suites[0].pass_rate == 0.8
    assert len(read_history(pytester.path / ".llmeval" / "history.jsonl")) == 1


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_junit_xml_carries_each_suites_numbers(pytester: pytest.Pytester, workers: list[str]) -> None:
    pytester.makepyfile(test_suite=SUITE)
    verdicts = []
    for _ in range(2):  # the first run records the baseline, the second is compared with it
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *workers, "--junitxml=junit.xml")
        assert result.ret == pytest.ExitCode.OK
        root = ET.parse(pytester.path / "junit.xml").getroot()
        properties = {p.get("name"): p.get("value") for p in root.iter("property")}
        verdicts.append(properties["llmeval.answers.verdict"])
    assert verdicts == ["NOT COMPARED", "OK"]
    assert properties["llmeval.answers.cases"] == "10"
    assert properties["llmeval.answers.pass_rate"] == "0.8000"
    assert len(list(root.iter("testcase"))) == 10


def test_the_step_summary_is_written_only_when_github_asks(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_suite=SUITE)
    summary = pytester.path / "summary.md"
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert not summary.exists()
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["llmeval: summary added to GITHUB_STEP_SUMMARY"])
    text = summary.read_text()
    assert "| answers | 10 | 0.800" in text and "<b>no</b>" not in text


def test_mlflow_asked_for_without_mlflow_says_so_and_the_run_still_passes(pytester: pytest.Pytester) -> None:
    if importlib.util.find_spec("mlflow") is not None:
        pytest.skip("mlflow is installed here; this test is about its absence")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmeval-mlflow")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["llmeval: --llmeval-mlflow: mlflow is not installed (pip install mlflow); nothing logged"]
    )


def test_a_tracking_store_that_refuses_the_metrics_is_one_line_and_the_run_still_passes(
    pytester: pytest.Pytester,
) -> None:
    # A stand-in mlflow whose store refuses, as mlflow 3.17's file store does by default: found
    # first on the path, so it shadows a real mlflow too.
    pytester.makepyfile(
        mlflow="""
        def active_run():
            return None

        def start_run(**kwargs):
            raise RuntimeError("the store is read-only\\nsecond line")
        """
    )
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmeval-mlflow")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["llmeval: --llmeval-mlflow: MLflow refused the metrics (the store is read-only); nothing logged"]
    )


def test_suite_metrics_reach_a_real_mlflow_store(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow = pytest.importorskip("mlflow")  # not a dependency; tested where it is installed
    monkeypatch.setenv("MLFLOW_TRACKING_URI", (pytester.path / "mlruns").as_uri())
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--llmeval-mlflow")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["llmeval: 1 metrics logged to MLflow"])
    (run,) = mlflow.search_runs(experiment_ids=["0"], output_format="list")
    assert run.data.metrics == {"llmeval.answers.pass_rate": 0.8}
    assert run.info.run_name == "pytest-llmeval"
