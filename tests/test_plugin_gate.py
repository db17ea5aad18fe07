"""The gate never passes silently: each scenario of issue 16, as a user meets it in a pytest run.

As in ``test_plugin_baselines.py``, the suite's "model" is a file of answers the test controls,
so a scenario can change exactly what it needs (a prompt, a sample, a case id) between runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_llmeval.baselines import read_baseline
from pytest_llmeval.cli import main as cli_main

from .helpers import IN_PROCESS, SAMPLED_SUITE

SUITE = """
import json, pathlib
import pytest
from pytest_llmeval import Case, expect

ANSWERS = json.loads(pathlib.Path(__file__).with_name("answers.json").read_text())
TEMPLATE = pathlib.Path(__file__).with_name("template.txt").read_text()
CASES = [Case(id=f"c{{i:02d}}", prompt=TEMPLATE.format(i=i if i < {unchanged} else i + 1000), expected="yes")
         for i in range({cases})]

@pytest.mark.llmeval(name={name!r}, min_pass_rate={min_pass_rate})
@pytest.mark.parametrize("case", CASES, ids=str)
def test_answers(case):
    expect(ANSWERS[case.id]).equals(case.expected)
"""


def make_suite(
    pytester: pytest.Pytester,
    *,
    cases: int = 40,
    failing: range | list[int] = range(30, 40),
    template: str = "question {i}",
    unchanged: int = 10**6,
    name: str = "answers",
    min_pass_rate: float | None = None,
    file: str = "test_suite",
) -> None:
    source = SUITE.format(cases=cases, unchanged=unchanged, name=name, min_pass_rate=min_pass_rate)
    pytester.makepyfile(**{file: source})
    (pytester.path / "template.txt").write_text(template)
    answers = {f"c{i:02d}": "no" if i in failing else "yes" for i in range(cases)}
    (pytester.path / "answers.json").write_text(json.dumps(answers))


def run(pytester: pytest.Pytester, *args: str, ci: bool = False) -> pytest.RunResult:
    env = {"CI": "true"} if ci else {"CI": ""}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        return pytester.runpytest("-p", "no:cacheprovider", *IN_PROCESS, *args)


def test_a_changed_prompt_template_is_not_compared_and_fails_under_ci(pytester: pytest.Pytester) -> None:
    make_suite(pytester, failing=range(30, 40))
    run(pytester)
    make_suite(pytester, failing=range(10, 40), template="Q: question {i}")  # 0.75 -> 0.25, all new prompts
    local = run(pytester)
    assert local.ret == pytest.ExitCode.OK
    local.stdout.fnmatch_lines(
        [
            "answers  warning: NOT COMPARED: input changed for all 40 cases the reference shares with this "
            "run (dataset or prompt template changed)"
        ]
    )
    assert " OK" not in local.stdout.str().split("llmeval summary")[1]  # never "nan -> nan OK"
    ci = run(pytester, ci=True)
    assert ci.ret == pytest.ExitCode.TESTS_FAILED
    ci.stdout.fnmatch_lines(
        [
            "llmeval: run FAILED: suite answers: NOT COMPARED: input changed for all 40 cases *; CI is set: "
            "record a baseline on purpose with --llmeval-update-baselines and commit it"
        ]
    )


def test_cases_whose_input_is_unchanged_are_still_compared(pytester: pytest.Pytester) -> None:
    make_suite(pytester, failing=range(30, 40))
    run(pytester)
    # The last 20 cases now ask something else; the first 20 are the same and 10 of them now fail.
    make_suite(pytester, failing=range(0, 10), unchanged=20)
    result = run(pytester, ci=True)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "answers  pass 1.000 -> 0.500 * REGRESSED  10 flipped pass->fail",
            "*(20 paired cases*",
            "answers  warning: input changed for 20 of 40 cases *: those are not compared, the other 20 *",
        ]
    )


def test_one_selected_flaky_case_is_compared_not_nan(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    run(pytester)
    result = run(pytester, "-k", "c05")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["answers  pass 1.000 -> 1.000 * OK  0 flipped pass->fail", "*(1 paired cases*"]
    )
    assert "nan ->" not in result.stdout.str() and "-> nan" not in result.stdout.str()


def test_a_sampled_suite_is_gated_by_pass_fraction_and_flaky_cases_are_listed(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(test_sampled=SAMPLED_SUITE)
    model = [f"--llmeval-model={tiny_model_dir}", f"--llmeval-cache-dir={tmp_path / 'cache'}"]
    passes = {f"c{i:02d}": [True, True, i % 2 == 0] for i in range(30)}  # 15 flaky cases
    (pytester.path / "passes.json").write_text(json.dumps(passes))
    assert run(pytester, *model).ret == pytest.ExitCode.OK
    same = run(pytester, *model)
    same.stdout.fnmatch_lines(
        ["sampled  pass 0.833 -> 0.833 * OK  0 flipped pass->fail", "*15 flaky, compared by*"]
    )
    # Every case now passes 1 sample of 3. The old rule left all 30 out as flaky and said OK.
    (pytester.path / "passes.json").write_text(json.dumps({c: [True, False, False] for c in passes}))
    worse = run(pytester, *model)
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.stdout.fnmatch_lines(
        [
            "sampled  pass 0.833 -> 0.333 * REGRESSED  30 flipped pass->fail",
            "*(30 paired cases, sign-flip on pass fractions*30 flaky, compared by pass fraction",
        ]
    )


def test_an_update_shows_what_it_replaces_even_in_a_failing_run(pytester: pytest.Pytester) -> None:
    make_suite(pytester, failing=range(30, 40))
    run(pytester)
    make_suite(pytester, failing=range(0, 40))
    result = run(pytester, "--llmeval-update-baselines", ci=True)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["answers  note: baseline updated: pass 0.750 -> 0.000, 30 flipped pass->fail (*answers.json)"]
    )


def test_a_partial_update_of_unchanged_results_changes_no_byte(pytester: pytest.Pytester) -> None:
    make_suite(pytester)
    run(pytester)
    path = pytester.path / "baselines" / "answers.json"
    before = path.read_bytes()
    for selection in (["-k", "c01 or c35"], ["test_suite.py::test_answers[c02]"]):
        assert run(pytester, *selection, "--llmeval-update-baselines").ret == pytest.ExitCode.OK
        assert path.read_bytes() == before
    # A partial update that changes a case keeps every other case and the dataset hash.
    make_suite(pytester, failing=[1, *range(30, 40)])
    run(pytester, "-k", "c01", "--llmeval-update-baselines")
    old, new = json.loads(before), json.loads(path.read_bytes())
    assert new["cases"]["c01"]["passed"] is False and old["cases"]["c01"]["passed"] is True
    assert {k: v for k, v in new["cases"].items() if k != "c01"} == {
        k: v for k, v in old["cases"].items() if k != "c01"
    }
    assert new["fingerprint"]["dataset_hash"] == old["fingerprint"]["dataset_hash"] != ""


@pytest.mark.slow  # six pytest processes, two at a time: seconds of start-up for one race
def test_two_concurrent_partial_updates_of_one_baseline_keep_both(pytester: pytest.Pytester) -> None:
    make_suite(pytester, cases=40, failing=[])
    run(pytester)
    make_suite(pytester, cases=40, failing=range(0, 40))  # every case now fails
    path = pytester.path / "baselines" / "answers.json"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--llmeval-update-baselines"]
    for trial in range(3):
        first, second = f"c{2 * trial:02d}", f"c{2 * trial + 1:02d}"
        processes = [
            subprocess.Popen([*command, "-k", case], cwd=pytester.path, stdout=subprocess.DEVNULL)
            for case in (first, second)
        ]
        assert [p.wait(timeout=120) for p in processes] == [0, 0]
        cases = json.loads(path.read_text())["cases"]
        assert cases[first]["passed"] is False and cases[second]["passed"] is False, trial
        assert len(cases) == 40


def test_clashing_and_duplicate_names_are_errors_that_name_both(pytester: pytest.Pytester) -> None:
    make_suite(pytester, name="QA", file="test_one")
    make_suite(pytester, name="qa", file="test_two")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*suites 'QA' and 'qa' would share the baseline file QA.json*"])
    assert not (pytester.path / "baselines").exists() or not list((pytester.path / "baselines").iterdir())

    pytester.makepyfile(
        test_one="",
        test_two="",
        test_dupes="""
