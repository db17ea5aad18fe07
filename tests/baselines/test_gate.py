"""The gate over a run, without pytest: what is compared, recorded, warned about and failed."""

from __future__ import annotations

import json
from pathlib import Path

from pytest_llmeval.baselines import GateOptions, baseline_path, read_baseline, run_gate
from pytest_llmeval.baselines.gate import fingerprint_of
from pytest_llmeval.baselines.stats import Decision
from pytest_llmeval.suite import CaseRecord, SuiteResult, SuiteSpec

INFO = {"model": "smol", "weights_hash": "w1", "backend": "transformers", "dtype": "float32", "lora": None}


def record(case_id: str, passed: bool, **extra: object) -> CaseRecord:
    values: dict[str, object] = {
        "suite": "qa",
        "case_id": case_id,
        "passed": passed,
        "critical": False,
        "error": False,
        "checks": (),
        "output": f"answer {case_id}",
        "tags": (),
        "duration": 0.0,
        "input_hash": f"h{case_id}",
    }
    values.update(extra)
    return CaseRecord(**values)  # type: ignore[arg-type]


def suite(passing: int, failing: int, **extra: object) -> SuiteResult:
    records = [record(f"c{i:03d}", i < passing, **extra) for i in range(passing + failing)]
    return SuiteResult(SuiteSpec("qa"), tuple(records))


def gate_once(tmp_path: Path, result: SuiteResult, info: dict[str, object] | None = INFO, **options: object):
    return run_gate([result], {"qa": info}, GateOptions(directory=tmp_path, **options))  # type: ignore[arg-type]


def test_a_missing_baseline_is_recorded_then_compared(tmp_path: Path) -> None:
    first = gate_once(tmp_path, suite(150, 50))
    assert first.failures() == [] and first.suites[0].written == baseline_path(tmp_path, "qa")
    stored = read_baseline(baseline_path(tmp_path, "qa"))
    assert stored is not None and stored.pass_rate == 0.75 and stored.fingerprint.model == "smol"
    assert stored.cases["c000"].output is None and stored.cases["c000"].output_hash  # text only on request
    second = gate_once(tmp_path, suite(120, 80))
    [comparison] = second.suites[0].comparisons
    assert comparison.decision is Decision.REGRESSED and len(comparison.flips_to_fail) == 30
    assert second.failures() == [
        "suite qa: pass REGRESSED 0.750 -> 0.600 (p=1.552e-09, 30 flipped pass->fail)"
    ]
    assert second.suites[0].written is None


def test_outputs_are_kept_when_asked(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(2, 1), keep_outputs=True)
    stored = read_baseline(baseline_path(tmp_path, "qa"))
    assert stored is not None and stored.cases["c002"].output == "answer c002"


def test_under_ci_nothing_is_written_without_the_flag(tmp_path: Path) -> None:
    run = gate_once(tmp_path, suite(3, 1), ci=True)
    assert run.failures() == [
        f"suite qa: NOT COMPARED: no baseline at {tmp_path / 'qa.json'}; CI is set: record a baseline on "
        "purpose with --llmeval-update-baselines and commit it"
    ]
    assert run.suites[0].verdict == "NOT COMPARED"
    assert not list(tmp_path.iterdir())
    assert gate_once(tmp_path, suite(3, 1), ci=True, update="new").failures() == []


def test_a_suite_with_an_error_is_not_recorded(tmp_path: Path) -> None:
    records = (*suite(3, 0).records, record("c009", False, error=True))
    run = gate_once(tmp_path, SuiteResult(SuiteSpec("qa"), records))
    assert run.suites[0].written is None and not list(tmp_path.iterdir())
    assert run.suites[0].warnings == [
        "baseline not written: 1 case(s) raised an error (c009)",
        f"NOT COMPARED: no baseline at {tmp_path / 'qa.json'}",
    ]


