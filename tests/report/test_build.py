"""build_report: every number, verdict and case of a real run lands in the report, as the run had it."""

from __future__ import annotations

import enum
import json
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pytest_llmeval.baselines.gate import build_baseline, fingerprint_of
from pytest_llmeval.cases import Case
from pytest_llmeval.checks import contains
from pytest_llmeval.report import build_report, git_commit
from pytest_llmeval.report.build import REPORT_TEXT_CHARS
from pytest_llmeval.suite import SuiteResult

from .factory import COMMIT, CREATED, MATH, SUPPORT, XSS_ID, XSS_OUTPUT, Run, record


def test_suites_carry_the_results_numbers(run: Run) -> None:
    report = run.report
    assert (report.created, report.git_commit, report.gated) == (CREATED, COMMIT, True)
    assert [s.name for s in report.suites] == [SUPPORT.name, MATH.name]
    for suite, result in zip(report.suites, run.results, strict=True):
        assert suite.total == len(result.records)
        assert suite.passed == result.passed
        assert suite.pass_rate == result.pass_rate
        assert suite.pass_rate_interval == result.pass_rate_interval()
        assert suite.spec == json.loads(json.dumps(result.spec.to_json()))
    math_suite = report.suites[1]
    (exact,) = math_suite.metrics
    value = run.results[1].metrics[0][0]
    assert (exact.name, exact.value, exact.low, exact.high, exact.n) == (
        "exact_match",
        value.value,
        value.low,
        value.high,
        value.n,
    )


def test_gate_verdicts_are_copied(run: Run) -> None:
    support, math_suite = run.report.suites
    gates = {g.suite: g for g in run.gate.suites}
    assert support.comparisons == tuple(gates[SUPPORT.name].comparisons)
    assert support.failures == tuple(gates[SUPPORT.name].failures)
    assert support.notes == tuple(gates[SUPPORT.name].notes)
    assert math_suite.comparisons == ()
    assert math_suite.not_compared is not None and math_suite.not_compared.startswith("no baseline at ")
    assert math_suite.verdict == "NOT COMPARED"
    assert any("baseline recorded" in note for note in math_suite.notes)
    main = support.main_comparison()
    assert main is not None and main.decision.value == "REGRESSED"
    assert main.critical_flips == ("refund-policy",)


def test_the_fingerprint_is_the_gates(run: Run) -> None:
    support, math_suite = run.report.suites
    assert support.fingerprint["model"] == "tiny-model"
    assert support.fingerprint == fingerprint_of(
        {"model": "tiny-model", "backend": "transformers", "dtype": "float32"}, run.results[0]
    ).model_dump(mode="json")
    assert math_suite.fingerprint["model"] is None  # no engine info for it
    assert math_suite.fingerprint["dataset_hash"]


def test_every_case_with_its_checks_and_baseline(run: Run) -> None:
    support = run.report.suites[0]
    cases = {c.id: c for c in support.cases}
    assert len(cases) == len(run.results[0].records)
    xss = cases[XSS_ID]
    assert (xss.output, xss.passed, xss.tags) == (XSS_OUTPUT, False, ("x&y", "security"))
    assert xss.prompt == "Print </script><script>alert(1)</script>"
    (check,) = xss.checks
    assert (check.name, check.passed, check.evidence) == ("not_contains", False, ("<script>", "onerror"))
    assert (xss.baseline_passed, xss.baseline_output) == (True, "I cannot do that.")
    assert xss.flipped
    assert cases["refund-policy"].critical and cases["refund-policy"].flipped
    assert cases["server-down"].error
    assert [(c.name, c.reason) for c in cases["server-down"].checks] == [
        ("error", "RuntimeError: connection refused")
    ]
    assert cases["greeting"].passed and cases["greeting"].baseline_passed is False
    assert cases["faq-20"].duration == 0.25


def test_without_baselines_or_gate(run: Run) -> None:
    report = build_report(run.results, None, {}, created=CREATED)
    assert not report.gated and report.git_commit is None
    support = report.suites[0]
    assert support.comparisons == () and support.failures == ()
    assert all(c.baseline_passed is None and c.baseline_output is None for c in support.cases)
    assert support.verdict == "FAILED"  # a critical case failed and one raised, gate or not
    assert report.suites[1].verdict == "OK"


