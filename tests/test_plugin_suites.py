"""Eval suites as users run them: outcomes, thresholds, pre-generation and the summary, with xdist too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .helpers import OUTCOMES_SUITE


def model_args(tiny_model_dir: Path, tmp_path: Path) -> list[str]:
    return [f"--llmeval-model={tiny_model_dir}", f"--llmeval-cache-dir={tmp_path / 'cache'}"]


@pytest.mark.parametrize("workers", [[]], ids=["serial"])  # xdist: the suites below
def test_case_outcomes_follow_the_rules(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path, workers: list[str]
) -> None:
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), "-rxf", *workers)
    # good passes; weak is an expected failure; vital (critical) and buggy (an error) fail for real.
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


@pytest.mark.parametrize("workers", [[]], ids=["serial"])  # xdist: the suites below
def test_a_suite_below_its_pass_rate_fails_the_run_though_no_test_failed(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path, workers: list[str]
) -> None:
    # Only the good and the weak case, all of the suite: its threshold holds (a -k subset's would not).
    source = (
        OUTCOMES_SUITE.format(extra=", min_pass_rate=0.9")
        .replace("CASES = [", "CASES = [c for c in [")
        .replace("\n]\n", "\n] if c.id in ('good', 'weak')]\n", 1)
    )
    pytester.makepyfile(source)
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), *workers)
    result.assert_outcomes(passed=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "answers  2 cases  pass 0.500 * below threshold (min 0.9)",
            "llmeval: run FAILED: suite answers: pass rate 0.500 is below min_pass_rate 0.9",
        ]
    )
    # The same two cases picked out with -k from the whole suite are a subset: said, not enforced.
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=", min_pass_rate=0.9"))
    subset = pytester.runpytest_subprocess(
        *model_args(tiny_model_dir, tmp_path), "-k", "good or weak", *workers
    )
    assert subset.ret == pytest.ExitCode.OK
    subset.stdout.fnmatch_lines(
        ["llmeval: suite answers: pass rate 0.500 is below min_pass_rate 0.9 (subset, not enforced)"]
    )


def test_strict_turns_expected_failures_into_failures(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    result = pytester.runpytest_subprocess(
        *model_args(tiny_model_dir, tmp_path), "--llmeval-strict", "-k", "weak", "-rf"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["failed checks (--llmeval-strict): equals: expected 'ok', got 'bad'"])


def test_cases_are_pre_generated_once_then_served_from_the_cache(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    pytester.makepyfile(OUTCOMES_SUITE.format(extra=""))
    pytester.makeconftest(
        """
        import sys

        def pytest_terminal_summary(terminalreporter):
            terminalreporter.write_line(f"torch imported: {'torch' in sys.modules}")
        """
    )
    first = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path))
    first.stdout.fnmatch_lines(
        ["llmeval: pre-generated 4 cases (4 generations, 0 multiple choice) in * s; 4 requests computed*"]
    )
    first.stdout.fnmatch_lines(["torch imported: True"])
    again = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path))
    again.stdout.fnmatch_lines(["llmeval: pre-generated 4 cases * 0 requests computed*"])
    again.stdout.fnmatch_lines(["torch imported: False"])  # every answer was stored: no model was loaded
    again.assert_outcomes(passed=1, xfailed=1, failed=2)
    bypass = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), "--llmeval-no-cache")
    bypass.stdout.fnmatch_lines(["llmeval: pre-generated 4 cases * 4 requests computed*"])
    deselected = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), "-k", "good")
    deselected.stdout.fnmatch_lines(["llmeval: pre-generated 1 cases *"])


def test_multiple_choice_cases_are_scored_ahead(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
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
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path))
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        ["llmeval: pre-generated 6 cases (0 generations, 6 multiple choice) * 18 requests computed*"]
    )


def test_expect_raises_in_a_plain_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_llmeval import expect

        def test_plain():
            expect("The answer is 41.").contains("42")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["E *CheckFailed: contains: missing [[]'42'[]] in 'The answer is 41.'"])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "@pytest.mark.llmeval\ndef test_x(llm): pass",
            "*test_x: @pytest.mark.llmeval marks an eval suite, which needs the test parametrized over Case*",
        ),
        (
            "@pytest.mark.llmeval(max_token=5)\n"
            "@pytest.mark.parametrize('case', [Case(id='a', prompt='p')])\n"
            "def test_x(llm, case): pass",
            "*llmeval marker: unknown setting(s) max_token; known: max_tokens*",
        ),
        (
            "@pytest.mark.llmeval(temperature=-1)\n"
            "@pytest.mark.parametrize('case', [Case(id='a', prompt='p')])\n"
            "def test_x(llm, case): pass",
            "*llmeval marker: temperature must be a finite number >= 0, got -1*",
        ),
    ],
    ids=["not-parametrized", "unknown-setting", "bad-value"],
)
def test_bad_suite_markers_are_usage_errors(pytester: pytest.Pytester, source: str, message: str) -> None:
    pytester.makepyfile("import pytest\nfrom pytest_llmeval import Case\n" + source)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


@pytest.mark.slow  # starts two xdist workers
def test_under_xdist_a_bad_suite_fails_its_items_with_the_message(pytester: pytest.Pytester) -> None:
    """A worker cannot stop the run with a usage error: it crashed (INTERNALERROR, exit 3) and the
    message was lost. Its suite items now fail with it."""
    pytester.makepyfile(
        "import pytest\nfrom pytest_llmeval import Case\n"
        "@pytest.mark.llmeval(max_token=4)\n"
        "@pytest.mark.parametrize('case', [Case(id='a', prompt='p'), Case(id='b', prompt='q')], ids=str)\n"
        "def test_x(llm, case): pass\n"
        "def test_plain(): pass\n"
    )
    result = pytester.runpytest_subprocess("-n", "2", "--llmeval-model=/no/such/model")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, errors=2)
    result.stdout.fnmatch_lines(["*llmeval marker: unknown setting(s) max_token; known: max_tokens*"])
    assert "INTERNALERROR" not in result.stdout.str()


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_every_case_is_answered_from_a_few_large_batches(
    pytester: pytest.Pytester, tiny_model_dir: Path, workers: list[str]
) -> None:
    pytester.makeconftest(
        """
        import json, os, pathlib
        import pytest

        @pytest.fixture(scope="session", autouse=True)
        def batch_count(llm):
            yield
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            stats = llm.engine.stats
            pathlib.Path(f"stats-{worker}.json").write_text(json.dumps([stats.memory_hits, stats.batches]))
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
    result = pytester.runpytest_subprocess(
        f"--llmeval-model={tiny_model_dir}", "--llmeval-no-cache", *workers
    )
    result.assert_outcomes(passed=40)
    counts = [json.loads(p.read_text()) for p in pytester.path.glob("stats-*.json")]
    assert len(counts) == (2 if workers else 1)
    assert sum(cases for cases, _ in counts) == 40
    print("cases answered and engine batches per worker:", counts)
    # One engine call per case would be 40 batches. Serially it is 1. Under xdist, a worker that
    # starts first runs its block and then steals small pieces of the other's, one batch each:
    # measured here 8 to 11 batches in all, depending on how far apart the workers start.
    assert sum(batches for _, batches in counts) <= (1 if not workers else 16), counts


