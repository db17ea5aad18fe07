"""The ``pytest-llmeval`` command: history table, HTML from a saved report, compare of two runs.

Reports are real: the report tests' factory run (a real gate over real records), or
:class:`RunReport` objects written and read back as the JSON files the plugin saves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from pytest_llmeval.cli import main
from pytest_llmeval.report import (
    CaseReport,
    RunReport,
    SuiteReport,
    append_history,
    build_report,
    load_report,
    render_html,
)
from pytest_llmeval.settings import Settings, SettingsError

from .report.factory import COMMIT, CREATED, SUPPORT, XSS_ID, XSS_OUTPUT, _support, make_run

SCRIPT = Path(sys.executable).with_name("pytest-llmeval")  # the installed console script


def _case(
    case_id: str,
    passed: bool,
    *,
    critical: bool = False,
    scores: Mapping[str, float] | None = None,
    prompt: str | None = None,
    error: bool = False,
) -> CaseReport:
    return CaseReport(
        id=case_id,
        prompt=prompt if prompt is not None else f"question {case_id}?",
        output=f"answer {case_id}",
        passed=passed,
        critical=critical,
        error=error,
        scores=dict(scores or {}),
    )


def _suite(name: str, cases: Iterable[CaseReport]) -> SuiteReport:
    cases = tuple(cases)
    passed = sum(c.passed for c in cases)
    return SuiteReport(
        name=name,
        passed=passed,
        total=len(cases),
        pass_rate=passed / len(cases),
        pass_rate_interval=(0.0, 1.0),
        cases=cases,
    )


def _save(path: Path, *suites: SuiteReport, created: str = CREATED) -> Path:
    path.write_text(RunReport(created=created, git_commit=COMMIT, suites=suites).to_json(), encoding="utf-8")
    return path


def _outcomes(n: int, failing: Iterable[int] = ()) -> list[bool]:
    failed = set(failing)
    return [i not in failed for i in range(n)]


def _pass_fail_suite(name: str, outcomes: list[bool], *, critical: Iterable[int] = ()) -> SuiteReport:
    important = set(critical)
    return _suite(name, (_case(f"c{i:03d}", ok, critical=i in important) for i, ok in enumerate(outcomes)))


def _lines(text: str) -> list[str]:
    return text.strip("\n").split("\n")


# ----- history -----


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Two runs: the factory's baseline run (support only), then its current run (support, math)."""
    before = build_report(
        [_support(before=True)], None, {}, git_commit="fedcba9876543210", created="2025-01-01T00:00:00+00:00"
    )
    path = tmp_path / "history.jsonl"
    append_history(path, before)
    append_history(path, make_run(tmp_path).report)
    return path


def test_history_prints_an_aligned_table_of_every_run(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--file", str(history)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    header, *rows = _lines(out)
    assert header.split() == ["time", "commit", "suite", "cases", "pass", "rate", "exact_match", "verdict"]
    assert [row.split()[:6] for row in rows] == [
        ["2025-01-01T00:00:00+00:00", "fedcba9", "support_answers", "35", "0.971", "-"],
        [CREATED, COMMIT[:7], "support_answers", "35", "0.657", "-"],
        [CREATED, COMMIT[:7], "math_exact", "4", "0.750", "0.750"],
    ]
    assert [row.split(maxsplit=6)[-1] for row in rows] == ["OK", "REGRESSED", "NOT COMPARED"]
    # Aligned: every column starts at the same place on every line (numbers are right-aligned).
    for title in ("commit", "suite", "verdict"):
        start = header.index(title)
        assert all(row[start - 1] == " " and row[start] != " " for row in rows), title
    assert len({row.index("0.") + 5 for row in rows}) == 1  # pass rates end in one column


def test_history_suite_and_last_select_runs(history: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "--file", str(history), "--suite", "math_exact"]) == 0
    header, *rows = _lines(capsys.readouterr().out)
    assert "exact_match" in header
    assert [row.split()[2] for row in rows] == ["math_exact"]

    assert main(["history", "--file", str(history), "--suite", "support_answers"]) == 0
    header, *rows = _lines(capsys.readouterr().out)
    assert "exact_match" not in header  # only the metrics the shown rows have
    assert [row.split()[4] for row in rows] == ["0.971", "0.657"]

    assert main(["history", "--file", str(history), "--last", "1"]) == 0
    _, *rows = _lines(capsys.readouterr().out)
    assert [row.split()[:3] for row in rows] == [
        [CREATED, COMMIT[:7], "support_answers"],
        [CREATED, COMMIT[:7], "math_exact"],
    ]

    assert main(["history", "--file", str(history), "--suite", "support_answers", "--last", "1"]) == 0
    _, *rows = _lines(capsys.readouterr().out)
    assert [row.split()[4] for row in rows] == ["0.657"]

    assert main(["history", "--file", str(history), "--suite", "nope"]) == 0
    assert capsys.readouterr().out == f"no runs of suite nope in {history}\n"