import pytest
from pytest_llmeval import Case, expect

@pytest.mark.llmeval()
@pytest.mark.parametrize("case", [Case(id="same", prompt="a"), Case(id="same", prompt="b")])
def test_dupes(case):
    expect("x").equals("x")
""",
    )
    dupes = run(pytester)
    assert dupes.ret == pytest.ExitCode.USAGE_ERROR
    assert (
        "suite 'dupes' has two cases with the id 'same' (test_dupes.py::test_dupes[case0] and "
        "test_dupes.py::test_dupes[case1])" in dupes.stderr.str()
    )


def test_names_that_used_to_share_a_file_get_their_own(pytester: pytest.Pytester) -> None:
    make_suite(pytester, name="qa/v1", file="test_one")
    make_suite(pytester, name="qa_v1", file="test_two")
    assert run(pytester).ret == pytest.ExitCode.OK
    files = sorted(p.name for p in (pytester.path / "baselines").iterdir())
    assert files[0] == "qa_v1.json" and files[1].startswith("qa_v1~") and len(files) == 2
    for name in files:
        stored = read_baseline(pytester.path / "baselines" / name)
        assert stored is not None and len(stored.cases) == 40


def test_subsets_report_no_stale_baselines_and_do_not_enforce_min_pass_rate(
    pytester: pytest.Pytester,
) -> None:
    make_suite(pytester, name="other", file="test_other")
    make_suite(pytester, failing=range(20, 40), min_pass_rate=0.4)  # both read this answers.json
    assert run(pytester).ret == pytest.ExitCode.OK
    # One file: the other suite's baseline is not stale, it was not collected.
    one = run(pytester, "test_suite.py")
    assert "(stale" not in one.stdout.str()
    # -x stops at the first real failure (c10 has no answer: KeyError): no case is reported as
    # gone, and the 10 cases that ran are not held to min_pass_rate.
    answers = json.loads((pytester.path / "answers.json").read_text())
    (pytester.path / "answers.json").write_text(json.dumps({k: v for k, v in answers.items() if k != "c10"}))
    stopped = run(pytester, "-x", "test_suite.py")
    assert stopped.ret == pytest.ExitCode.TESTS_FAILED
    stopped.stdout.fnmatch_lines(["answers  11 cases  *"])
    assert "(stale" not in stopped.stdout.str() and "no longer run" not in stopped.stdout.str()
    (pytester.path / "answers.json").write_text(json.dumps(answers))
    # A subset far below min_pass_rate: said, not enforced.
    subset = run(pytester, "-k", "c3", "test_suite.py")
    assert subset.ret == pytest.ExitCode.OK
    subset.stdout.fnmatch_lines(
        [
            "answers  10 cases  pass 0.000 * below threshold (subset, not enforced) (min 0.4)",
            "*smallest detectable drop none: the baseline is at 0, it cannot drop (10 paired cases*",
            "llmeval: suite answers: pass rate 0.000 is below min_pass_rate 0.4 (subset, not enforced)",
        ]
    )
    whole = run(pytester, "test_suite.py", "test_other.py")
    assert whole.ret == pytest.ExitCode.OK


def test_junit_shows_a_failed_gate_as_a_failed_testcase(pytester: pytest.Pytester) -> None:
    make_suite(pytester, failing=range(30, 40))
    run(pytester)
    make_suite(pytester, failing=range(10, 40))
    result = run(pytester, "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    suite = ET.parse(pytester.path / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    [case] = [c for c in suite.iter("testcase") if c.get("classname") == "llmeval.gate"]
    assert case.get("name") == "answers"
    failure = case.find("failure")
    assert failure is not None and "pass REGRESSED 0.750 -> 0.250" in (failure.get("message") or "")


def test_files_go_under_the_invocation_folder_whatever_rootdir_pytest_guesses(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
) -> None:
    model = tmp_path_factory.mktemp("models") / "some-model"
    model.mkdir()
    make_suite(pytester)
    result = run(pytester, "test_suite.py", "--llmeval-model", str(model), "--llmeval-no-cache")
    result.stdout.fnmatch_lines(["llmeval: pytest chose rootdir * from the arguments (no ini file)*"])
    assert (pytester.path / "baselines" / "answers.json").exists()
    assert not (model / "baselines").exists() and not (model.parent / "baselines").exists()


def test_the_compare_command_and_the_live_gate_agree(pytester: pytest.Pytester) -> None:
    make_suite(pytester, failing=range(30, 40))
    run(pytester, "--llmeval-report-json=a.json")
    make_suite(pytester, failing=[*range(3, 9), *range(28, 40)], unchanged=36)
    live = run(pytester, "--llmeval-report-json=b.json")
    report = json.loads((pytester.path / "b.json").read_text())
    [gated] = report["suites"][0]["comparisons"]
    assert cli_main(["compare", str(pytester.path / "a.json"), str(pytester.path / "b.json")]) == 1
    assert live.ret == 1
    from pytest_llmeval.cli import compare_suite_reports
    from pytest_llmeval.report import load_report

    a, b = load_report(pytester.path / "a.json"), load_report(pytester.path / "b.json")
    [offline] = compare_suite_reports(a.suites[0], b.suites[0], alpha=0.05, margin=0.02).comparisons
    for key in (
        "flips_to_fail",
        "flips_to_pass",
        "p_value",
        "decision",
        "compared",
        "new_ids",
        "removed_ids",
    ):
        value = getattr(offline, key)
        assert json.loads(json.dumps(value if not hasattr(value, "value") else value.value)) == (
            gated[key] if not isinstance(gated[key], list) else list(gated[key])
        ), key