def test_suite_metrics_are_summarised_and_gated(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
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
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path))
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


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_samples_are_checked_one_by_one_and_give_pass_at_k(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path, workers: list[str]
) -> None:
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
            # Fails on the first sample only (independent samples of a random model differ).
            expect(out).check_each(lambda text: CheckResult.of("later", text != out.samples[0], "first"))
        """
    )
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), *workers)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        ["sampled  4 cases  pass 1.000 * pass@1 0.667 [[]0.667, 0.667[]]  pass@3 1.000 [[]1.000, 1.000[]]*"]
    )
    assert result.ret == pytest.ExitCode.OK


def test_perplexity_suites_are_scored_ahead_by_rolling_loglikelihood(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
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
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path))
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        [
            "llmeval: pre-generated 5 cases (0 generations, 0 multiple choice, 5 perplexity) in * s; "
            "5 requests computed*",
            "text  5 cases  pass 1.000 * perplexity * bits_per_byte *  ok",
        ]
    )


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_a_score_the_test_records_is_a_suite_metric_with_its_bound(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path, workers: list[str]
) -> None:
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
    result = pytester.runpytest_subprocess(*model_args(tiny_model_dir, tmp_path), *workers)
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(
        [
            "scored  6 cases  pass 1.000 * even 0.500 [[]0.*, 0.*[]]  latency * below threshold",
            "llmeval: run FAILED: suite scored: even 0.500 is below its minimum 0.75",
        ]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_complete_with_overrides_keeps_the_markers_other_settings_and_the_answer_generated_ahead(
    pytester: pytest.Pytester, tiny_model_dir: Path
) -> None:
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
    result = pytester.runpytest_subprocess(f"--llmeval-model={tiny_model_dir}", "--llmeval-no-cache")
    result.assert_outcomes(passed=3)


SCRIPTED_LLM = """
import pytest
from pytest_llmeval import LLM
from pytest_llmeval.testing import ScriptedEngine

@pytest.fixture(scope="session")
def llm():
    return LLM(ScriptedEngine(default="Paris"))
"""


def test_a_suite_that_asks_a_cases_own_messages_outside_complete_fails_saying_so(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(SCRIPTED_LLM)
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect

        ASK = ({"role": "user", "content": "Capital of France?"},)
        CASES = [Case(id="capital", messages=ASK, expected="Paris")]

        @pytest.mark.llmeval(metrics=["exact_match"])
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_chatted(llm, case):
            expect(llm.chat(case.messages)).contains("Paris")

        @pytest.mark.llmeval(metrics=["exact_match"])
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_completed(llm, case):
            expect(llm.complete(case)).contains("Paris")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E   *SuiteError: llm.chat() was given the running case's own messages (case 'capital' of eval "
            "suite 'chatted'): *Use llm.complete(case)*",
            "completed  1 cases  pass 1.000 * exact_match 1.000 *",
        ]
    )
