"""The regression gate as users meet it: record baselines, rerun, degrade, and what the run says.

The suite's "model" is a file of answers the test controls (``answers.json``, case id -> answer):
a stand-in engine whose outputs can be degraded by exactly as much as a scenario needs. The gate
only sees the per-case records, so this exercises it the way a real model would, run after run.
Each scenario runs serially and under ``-n 2``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import COMPARED_SUITE, IN_PROCESS

SUITE = """
import json, pathlib, time
import pytest
from pytest_llmeval import Case, expect

ANSWERS = json.loads(pathlib.Path(__file__).with_name("answers.json").read_text())
CASES = [Case(id=f"c{{i:03d}}", prompt=f"question {{i}}", expected="yes", critical=i in {critical})
         for i in range({cases})]

@pytest.mark.llmeval()
@pytest.mark.parametrize("case", CASES, ids=str)
def test_answers(case):
    answer = ANSWERS[case.id]
    if answer == "hang":  # lets a test interrupt the run while this case is running
        pathlib.Path("hanging").write_text("")
        time.sleep(60)
    expect(answer).equals(case.expected)
"""

WORKERS = pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
# Scenarios whose xdist run adds nothing: the gate decides in the controller from the same records
# whichever process made them, and the scenarios above cover records crossing from workers, an
# interrupted worker, a partial run and CI. Each xdist run costs seconds of worker start-up in CI.
SERIAL = pytest.mark.parametrize("workers", [[]], ids=["serial"])


def make_suite(
    pytester: pytest.Pytester, cases: int = 200, failing: range = range(150, 200), critical=()
) -> None:
    pytester.makepyfile(test_suite=SUITE.format(cases=cases, critical=set(critical) or "()"))
    answer(pytester, cases, failing)


def answer(
    pytester: pytest.Pytester, cases: int, failing: range | list[int], hang: int | None = None
) -> None:
    answers = {f"c{i:03d}": "no" if i in failing else "yes" for i in range(cases)}
    if hang is not None:
        answers[f"c{hang:03d}"] = "hang"
    (pytester.path / "answers.json").write_text(json.dumps(answers))


def baseline(pytester: pytest.Pytester) -> Path:
    return pytester.path / "baselines" / "answers.json"


def run(pytester: pytest.Pytester, workers: list[str], *args: str) -> pytest.RunResult:
    """A serial run in this process (a second of start-up less per run); an xdist one in its own."""
    if not workers:
        return pytester.runpytest("-p", "no:cacheprovider", *IN_PROCESS, *args)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *workers, *args)


@WORKERS
def test_first_run_records_and_an_unchanged_rerun_passes(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    first = run(pytester, workers)
    assert first.ret == pytest.ExitCode.OK
    first.stdout.fnmatch_lines(["answers  note: baseline recorded: *answers.json"])
    data = json.loads(baseline(pytester).read_text())
    assert data["schema_version"] == 1 and data["suite"] == "answers"
    assert data["pass_rate"] == 0.75 and len(data["cases"]) == 200
    assert data["cases"]["c150"]["passed"] is False and data["cases"]["c000"]["passed"] is True
    text = baseline(pytester).read_text()

    again = run(pytester, workers)
    assert again.ret == pytest.ExitCode.OK
    again.stdout.fnmatch_lines(
        [
            "answers  200 cases  pass 0.750 * ok",
            "answers  pass 0.750 -> 0.750  d +0.0pt * OK  0 flipped pass->fail",
            "  pass: smallest detectable drop *pt (200 paired cases, McNemar exact, alpha 0.05, 80% power)",
        ]
    )
    assert "warning" not in again.stdout.str()
    assert baseline(pytester).read_text() == text  # a rerun writes nothing


@WORKERS
def test_a_real_drop_fails_the_run_and_names_suite_drop_and_flips(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    assert run(pytester, workers).ret == pytest.ExitCode.OK
    answer(pytester, 200, range(130, 200))  # 20 more cases now fail: -10 points
    result = run(pytester, workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=130, xfailed=70)  # every test "passed"; the suite did not
    result.stdout.fnmatch_lines(
        [
            "answers  200 cases  pass 0.650 * FAILED the gate",
            "answers  pass 0.750 -> 0.650  d -10.0pt [[]*[]]  p<0.0001  REGRESSED  20 flipped pass->fail",
            "  flipped pass->fail: c130, c131, c132, *(+10 more; -v lists all)",
            "llmeval: run FAILED: suite answers: pass REGRESSED 0.750 -> 0.650 (p=*, 20 flipped pass->fail)",
        ]
    )
    verbose = run(pytester, workers, "-v")
    verbose.stdout.fnmatch_lines(
        ["  flipped pass->fail (20):", "    c130: equals: expected 'yes', got 'no'", "    c149: equals: *"]
    )


@SERIAL
def test_a_drop_within_noise_passes_with_a_warning(pytester: pytest.Pytester, workers: list[str]) -> None:
    make_suite(pytester, cases=50, failing=range(40, 50))
    assert run(pytester, workers).ret == pytest.ExitCode.OK
    answer(pytester, 50, [3, 7, *range(40, 50)])  # 2 of 50 flip: -4 points, past the margin, p ~ 0.25
    result = run(pytester, workers)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "answers  pass 0.800 -> 0.760  d -4.0pt * WARNING  2 flipped pass->fail",
            "answers  warning: pass dropped 4.0pt, past the margin but not significant (p=0.25): *noise*",
        ]
    )
    assert "run FAILED" not in result.stdout.str()


@SERIAL
def test_a_critical_case_that_flips_fails_the_run(pytester: pytest.Pytester, workers: list[str]) -> None:
    make_suite(pytester, critical=[5])
    assert run(pytester, workers).ret == pytest.ExitCode.OK
    answer(pytester, 200, [5, *range(150, 200)])  # one flip: no regression, but the case is critical
    result = run(pytester, workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=149, xfailed=50, failed=1)
    result.stdout.fnmatch_lines(
        [
            "answers  pass 0.750 -> 0.745 * OK  1 flipped pass->fail",
            "*CRITICAL pass->fail: c005",
            "llmeval: run FAILED: suite answers: critical case(s) flipped pass->fail: c005",
        ]
    )


@SERIAL
def test_a_corrupt_baseline_is_reported_and_left_untouched(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    baseline(pytester).parent.mkdir()
    baseline(pytester).write_text('{"schema_version": 1, "suite": "answers", "cases": {')
    before = baseline(pytester).read_bytes()
    for args in ([], ["--llmeval-update-baselines"]):
        result = run(pytester, workers, *args)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "llmeval: run FAILED: suite answers: baseline *answers.json is not valid JSON (line 1: *); "
                "it was left untouched: fix or delete it, then rerun"
            ]
        )
        assert baseline(pytester).read_bytes() == before


@SERIAL
def test_a_newer_schema_is_reported_not_read(pytester: pytest.Pytester, workers: list[str]) -> None:
    make_suite(pytester)
    baseline(pytester).parent.mkdir()
    baseline(pytester).write_text('{"schema_version": 99}')
    result = run(pytester, workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*has schema version 99, newer than this pytest-llmeval's 1: upgrade*"])
    assert baseline(pytester).read_text() == '{"schema_version": 99}'


@WORKERS
def test_under_ci_a_missing_baseline_fails_with_a_hint_and_nothing_is_written(
    pytester: pytest.Pytester, workers: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_suite(pytester)
    monkeypatch.setenv("CI", "true")
    result = run(pytester, workers)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "llmeval: run FAILED: suite answers: NOT COMPARED: no baseline at *answers.json; CI is set: "
            "record a baseline on purpose with --llmeval-update-baselines and commit it"
        ]
    )
    assert not baseline(pytester).exists()
    # Asked for explicitly, CI records it, and the next CI run compares against it.
    assert run(pytester, workers, "--llmeval-update-baselines=new").ret == pytest.ExitCode.OK
    assert baseline(pytester).exists()
    run(pytester, workers).stdout.fnmatch_lines(["answers  pass 0.750 -> 0.750 * OK*"])


@SERIAL
def test_update_rewrites_a_regressed_baseline_and_passes(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    run(pytester, workers)
    answer(pytester, 200, range(100, 200))
    result = run(pytester, workers, "--llmeval-update-baselines")
    assert result.ret == pytest.ExitCode.OK
    # What the new file replaces is shown: this update hides a drop of 25 points.
    result.stdout.fnmatch_lines(
        ["answers  note: baseline updated: pass 0.750 -> 0.500, 50 flipped pass->fail (*)"]
    )
    assert json.loads(baseline(pytester).read_text())["pass_rate"] == 0.5
    # =new leaves a suite that has a baseline alone: it is compared, not rewritten.
    answer(pytester, 200, range(150, 200))
    result = run(pytester, workers, "--llmeval-update-baselines=new")
    result.stdout.fnmatch_lines(["answers  pass 0.500 -> 0.750 * IMPROVED*"])
    assert json.loads(baseline(pytester).read_text())["pass_rate"] == 0.5


@WORKERS
def test_stale_cases_are_reported_only_when_the_whole_suite_ran(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    run(pytester, workers)
    partial = run(pytester, workers, "-k", "c00")
    assert partial.ret == pytest.ExitCode.OK
    partial.stdout.fnmatch_lines(["answers  pass 1.000 -> 1.000 * OK  0 flipped pass->fail"])
    assert "no longer run" not in partial.stdout.str() and "removed" not in partial.stdout.str()
    # A partial update keeps the cases that did not run.
    run(pytester, workers, "-k", "c00", "--llmeval-update-baselines")
    assert len(json.loads(baseline(pytester).read_text())["cases"]) == 200

    make_suite(pytester, cases=190, failing=range(150, 190))  # ten cases left the dataset
    whole = run(pytester, workers)
    whole.stdout.fnmatch_lines(["answers  note: 10 case(s) in the baseline no longer run (stale): c190, *"])


@WORKERS
def test_ctrl_c_leaves_the_baseline_byte_for_byte_unchanged(
    pytester: pytest.Pytester, workers: list[str]
) -> None:
    make_suite(pytester)
    run(pytester, workers)
    before = baseline(pytester).read_bytes()
    answer(pytester, 200, range(0, 200), hang=120)  # every answer changes, and c120 hangs
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *workers,
        "--llmeval-update-baselines",
    ]
    process = subprocess.Popen(
        command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (pytester.path / "hanging").exists():
            assert process.poll() is None and time.monotonic() < deadline, "the run ended before it hung"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole group
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out.decode()
    assert b"KeyboardInterrupt" in out
    assert baseline(pytester).read_bytes() == before
    assert [p.name for p in baseline(pytester).parent.iterdir()] == ["answers.json"]  # no temp files left


@pytest.fixture
def two_models(tiny_model_dir: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The tiny model under two names: "base" and "tuned" (a stand-in for a fine-tune of it)."""
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    base.symlink_to(tiny_model_dir)
    tuned.symlink_to(tiny_model_dir)
    return base, tuned