def test_history_reads_the_default_file_in_the_current_directory(
    history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".llmeval").mkdir()
    history.rename(tmp_path / ".llmeval" / "history.jsonl")
    monkeypatch.chdir(tmp_path)
    assert main(["history", "--last", "1"]) == 0
    assert len(_lines(capsys.readouterr().out)) == 3


def test_history_without_a_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["history"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert _lines(err) == [
        "pytest-llmeval: error: no history at .llmeval/history.jsonl: a pytest run with pytest-llmeval "
        "appends one there"
    ]


def test_history_with_a_malformed_line_names_file_and_line(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with history.open("a", encoding="utf-8") as file:
        file.write('{"time": "2025-01-03", "suites": \n')
    assert main(["history", "--file", str(history)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(_lines(err)) == 1
    assert err.startswith(f"pytest-llmeval: error: history {history}, line 3 is not valid JSON")


# ----- report -----


def test_report_renders_the_saved_report_as_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(make_run(tmp_path).report.to_json(), encoding="utf-8")
    assert main(["report", str(saved)]) == 0
    written = tmp_path / "run.html"
    assert capsys.readouterr().out == f"{written}\n"
    page = written.read_text(encoding="utf-8")
    assert page == render_html(load_report(saved))
    for case_id in ("faq-00", "refund-policy", "capital-de", "sum-3"):
        assert f">{case_id}<" in page
    assert "xss-&lt;b&gt;id&lt;/b&gt;" in page
    assert XSS_ID not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page and XSS_OUTPUT not in page


def test_report_with_history_and_output(
    history: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(make_run(tmp_path).report.to_json(), encoding="utf-8")
    out = tmp_path / "pages" / "index.html"
    out.parent.mkdir()
    assert main(["report", str(saved), "--history", str(history), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}\n"
    assert out.read_text(encoding="utf-8") != render_html(load_report(saved))  # trends drawn
    assert not (tmp_path / "run.html").exists()

    assert main(["report", str(saved), "--history", str(tmp_path / "none.jsonl")]) == 2
    assert (
        capsys.readouterr().err
        == f"pytest-llmeval: error: history {tmp_path / 'none.jsonl'} does not exist\n"
    )


def test_report_of_a_malformed_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps({"created": CREATED, "suites": [{"name": "s"}]}), encoding="utf-8")
    assert main(["report", str(saved)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"pytest-llmeval: error: report {saved} is malformed at suites.0.passed: Field required\n"
    assert not (tmp_path / "run.html").exists()


# ----- compare -----


def test_compare_unchanged_runs_is_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suites = (
        _pass_fail_suite("qa", _outcomes(40, failing=[3, 9])),
        _suite(
            "mc",
            (
                _case(f"m{i}", i % 4 != 0, scores={"acc": float(i % 4 != 0), "bleu": i / 30})
                for i in range(30)
            ),
        ),
    )
    a, b = _save(tmp_path / "a.json", *suites), _save(tmp_path / "b.json", *suites)
    assert main(["compare", str(a), str(b)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summaries = [line for line in _lines(out) if not line.startswith(("baseline", "candidate", "  ", "OK:"))]
    assert [line.split()[:2] for line in summaries] == [
        ["qa", "pass"],
        ["mc", "pass"],
        ["mc", "acc"],
        ["mc", "bleu"],
    ]
    assert all("  OK" in line and "REGRESSED" not in line and "WARNING" not in line for line in summaries)
    assert _lines(out)[-1] == "OK: 4 comparison(s) in 2 suite(s), none fails the run"
    assert "alpha 0.05/4" in out  # Holm across every comparison of the run


def test_compare_a_real_drop_regresses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _save(tmp_path / "a.json", _pass_fail_suite("support", _outcomes(60)))
    b = _save(tmp_path / "b.json", _pass_fail_suite("support", _outcomes(60, failing=range(15))))
    assert main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "support  pass 1.000 -> 0.750  d -25.0pt" in out
    assert "REGRESSED  15 flipped pass->fail" in out
    assert _lines(out)[-1] == "FAILED: 1 of 1 comparison(s) in 1 suite(s) fail the run: support pass"


def test_compare_is_the_gates_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The factory's baseline run and current run, compared from their saved reports, give the
    very line the gate printed for the live run (math_exact had no baseline: only in B)."""
    run = make_run(tmp_path)
    before = build_report([_support(before=True)], None, {}, created="2025-01-01T00:00:00+00:00")
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(before.to_json(), encoding="utf-8")
    b.write_text(run.report.to_json(), encoding="utf-8")
    assert main(["compare", str(a), str(b), "--alpha", "0.05", "--margin", "2"]) == 1
    lines = _lines(capsys.readouterr().out)
    (gated,) = next(s for s in run.gate.suites if s.suite == SUPPORT.name).comparisons
    assert gated.summary_line() in lines
    assert f"  {gated.detail_line()}" in lines
    assert "CRITICAL pass->fail: refund-policy" in gated.detail_line()
    assert "only in the candidate, not compared: math_exact" in lines


def test_compare_margin_is_in_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _save(tmp_path / "a.json", _pass_fail_suite("support", _outcomes(60)))
    b = _save(tmp_path / "b.json", _pass_fail_suite("support", _outcomes(60, failing=range(15))))
    assert main(["compare", str(a), str(b), "--margin", "30"]) == 0  # a 25pt drop is within 30 points
    assert "support  pass 1.000 -> 0.750" in capsys.readouterr().out


@pytest.mark.parametrize("side", ["baseline", "candidate"])
def test_compare_a_critical_flip_fails(side: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One flip in 100 is no regression, but a critical case must not flip; either run may mark it."""
    before = _pass_fail_suite("policy", _outcomes(100), critical=[7] if side == "baseline" else [])
    after = _pass_fail_suite(
        "policy", _outcomes(100, failing=[7]), critical=[7] if side == "candidate" else []
    )
    a, b = _save(tmp_path / "a.json", before), _save(tmp_path / "b.json", after)
    assert main(["compare", str(a), str(b)]) == 1
    lines = _lines(capsys.readouterr().out)
    assert lines[2].endswith("  OK  1 flipped pass->fail")
    assert lines[3].endswith("; CRITICAL pass->fail: c007")
    assert lines[-1] == "FAILED: 1 of 1 comparison(s) in 1 suite(s) fail the run: policy pass"


def test_compare_scores_by_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """0/1 scores (acc) are paired pass/fail, others (bleu) go to the sign-flip test."""
    before = [_case(f"m{i:02d}", True, scores={"acc": 1.0, "bleu": 0.5}) for i in range(40)]
    after = [_case(f"m{i:02d}", True, scores={"acc": float(i >= 12), "bleu": 0.5}) for i in range(40)]
    a, b = _save(tmp_path / "a.json", _suite("mc", before)), _save(tmp_path / "b.json", _suite("mc", after))
    assert main(["compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "mc  acc 1.000 -> 0.700  d -30.0pt" in out and "REGRESSED  12 flipped pass->fail" in out
    assert "mc  acc: smallest detectable drop" in out and "McNemar exact, alpha 0.05/3" in out
    assert "mc  bleu 0.500 -> 0.500  d +0.0pt [0.0,0.0]  p=1.0000  OK" in out
    assert "sign-flip permutation" in out
    assert _lines(out)[-1] == "FAILED: 1 of 3 comparison(s) in 1 suite(s) fail the run: mc acc"


def test_compare_pairs_by_id_and_skips_changed_prompts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = [_case(f"c{i}", True) for i in range(10)] + [_case("gone", True)]
    after = [_case(f"c{i}", i != 0, prompt="asked otherwise?" if i == 0 else None) for i in range(9)]
    after += [_case("c9", True, error=True), _case("fresh", False)]  # a crash is no pass
    a, b = _save(tmp_path / "a.json", _suite("s", before)), _save(tmp_path / "b.json", _suite("s", after))
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    # c0 changed its prompt: not paired, so its failure is no flip; c9 crashed: it is one.
    assert "s  pass 1.000 -> 0.889  d -11.1pt" in out and "WARNING  1 flipped pass->fail" in out
    assert "(9 paired cases" in out and "1 new; 1 removed" in out
    assert (
        "warning: s: input changed for 1 of 10 cases (dataset or prompt template changed): those are not "
        "compared, the other 9 are: c0" in out
    )


def test_compare_malformed_report_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _save(tmp_path / "a.json", _pass_fail_suite("s", _outcomes(5)))
    bad = tmp_path / "b.json"
    bad.write_text('{"created": "now", "suites": [', encoding="utf-8")
    assert main(["compare", str(a), str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"pytest-llmeval: error: report {bad} is not valid JSON (line 1: Expecting value)\n"


def test_compare_missing_report_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    b = _save(tmp_path / "b.json", _pass_fail_suite("s", _outcomes(5)))
    missing = tmp_path / "nope.json"
    assert main(["compare", str(missing), str(b)]) == 2
    err = capsys.readouterr().err
    assert len(_lines(err)) == 1
    assert err.startswith(f"pytest-llmeval: error: report {missing} cannot be read: ")


def test_compare_without_a_common_suite_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _save(tmp_path / "a.json", _pass_fail_suite("one", _outcomes(5)))
    b = _save(tmp_path / "b.json", _pass_fail_suite("two", _outcomes(5)))
    assert main(["compare", str(a), str(b)]) == 2
    out, err = capsys.readouterr()
    assert "only in the baseline, not compared: one" in out
    assert "only in the candidate, not compared: two" in out
    assert err == f"pytest-llmeval: error: nothing to compare: no suite is in both {a} and {b}\n"


# ----- arguments -----


@pytest.mark.parametrize("command", [[], ["history"], ["report"], ["compare"]])
def test_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: pytest-llmeval {' '.join(command)}".rstrip())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "a command is needed"),
        (
            ["compare", "a.json", "b.json", "--alpha", "1.5"],
            "argument --alpha: expected a number between 0 and 1, e.g. 0.05, got '1.5'",
        ),
        (
            ["compare", "a.json", "b.json", "--margin", "nan"],
            "argument --margin: expected points in [0, 100), e.g. 2 for 2 points, got 'nan'",
        ),
        (["history", "--last", "0"], "argument --last: expected at least 1"),
        (["report"], "the following arguments are required: REPORT.json"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in _lines(err)[-1]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("name", "value"), [("alpha", "0"), ("alpha", "x"), ("margin", "100"), ("margin", "-1")]
)
def test_alpha_and_margin_follow_the_plugin_options_rule(
    name: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """One rule each: compare --alpha/--margin and --llmeval-alpha/--llmeval-margin say the same."""
    with pytest.raises(SettingsError) as plugin:
        Settings.from_strings({name: value})
    problem = str(plugin.value).removeprefix(f"--llmeval-{name}: ")
    assert main(["compare", "a.json", "b.json", f"--{name}={value}"]) == 2
    assert _lines(capsys.readouterr().err)[-1].endswith(f"argument --{name}: {problem}")


# ----- the installed script -----


def test_console_script(tmp_path: Path) -> None:
    _save(tmp_path / "a.json", _pass_fail_suite("support", _outcomes(60)))
    _save(tmp_path / "b.json", _pass_fail_suite("support", _outcomes(60, failing=range(15))))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SCRIPT), *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False
        )

    regressed = run("compare", "a.json", "b.json")
    assert regressed.returncode == 1, regressed.stderr
    assert "support  pass 1.000 -> 0.750" in regressed.stdout and "REGRESSED" in regressed.stdout
    assert run("compare", "a.json", "a.json").returncode == 0
    malformed = run("compare", "a.json", "bad.json")
    assert malformed.returncode == 2
    assert (
        malformed.stderr
        == "pytest-llmeval: error: report bad.json is malformed: expected a JSON object, got list\n"
    )
    rendered = run("report", "a.json")
    assert (rendered.returncode, rendered.stdout) == (0, "a.html\n")
    assert (tmp_path / "a.html").is_file()
    missing = run("history")
    assert missing.returncode == 1 and "no history at .llmeval/history.jsonl" in missing.stderr
    assert "usage: pytest-llmeval compare" in run("compare", "--help").stdout


def test_cli_imports_neither_pytest_nor_torch(tmp_path: Path) -> None:
    code = (
        "import sys, pytest_llmeval.cli\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'torch'))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)


def test_compare_keeps_its_status_when_the_reader_goes_away(tmp_path: Path) -> None:
    """`compare A B | head -1` under `set -o pipefail` once exited 0 on a regression: the broken
    pipe ended the command before it returned its status."""
    suites = [_pass_fail_suite(f"s{i:03d}", _outcomes(60)) for i in range(300)]
    worse = [_pass_fail_suite(f"s{i:03d}", _outcomes(60, failing=range(15))) for i in range(300)]
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(RunReport(created="x", suites=tuple(suites)).to_json(), encoding="utf-8")
    b.write_text(RunReport(created="x", suites=tuple(worse)).to_json(), encoding="utf-8")
    command = f"{sys.executable} -m pytest_llmeval.cli compare {a} {b} | head -1"
    run = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1 and run.stdout.startswith("baseline  ") and "Traceback" not in run.stderr
