"""The fast lane's copies of the slow plugin tests: the same suites and assertions, run in-process on
a scripted engine (``tests/helpers.py``) instead of in a subprocess on the tiny model.

What these cannot see, the slow originals keep: a real model's load, torch staying unimported on
a cached run, and xdist workers (which would not find the scripted backend).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.report import load_report

from .helpers import COMPARED_SUITE, OUTCOMES_SUITE, SAMPLED_SUITE, use_scripted_backend

USES_LLM = """
def test_one(llm):
    pass
"""


@pytest.fixture
def model_args(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    use_scripted_backend(monkeypatch)
    return [
        "--llmeval-backend=scripted",
        "--llmeval-model=fake-model",
        f"--llmeval-cache-dir={tmp_path / 'cache'}",
    ]


def test_llm_fixture_on_a_scripted_model(pytester: pytest.Pytester, model_args: list[str]) -> None:
    """tests/test_plugin.py::test_llm_fixture_on_a_real_model"""
    pytester.makepyfile(
        """
        def test_generate(llm):
            out = llm.generate("Hello", max_tokens=5)
            assert isinstance(out, str) and out.finish_reason in ("stop", "length")
            assert len(llm.generate(["a", "b"], max_tokens=3)) == 2

        def test_chat_choose_perplexity(llm):
            assert isinstance(llm.chat("Hi", max_tokens=4), str)
            choice = llm.choose("Pick:", ["yes", "no"])
            assert choice.choice in ("yes", "no")
            assert llm.perplexity("Some text here.").token_perplexity > 1

        def test_model_is_loaded_once(llm, llm_factory):
            assert llm_factory().engine is llm.engine
            other = llm_factory(max_batch_tokens=64)
            assert other.engine is not llm.engine
            assert llm_factory(max_batch_tokens=64).engine is other.engine
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["llmeval: model=fake-model backend=scripted (asked for) *"])