def test_cases_whose_input_changed_are_not_paired_and_are_named(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(10, 0))
    changed = [record(f"c{i:03d}", i >= 2, input_hash="new" if i < 2 else f"hc{i:03d}") for i in range(10)]
    run = gate_once(tmp_path, SuiteResult(SuiteSpec("qa"), tuple(changed)))
    [comparison] = run.suites[0].comparisons
    assert comparison.compared == 8 and comparison.flips_to_fail == ()
    assert run.suites[0].warnings == [
        "input changed for 2 of 10 cases (dataset or prompt template changed): those are not compared, "
        "the other 8 are: c000, c001"
    ]


def test_a_new_model_is_noted_and_a_new_decoding_is_a_warning(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(5, 5))
    other = SuiteResult(SuiteSpec.from_marker("qa", {"max_tokens": 32}), suite(5, 5).records)
    run = gate_once(tmp_path, other, {**INFO, "model": "ckpt-1200", "weights_hash": "w2"})
    assert "model changed since the baseline: smol -> ckpt-1200" in run.suites[0].notes
    assert run.suites[0].warnings == ["generation settings changed since the baseline: max_tokens 256 -> 32"]


def test_the_same_weights_at_another_path_are_not_a_new_model(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(5, 5))
    run = gate_once(tmp_path, suite(5, 5), {**INFO, "model": str(tmp_path / "other-machine" / "smol.gguf")})
    assert run.suites[0].notes == []


def test_multiple_choice_scores_are_gated_too_and_holm_spans_the_run(tmp_path: Path) -> None:
    hits = suite(10, 0, scores={"acc": 1.0, "acc_norm": 1.0})
    gate_once(tmp_path, hits)
    worse = [record(f"c{i:03d}", True, scores={"acc": 1.0, "acc_norm": float(i < 3)}) for i in range(10)]
    run = gate_once(tmp_path, SuiteResult(SuiteSpec("qa"), tuple(worse)))
    names = [c.metric for c in run.suites[0].comparisons]
    assert names == ["pass", "acc", "acc_norm"]
    assert all(c.family == 3 for c in run.suites[0].comparisons)
    assert run.suites[0].comparisons[2].flips_to_fail == tuple(f"c{i:03d}" for i in range(3, 10))


def test_a_partial_update_keeps_the_cases_that_did_not_run(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(4, 0))
    subset = SuiteResult(SuiteSpec("qa"), (record("c001", False),))
    gate_once(tmp_path, subset, update="all", partial=True)
    stored = read_baseline(baseline_path(tmp_path, "qa"))
    assert stored is not None and sorted(stored.cases) == ["c000", "c001", "c002", "c003"]
    assert stored.cases["c001"].passed is False and stored.pass_rate == 0.75
    assert stored.metrics == {}  # they would describe one case, not the suite


def test_rewriting_an_unchanged_suite_changes_no_byte(tmp_path: Path) -> None:
    gate_once(tmp_path, suite(3, 2))
    text = baseline_path(tmp_path, "qa").read_text()
    gate_once(tmp_path, suite(3, 2), update="all")
    assert baseline_path(tmp_path, "qa").read_text() == text
    assert "latency" not in json.loads(text)["metrics"]


def test_stale_suites_are_listed_only_for_a_whole_run(tmp_path: Path) -> None:
    (tmp_path / "gone.json").write_text("{}")
    assert "gone.json" in gate_once(tmp_path, suite(1, 0), all_suites=True).notes[0]
    assert gate_once(tmp_path, suite(1, 0), all_suites=True, partial=True).notes == []
    assert gate_once(tmp_path, suite(1, 0)).notes == []  # one test file ran: other suites were not collected


def test_the_fingerprint_holds_the_dataset_hash(tmp_path: Path) -> None:
    a, b = suite(2, 1), suite(2, 1, input_hash="x")
    assert fingerprint_of(INFO, a).dataset_hash != fingerprint_of(INFO, b).dataset_hash
    assert fingerprint_of(None, a).model is None


def test_a_baselines_folder_that_cannot_be_written_is_a_failure_line(tmp_path: Path) -> None:
    blocked = tmp_path / "baselines"
    blocked.write_text("a file where the folder should be")
    run = run_gate([suite(3, 1)], {"qa": INFO}, GateOptions(directory=blocked))
    [failure] = run.failures()  # one line, no exception
    assert failure.startswith(f"suite qa: baseline {blocked / 'qa.json'} cannot be read: ")
    assert "Not a directory" in failure and run.suites[0].written is None
    assert blocked.read_text() == "a file where the folder should be"