@pytest.mark.parametrize(
    ("workers", "tuned_fails"),
    [([], 20), ([], 0), (["-n", "2"], 20)],
    ids=["regressed-serial", "same-serial", "regressed-xdist"],
)
def test_compare_model_runs_both_and_gates_the_difference(
    pytester: pytest.Pytester,
    two_models: tuple[Path, Path],
    tmp_path: Path,
    workers: list[str],
    tuned_fails: int,
) -> None:
    base, tuned = two_models
    answers = {
        "base": {f"c{i:03d}": "yes" if i < 80 else "no" for i in range(100)},
        "tuned": {f"c{i:03d}": "yes" if i < 80 - tuned_fails else "no" for i in range(100)},
    }
    pytester.makepyfile(test_suite=COMPARED_SUITE)
    (pytester.path / "answers.json").write_text(json.dumps(answers))
    result = run(
        pytester,
        workers,
        f"--llmeval-model={tuned}",
        f"--llmeval-compare-model={base}",
        f"--llmeval-cache-dir={tmp_path / 'cache'}",
        "-rx",
    )
    result.assert_outcomes(passed=80 + 80 - tuned_fails, xfailed=20 + 20 + tuned_fails)
    result.stdout.fnmatch_lines(
        [
            f"llmeval: reference={base}: every suite case also runs on it, *",
            "*test_answers?reference-c080? - reference model: *",
        ]
    )
    assert not (pytester.path / "baselines").exists()  # nothing read or written there
    if tuned_fails:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "answers  pass 0.800 -> 0.600  d -20.0pt * REGRESSED  20 flipped pass->fail",
                "  flipped pass->fail: c060, c061, *",
                "llmeval: run FAILED: suite answers: pass REGRESSED 0.800 -> 0.600 *",
            ]
        )
        # "base" and "tuned" are one set of weights under two paths: no new model to note.
        assert "model changed" not in result.stdout.str()
    else:
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["answers  pass 0.800 -> 0.800  d +0.0pt * OK  0 flipped pass->fail"])