def test_case_outcomes_follow_the_rules(pytester: pytest.Pytester, model_args: list[str]) -> None:
    """tests/test_plugin_suites.py::test_case_outcomes_follow_the_rules[serial]"""
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    result = pytester.runpytest(*model_args, "-rxf")
    result.assert_outcomes(passed=1, xfailed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            "critical case failed: equals: expected 'ok', got 'bad'",
            "E * ValueError: a bug in the test code",
            "*llmeval summary*",
            "answers  4 cases  pass 0.250 [[]0.046, 0.699[]]  latency * tokens_per_s * failed checks 2  "
            "errors 1  1 case(s) raised an error, 1 critical case(s) failed",
            "XFAIL *test_answers[[]weak[]] - equals: expected 'ok', got 'bad'",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_suite_below_its_pass_rate_fails_the_run_though_no_test_failed(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_a_suite_below_its_pass_rate_fails_the_run_though_no_test_failed[serial]"""
    source = (
        OUTCOMES_SUITE.format(extra=", min_pass_rate=0.9")
        .replace("CASES = [", "CASES = [c for c in [")
        .replace("\n]\n", "\n] if c.id in ('good', 'weak')]\n", 1)
    )
    pytester.makepyfile(source)
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "answers  2 cases  pass 0.500 * below threshold (min 0.9)",
            "llmeval: run FAILED: suite answers: pass rate 0.500 is below min_pass_rate 0.9",
        ]
    )
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=", min_pass_rate=0.9"))
    subset = pytester.runpytest(*model_args, "-k", "good or weak", "--llmeval-report-json=subset.json")
    assert subset.ret == pytest.ExitCode.OK
    subset.stdout.fnmatch_lines(
        ["llmeval: suite answers: pass rate 0.500 is below min_pass_rate 0.9 (subset, not enforced)"]
    )
    # The report agrees with the run (it once said "run FAILED" for this passing run).
    report = load_report(pytester.path / "subset.json")
    [suite] = report.suites
    assert not report.failed and suite.verdict == "WARNING" and suite.threshold_failures == ()
    assert "pass rate 0.500 is below min_pass_rate 0.9 (subset, not enforced)" in suite.warnings
    # Nor is a subset a point of the history's trend (it once plotted 2 of 4 cases as the suite).
    assert len((pytester.path / ".llmeval" / "history.jsonl").read_text().splitlines()) == 1
    subset.stdout.fnmatch_lines(["llmeval: history: this run ran a subset of the cases*"])


def test_strict_turns_expected_failures_into_failures(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_strict_turns_expected_failures_into_failures"""
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    result = pytester.runpytest(*model_args, "--llmeval-strict", "-k", "weak", "-rf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["failed checks (--llmeval-strict): equals: expected 'ok', got 'bad'"])


def test_cases_are_pre_generated_once_then_served_from_the_cache(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_cases_are_pre_generated_once_then_served_from_the_cache,
    less its check that a cached run never imports torch."""
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    first = pytester.runpytest(*model_args)
    first.stdout.fnmatch_lines(
        ["llmeval: pre-generated 4 cases (4 generations, 0 multiple choice) in * s; 4 requests computed*"]
    )
    again = pytester.runpytest(*model_args)
    again.stdout.fnmatch_lines(["llmeval: pre-generated 4 cases * 0 requests computed*"])
    again.assert_outcomes(passed=1, xfailed=1, failed=2)
    bypass = pytester.runpytest(*model_args, "--llmeval-no-cache")
    bypass.stdout.fnmatch_lines(["llmeval: pre-generated 4 cases * 4 requests computed*"])
    deselected = pytester.runpytest(*model_args, "-k", "good")
    deselected.stdout.fnmatch_lines(["llmeval: pre-generated 1 cases *"])


def test_multiple_choice_cases_are_scored_ahead(pytester: pytest.Pytester, model_args: list[str]) -> None:
    """tests/test_plugin_suites.py::test_multiple_choice_cases_are_scored_ahead"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect

        CASES = [Case(id=f"q{i}", prompt=f"Question {i}:", choices=("yes", "no", "maybe"), answer=i % 3)
                 for i in range(6)]

        @pytest.mark.llmeval
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_mc(llm, case):
            picked = llm.choose(case)
            assert picked.choices == case.choices and len(picked.logprobs) == 3
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        ["llmeval: pre-generated 6 cases (0 generations, 6 multiple choice) * 18 requests computed*"]
    )


def test_every_case_is_answered_from_one_large_batch(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_every_case_is_answered_from_a_few_large_batches[serial]"""
    pytester.makeconftest(
        """
        import json, pathlib
        import pytest

        @pytest.fixture(scope="session", autouse=True)
        def batch_count(llm):
            yield
            stats = llm.engine.stats
            pathlib.Path("stats-main.json").write_text(json.dumps([stats.memory_hits, stats.batches]))
        """
    )
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        CASES = [Case(id=f"c{i}", prompt=f"Count to {i}:") for i in range(40)]

        @pytest.mark.llmeval(max_tokens=3)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_served(llm, case):
            stats = llm.engine.stats
            before = (stats.memory_hits, stats.misses)
            llm.complete(case)
            # Answered from memory: generated ahead in a batch, not computed now.
            assert (stats.memory_hits, stats.misses) == (before[0] + 1, before[1])
        """
    )
    result = pytester.runpytest(*model_args, "--llmeval-no-cache")
    result.assert_outcomes(passed=40)
    assert json.loads((pytester.path / "stats-main.json").read_text()) == [40, 1]


def test_suite_metrics_are_summarised_and_gated(pytester: pytest.Pytester, model_args: list[str]) -> None:
    """tests/test_plugin_suites.py::test_suite_metrics_are_summarised_and_gated"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        MC = [Case(id=f"q{i}", prompt=f"Question {i}:", choices=("yes", "no"), answer=0) for i in range(8)]
        OPEN = [Case(id=f"o{i}", prompt=f"Say {i}:", expected="zebra crossing") for i in range(4)]

        @pytest.mark.llmeval(min={"acc": 1.01})
        @pytest.mark.parametrize("case", MC, ids=str)
        def test_mc(llm, case):
            llm.choose(case)

        @pytest.mark.llmeval(max_tokens=3, metrics=["exact_match", "token_f1"], min={"acc": 0.5})
        @pytest.mark.parametrize("case", OPEN, ids=str)
        def test_open(llm, case):
            llm.complete(case)
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=12)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "mc    8 cases  pass 1.000 * acc 0.* acc_norm * below threshold",
            "open  4 cases  pass 1.000 * exact_match 0.000 [[]0.000, 0.000[]]  token_f1 * below threshold",
            "llmeval: run FAILED: suite mc: acc 0.* is below its minimum 1.01",
            "llmeval: also: suite open: metric acc: acc needs multiple-choice cases answered with*",
        ]
    )


def test_samples_are_checked_one_by_one_and_give_pass_at_k(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_samples_are_checked_one_by_one_and_give_pass_at_k[serial]"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect
        from pytest_llmeval.checks import CheckResult

        CASES = [Case(id=f"c{i}", prompt=f"Tell me about {i}:") for i in range(4)]

        @pytest.mark.llmeval(max_tokens=4, temperature=1.0, seed=3, samples=3)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_sampled(llm, case):
            out = llm.complete(case)
            assert len(out.samples) == 3
            # Fails on the first sample only (the scripted samples all differ).
            expect(out).check_each(lambda text: CheckResult.of("later", text != out.samples[0], "first"))
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["sampled  4 cases  pass 1.000 * pass@1 0.667 [[]0.667, 0.667[]]  pass@3 1.000 [[]1.000, 1.000[]]*"]
    )
    assert result.ret == pytest.ExitCode.OK


def test_perplexity_suites_are_scored_ahead_by_rolling_loglikelihood(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_perplexity_suites_are_scored_ahead_by_rolling_loglikelihood"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        TEXTS = [Case(id=f"t{i}", prompt=f"Paragraph {i} of a held-out text.") for i in range(5)]

        @pytest.mark.llmeval(metrics=["perplexity", "bits_per_byte"])
        @pytest.mark.parametrize("case", TEXTS, ids=str)
        def test_text(llm, case):
            assert llm.perplexity(case).num_tokens > 0
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "llmeval: pre-generated 5 cases (0 generations, 0 multiple choice, 5 perplexity) in * s; "
            "5 requests computed*",
            "text  5 cases  pass 1.000 * perplexity * bits_per_byte *  ok",
        ]
    )


def test_a_score_the_test_records_is_a_suite_metric_with_its_bound(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_a_score_the_test_records_is_a_suite_metric_with_its_bound[serial]"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, record_score

        CASES = [Case(id=f"c{i}", prompt=f"Say {i}:") for i in range(6)]

        @pytest.mark.llmeval(max_tokens=3, min={"even": 0.75})
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_scored(llm, case):
            llm.complete(case)
            record_score("even", float(int(case.id[1:]) % 2 == 0))
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "scored  6 cases  pass 1.000 * even 0.500 [[]0.*, 0.*[]]  latency * below threshold",
            "llmeval: run FAILED: suite scored: even 0.500 is below its minimum 0.75",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_complete_with_overrides_keeps_the_markers_other_settings_and_the_answer_generated_ahead(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_suites.py::test_complete_with_overrides_keeps_the_markers_other_settings_and_the_answer_generated_ahead"""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        CASES = [Case(id=f"c{i}", prompt=f"Count to {i}:") for i in range(3)]

        @pytest.mark.llmeval(max_tokens=3, temperature=0.8, seed=2, samples=2)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_served(llm, case):
            stats = llm.engine.stats
            before = (stats.memory_hits, stats.misses)
            same = llm.complete(case, max_tokens=3)  # the marker's own value: the answer generated ahead
            assert (stats.memory_hits, stats.misses) == (before[0] + 1, before[1])
            longer = llm.complete(case, max_tokens=5)  # only max_tokens changes: still 2 seeded samples
            assert len(same.samples) == len(longer.samples) == 2
            assert longer.origin[1].spec.seed == 2 and longer.origin[1].spec.temperature == 0.8
        """
    )
    result = pytester.runpytest(*model_args, "--llmeval-no-cache")
    result.assert_outcomes(passed=3)


def test_engine_args_are_refused_by_the_transformers_backend(pytester: pytest.Pytester) -> None:
    """tests/test_plugin.py::test_engine_args_are_refused_by_the_transformers_backend: refused
    before any model is read, so a folder with no model in it shows it."""
    pytester.makepyfile(USES_LLM)
    model = pytester.mkdir("no-model-here")
    result = pytester.runpytest(
        f"--llmeval-model={model}",
        "--llmeval-backend=transformers",
        "--llmeval-engine-arg=enforce_eager=true",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["*llmeval: --llmeval-engine-arg configures vLLM; the transformers backend takes none*"]
    )


def test_judge_fixture_skips_without_a_judge_and_loads_one_when_set(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin.py::test_judge_fixture_skips_without_a_judge_and_loads_one_when_set"""
    pytester.makepyfile(
        """
        def test_judged(llm, judge):
            assert judge.engine is not llm.engine
            assert judge.engine.info.model.endswith("judge-model")
            assert isinstance(judge.generate("Rate this:", max_tokens=3), str)
        """
    )
    result = pytester.runpytest(*model_args, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no judge model: set --llmeval-judge-model*"])
    result = pytester.runpytest(*model_args, "--llmeval-judge-model=judge-model")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["llmeval: judge=judge-model backend=scripted"])


def test_a_sampled_suite_is_gated_by_pass_fraction_and_flaky_cases_are_listed(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """tests/test_plugin_gate.py::test_a_sampled_suite_is_gated_by_pass_fraction_and_flaky_cases_are_listed"""
    pytester.makepyfile(test_sampled=SAMPLED_SUITE)
    passes = {f"c{i:02d}": [True, True, i % 2 == 0] for i in range(30)}  # 15 flaky cases
    (pytester.path / "passes.json").write_text(json.dumps(passes))
    assert pytester.runpytest(*model_args).ret == pytest.ExitCode.OK
    same = pytester.runpytest(*model_args)
    same.stdout.fnmatch_lines(
        ["sampled  pass 0.833 -> 0.833 * OK  0 flipped pass->fail", "*15 flaky, compared by*"]
    )
    # Every case now passes 1 sample of 3. The old rule left all 30 out as flaky and said OK.
    (pytester.path / "passes.json").write_text(json.dumps({c: [True, False, False] for c in passes}))
    worse = pytester.runpytest(*model_args)
    assert worse.ret == pytest.ExitCode.TESTS_FAILED
    worse.stdout.fnmatch_lines(
        [
            "sampled  pass 0.833 -> 0.333 * REGRESSED  30 flipped pass->fail",
            "*(30 paired cases, sign-flip on pass fractions*30 flaky, compared by pass fraction",
        ]
    )


@pytest.mark.parametrize("tuned_fails", [20, 0], ids=["regressed", "same"])
def test_compare_model_runs_both_and_gates_the_difference(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, tuned_fails: int
) -> None:
    """tests/test_plugin_baselines.py::test_compare_model_runs_both_and_gates_the_difference[*-serial],
    the scripted engine under two names standing in for the tiny model under two names."""
    use_scripted_backend(monkeypatch)
    base, tuned = tmp_path / "base", tmp_path / "tuned"
    answers = {
        "base": {f"c{i:03d}": "yes" if i < 80 else "no" for i in range(100)},
        "tuned": {f"c{i:03d}": "yes" if i < 80 - tuned_fails else "no" for i in range(100)},
    }
    pytester.makepyfile(test_suite=COMPARED_SUITE)
    (pytester.path / "answers.json").write_text(json.dumps(answers))
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--llmeval-backend=scripted",
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
        # "base" and "tuned" are one script under two names: no new model to note.
        assert "model changed" not in result.stdout.str()
    else:
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["answers  pass 0.800 -> 0.800  d +0.0pt * OK  0 flipped pass->fail"])


def test_skip_xfail_and_fail_inside_a_case_are_no_errors(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """pytest.skip() in a case leaves it out of the suite, as a skip mark does; pytest.xfail() and
    pytest.fail() fail the case on purpose. None of them is a bug in the test: the suite reports
    no error, and its baseline is written (an error would have blocked it)."""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        CASES = [Case(id=f"c{i}", prompt=f"p{i}") for i in range(5)]

        @pytest.mark.llmeval(max_tokens=2)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_s(llm, case):
            llm.complete(case)
            if case.id == "c2":
                pytest.skip("no reference answer yet")
            if case.id == "c3":
                pytest.xfail("known to be wrong")
            if case.id == "c4":
                pytest.fail("wrong on purpose")
        """
    )
    result = pytester.runpytest(*model_args, "--llmeval-report-json=r.json")
    result.assert_outcomes(passed=2, skipped=1, xfailed=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["s  4 cases  pass 0.500 *failed checks 2  errors 0*"])
    cases = {c["id"]: c for c in json.loads((pytester.path / "r.json").read_text())["suites"][0]["cases"]}
    assert sorted(cases) == ["c0", "c1", "c3", "c4"] and not any(c["error"] for c in cases.values())
    assert json.loads((pytester.path / "baselines" / "s.json").read_text())["pass_rate"] == 0.5


def test_a_sampled_suite_whose_asserts_now_fail_regresses(
    pytester: pytest.Pytester, model_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """samples=K with a plain assert: the assert fails the case's every sample, so pass@1 and the
    gate see the drop (once the samples kept passing: pass@1 1.000 and the gate OK)."""
    source = """
        import os
        import pytest
        from pytest_llmeval import Case, expect
        from pytest_llmeval.checks import CheckResult

        CASES = [Case(id=f"c{i:02d}", prompt=f"Tell me about {i}:") for i in range(30)]

        @pytest.mark.llmeval(max_tokens=2, temperature=1.0, seed=3, samples=3)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_sampled(llm, case):
            out = llm.complete(case)
            expect(out).check_each(lambda text: CheckResult.of("answered", bool(text), "empty"))
            assert os.environ.get("BREAK") != "1", "broken on purpose"
        """
    pytester.makepyfile(source)
    assert pytester.runpytest(*model_args).ret == pytest.ExitCode.OK
    monkeypatch.setenv("BREAK", "1")
    result = pytester.runpytest(*model_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "sampled  30 cases  pass 0.000 * pass@1 0.000 *",
            "sampled  pass 1.000 -> 0.000 * REGRESSED  30 flipped pass->fail",
        ]
    )


def test_relative_paths_in_the_ini_file_are_relative_to_its_folder(
    pytester: pytest.Pytester, model_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started from a subfolder, a run once resolved ``llmeval_baselines = evals/baselines`` against
    the current folder: it missed the committed baseline and recorded a second one beside it."""
    pytester.makeini("[pytest]\nllmeval_baselines = evals/baselines\nllmeval_report_json = out/r.json\n")
    tests = pytester.mkdir("tests")
    (tests / "test_q.py").write_text(
        "import pytest\n"
        "from pytest_llmeval import Case\n"
        "@pytest.mark.llmeval(max_tokens=2)\n"
        "@pytest.mark.parametrize('case', [Case(id='c1', prompt='p1')], ids=str)\n"
        "def test_q(llm, case):\n"
        "    llm.complete(case)\n"
    )
    assert pytester.runpytest(*model_args).ret == pytest.ExitCode.OK
    monkeypatch.chdir(tests)
    again = pytester.runpytest(*model_args, "test_q.py")
    assert again.ret == pytest.ExitCode.OK
    again.stdout.fnmatch_lines(["q  pass 1.000 -> 1.000 * OK *"])
    written = sorted(str(p.relative_to(pytester.path)) for p in pytester.path.rglob("*.json"))
    assert written == ["evals/baselines/q.json", "out/r.json"]


def test_an_option_that_deselects_no_case_leaves_the_run_whole(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """`addopts = -m "not slow"` deselected nothing, yet the run counted as a subset: every
    suite's min_pass_rate was switched off for good. Only a case really left out makes a subset."""
    pytester.makeini('[pytest]\naddopts = -m "not slow"\nmarkers =\n    slow: slow\n')
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=", min_pass_rate=0.9"))
    result = pytester.runpytest(*model_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["llmeval: run FAILED: suite answers: pass rate 0.250 is below min_pass_rate 0.9"]
    )
    subset = pytester.runpytest(*model_args, "-k", "good or weak")
    subset.stdout.fnmatch_lines(["*(subset, not enforced)*"])


def test_a_case_pre_generation_cannot_ask_fails_alone(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """A multiple-choice case given as messages stopped the whole run with INTERNALERROR in
    pre-generation; it now fails on its own, and the other case runs."""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case

        CASES = [
            Case(id="ok", prompt="Pick one:", choices=("yes", "no"), answer=0),
            Case(id="chat", messages=[{"role": "user", "content": "Pick"}], choices=("yes", "no"), answer=0),
        ]

        @pytest.mark.llmeval()
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_mc(llm, case):
            llm.choose(case)
        """
    )
    result = pytester.runpytest(*model_args)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*choose() needs a case with a prompt and choices*"])


def test_after_ctrl_c_no_bound_is_judged_on_the_cases_that_ran(
    pytester: pytest.Pytester, model_args: list[str]
) -> None:
    """Stopped at the third of ten cases, the summary once said "run FAILED: pass rate 0.500 is
    below min_pass_rate 0.8", a verdict on two cases."""
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect

        CASES = [Case(id=f"c{i}", prompt=f"q{i}", expected="ok" if i else "zz") for i in range(10)]

        @pytest.mark.llmeval(max_tokens=4, min_pass_rate=0.8)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_answers(llm, case):
            if case.id == "c2":  # as Ctrl-C ends a run (a KeyboardInterrupt would end this one too)
                pytest.exit("stopped", returncode=pytest.ExitCode.INTERRUPTED)
            expect(llm.complete(case)).contains(case.expected)
        """
    )
    result = pytester.runpytest(*model_args)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["llmeval: interrupted: no baseline compared or written"])
    assert "run FAILED" not in result.stdout.str()