def test_a_critical_case_that_flipped_makes_the_suite_regressed(tmp_path: Path) -> None:
    """One critical flip in 200 cases is no significant drop, yet it fails the run: the suite's
    one verdict (history, reports) must say REGRESSED, not WARNING."""
    gate_once(tmp_path, suite(200, 0, critical=True))
    run = gate_once(
        tmp_path,
        SuiteResult(
            SuiteSpec("qa"), (*suite(199, 0, critical=True).records, record("c199", False, critical=True))
        ),
    )
    [comparison] = run.suites[0].comparisons
    assert comparison.decision is not Decision.REGRESSED and comparison.critical_flips == ("c199",)
    assert run.suites[0].verdict == "REGRESSED"
    assert run.failures() == ["suite qa: critical case(s) flipped pass->fail: c199"]


def test_perplexity_counts_are_not_gated_only_the_log_likelihood(tmp_path: Path) -> None:
    """A model whose tokenizer needs 25% fewer tokens for the same texts, with a log-likelihood a
    little better: the token count is no quality score, so the suite is OK, not REGRESSED."""

    def texts(logprob: float, tokens: float) -> SuiteResult:
        scores = {
            "rolling_logprob": logprob,
            "rolling_tokens": tokens,
            "rolling_words": 60.0,
            "rolling_bytes": 300.0,
        }
        return SuiteResult(
            SuiteSpec("qa"), tuple(record(f"t{i:02d}", True, scores=dict(scores)) for i in range(40))
        )

    gate_once(tmp_path, texts(-350.0, 83.0))
    run = gate_once(tmp_path, texts(-340.0, 62.0))
    assert [c.metric for c in run.suites[0].comparisons] == ["pass", "rolling_logprob"]
    assert run.suites[0].verdict == "OK" and run.failures() == []


def test_a_suites_mean_text_metric_is_gated_case_by_case(tmp_path: Path) -> None:
    """exact_match 1.0 -> 0.5 with every case still passing its checks once gave OK: suite metrics
    were stored but never compared. Their per-case values now go into each record."""
    from pytest_llmeval import Case
    from pytest_llmeval.suite import ActiveCase, decide

    spec = SuiteSpec("qa", metrics=("exact_match", "token_f1"))

    def run(wrong: int) -> SuiteResult:
        records = []
        for i in range(60):
            active = ActiveCase(spec, Case(id=f"c{i:02d}", prompt=f"q{i}", expected="Paris"))
            active.output = "Lyon" if i < wrong else "Paris"
            records.append(decide(active, None, strict=False, duration=0.0)[0])
        return SuiteResult(spec, tuple(records))

    first = run(0)
    assert first.records[0].scores == {"exact_match": 1.0, "token_f1": 1.0}
    gate_once(tmp_path, first)
    run_ = gate_once(tmp_path, run(30))
    decisions = {c.metric: c.decision for c in run_.suites[0].comparisons}
    assert decisions == {
        "pass": Decision.OK,
        "exact_match": Decision.REGRESSED,
        "token_f1": Decision.REGRESSED,
    }
    assert run_.suites[0].verdict == "REGRESSED"
    assert [v.name for v in run(30).metrics[0]] == ["exact_match", "token_f1"]  # not again as record_score


def test_a_subset_records_no_first_baseline(tmp_path: Path) -> None:
    """A first run stopped by -x (or run with -k) once recorded the cases it ran as the baseline;
    later full runs then gated on those alone and listed the rest as new, never gated."""
    run = gate_once(tmp_path, suite(2, 0), partial=True)
    assert not list(tmp_path.iterdir()) and run.failures() == []
    where = tmp_path / "qa.json"
    assert run.suites[0].warnings == [
        f"NOT COMPARED: no baseline at {where}; none recorded from a subset of the cases: run all"
    ]
    assert gate_once(tmp_path, suite(2, 0), partial=True, update="new").suites[0].written is not None  # asked