def test_a_case_that_now_asks_something_else_is_not_paired_with_its_baseline() -> None:
    before = record(SUPPORT, Case(id="q", prompt="old question?"), "yes", [contains("yes", "yes")])
    now = record(SUPPORT, Case(id="q", prompt="new question?"), "no", [contains("no", "yes")])
    old = SuiteResult(SUPPORT, (before,))
    baseline = build_baseline(old, fingerprint_of(None, old), keep_outputs=True)
    report = build_report([SuiteResult(SUPPORT, (now,))], None, {}, baselines={SUPPORT.name: baseline})
    (case,) = report.suites[0].cases
    assert case.baseline_passed is None and not case.flipped


def test_created_defaults_to_now_in_utc(run: Run) -> None:
    report = build_report(run.results, None, {})
    created = datetime.fromisoformat(report.created)
    assert created.tzinfo is not None and created.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 60


class Color(enum.Enum):
    RED = "red"


@dataclass(frozen=True)
class Nested:
    path: Path
    values: tuple[int, ...]


def test_settings_become_plain_json(run: Run) -> None:
    settings = {
        "baselines": Path("/x/baselines"),
        "stop": ("\n", "###"),
        "color": Color.RED,
        "nested": Nested(Path("a"), (1, 2)),
        "tags": frozenset({"b", "a"}),
        "margin": float("inf"),
        "other": object,
    }
    report = build_report(run.results, None, settings)
    assert report.settings == {
        "baselines": "/x/baselines",
        "stop": ["\n", "###"],
        "color": "red",
        "nested": {"path": "a", "values": [1, 2]},
        "tags": ["a", "b"],
        "margin": "inf",
        "other": "<class 'object'>",
    }
    json.dumps(report.settings)


def test_lone_surrogates_do_not_stop_the_report(tmp_path: Path) -> None:
    output = "caf\udce9 ok"  # what a bad decode leaves; checks keep it, UTF-8 cannot hold it
    rec = record(SUPPORT, Case(id="s", prompt="p"), output, [contains(output, "ok")])
    report = build_report([SuiteResult(SUPPORT, (rec,))], None, {})
    assert report.suites[0].cases[0].output == "caf\ufffd ok"
    (tmp_path / "r.json").write_text(report.to_json(), encoding="utf-8")


def test_long_texts_are_cut_with_a_note_and_short_ones_kept_whole(tmp_path: Path) -> None:
    long = "x" * 300_000
    rec = record(SUPPORT, Case(id="s", prompt="p" * 50_000), long, [contains(long, "y")])
    report = build_report([SuiteResult(SUPPORT, (rec,))], None, {})
    case = report.suites[0].cases[0]
    assert case.output == "x" * REPORT_TEXT_CHARS + "\n[... cut by the report: 300,000 characters in all]"
    assert case.prompt is not None and case.prompt.endswith(
        "[... cut by the report: 50,000 characters in all]"
    )
    short = "y" * REPORT_TEXT_CHARS
    rec = record(SUPPORT, Case(id="s", prompt="p"), short, [contains(short, "y")])
    assert build_report([SuiteResult(SUPPORT, (rec,))], None, {}).suites[0].cases[0].output == short


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
def test_git_commit_reads_head(tmp_path: Path) -> None:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    git("init", "-q")
    assert git_commit(tmp_path) is None  # a repo without a commit has no HEAD yet
    (tmp_path / "f.txt").write_text("x")
    git("add", "f.txt")
    git("commit", "-q", "-m", "first")
    head = git("rev-parse", "HEAD")
    assert len(head) == 40
    assert git_commit(tmp_path) == head
    assert git_commit(tmp_path / "f.txt") == head  # a file's folder


@needs_git
def test_git_commit_outside_a_repo(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
    assert git_commit(tmp_path / "missing" / "dir") is None


def test_git_commit_without_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert git_commit(Path.cwd()) is None


def test_an_output_that_cannot_be_written_is_one_line_and_the_others_are_written(
    run: Run, tmp_path: Path
) -> None:
    from pytest_llmeval.report.publish import publish

    folder = tmp_path / "out"
    (folder / "report.html").mkdir(parents=True)  # a folder where the HTML file should be
    (folder / "history-is-a-file").write_text("")
    lines = publish(
        run.report,
        json_path=folder / "report.json",
        html_path=folder / "report.html",
        history_path=folder / "history-is-a-file" / "history.jsonl",
    )
    assert lines[0] == f"llmeval: JSON report written to {folder / 'report.json'}"
    assert (folder / "report.json").exists()
    assert any(line.startswith("llmeval: history not written to ") for line in lines)
    assert f"llmeval: HTML report not written to {folder / 'report.html'}: Is a directory" in lines
    assert sorted(p.name for p in folder.iterdir()) == ["history-is-a-file", "report.html", "report.json"]
