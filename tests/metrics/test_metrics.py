"""Suite metrics against hand-computed values and the reference libraries."""

from __future__ import annotations

import math
import random

import pytest

from pytest_llmeval.metrics import CaseScores, MetricError, compute
from pytest_llmeval.metrics.labels import precision_recall_f1
from pytest_llmeval.metrics.stats import bootstrap_interval, bootstrap_mean_interval, wilson_interval
from pytest_llmeval.metrics.text import exact_match, normalize_answer, token_f1


def cases(pairs: list[tuple[str, str]], passed: bool = True) -> list[CaseScores]:
    return [CaseScores(passed, output, expected, {}) for output, expected in pairs]


@pytest.mark.parametrize(("k", "n"), [(8, 10), (0, 20), (20, 20), (137, 500)])
def test_wilson_interval_matches_scipy(k: int, n: int) -> None:
    from scipy.stats import binomtest

    reference = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson_interval(k, n) == pytest.approx((reference.low, reference.high), abs=1e-6)


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    values = [float(i % 7) for i in range(200)]

    def mean_of(indices: list[int]) -> float:
        return sum(values[i] for i in indices) / len(indices)

    interval = bootstrap_interval(len(values), mean_of)
    assert interval == bootstrap_interval(len(values), mean_of)
    assert interval[0] < sum(values) / len(values) < interval[1]


@pytest.mark.parametrize("seed", range(40))
def test_the_numpy_mean_interval_equals_the_general_bootstrap_on_random_values(seed: int) -> None:
    rng = random.Random(seed)
    # Over 1,048 cases a thousand resamples are drawn in more than one block.
    size = rng.choice([1, 2, 3, rng.randrange(4, 60), rng.randrange(60, 400), rng.randrange(1100, 3000)])
    kind = rng.choice(["unit", "pass/fail", "wide"])
    if kind == "unit":
        values = [rng.random() for _ in range(size)]
    elif kind == "pass/fail":
        values = [float(rng.random() < 0.7) for _ in range(size)]
    else:
        values = [rng.uniform(-1e3, 1e3) for _ in range(size)]
    resamples, draw_seed = rng.choice([10, 200, 1000]), rng.randrange(1000)

    def mean_of(indices: list[int]) -> float:
        return math.fsum(values[i] for i in indices) / len(indices)

    plain = bootstrap_interval(size, mean_of, resamples=resamples, seed=draw_seed)
    fast = bootstrap_mean_interval(values, resamples=resamples, seed=draw_seed)
    assert fast == pytest.approx(plain, rel=1e-12, abs=1e-12)


def test_bootstrap_of_nothing_is_undecided() -> None:
    assert all(math.isnan(v) for v in bootstrap_mean_interval([]))
    assert all(math.isnan(v) for v in bootstrap_interval(0, lambda idx: 0.0))


def test_squad_normalisation_exact_match_and_f1() -> None:
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert exact_match("the Eiffel tower.", "Eiffel Tower") == 1.0
    assert token_f1("Paris, France", "Paris") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert token_f1("London", "Paris") == 0.0


def test_micro_and_macro_f1_match_scikit_learn() -> None:
    from sklearn.metrics import precision_recall_fscore_support

    predictions = ["pos", "neg", "pos", "neu", "neg", "pos", "neu", "neg"]
    references = ["pos", "neg", "neg", "neu", "neg", "neu", "pos", "neg"]
    for average in ("micro", "macro"):
        ours = precision_recall_f1(predictions, references, average=average)
        theirs = precision_recall_fscore_support(references, predictions, average=average, zero_division=0)
        assert ours == pytest.approx(theirs[:3])


def test_bleu_and_chrf_match_sacrebleu_and_rouge_is_per_case() -> None:
    import sacrebleu

    pairs = [
        ("the cat sat on the mat", "the cat is on the mat"),
        ("a quick brown fox", "the quick brown fox"),
    ]
    bleu = compute("bleu", cases(pairs))
    expected = sacrebleu.corpus_bleu([p for p, _ in pairs], [[r for _, r in pairs]]).score / 100
    assert bleu.value == pytest.approx(expected) and bleu.n == 2
    chrf = compute("chrf", cases(pairs))
    assert chrf.value == pytest.approx(
        sacrebleu.corpus_chrf([p for p, _ in pairs], [[r for _, r in pairs]]).score / 100
    )
    rouge = compute("rougeL", cases([("same words here", "same words here"), ("nothing", "else")]))
    assert rouge.value == pytest.approx(0.5)


def test_pass_rate_and_multiple_choice_scores() -> None:
    records = [CaseScores(i < 3, "x", "x", {"acc": float(i < 2), "acc_norm": float(i < 3)}) for i in range(4)]
    assert compute("pass_rate", records).value == 0.75
    assert compute("acc", records).value == 0.5
    assert compute("acc_norm", records).value == 0.75
    low, high = wilson_interval(2, 4)
    assert (compute("acc", records).low, compute("acc", records).high) == (low, high)


def test_metrics_that_cannot_be_computed_say_why() -> None:
    with pytest.raises(MetricError, match="unknown metric 'bleurt'"):
        compute("bleurt", cases([("a", "a")]))
    with pytest.raises(MetricError, match="1 of 2 cases have no output"):
        compute("exact_match", [CaseScores(True, "a", "a", {}), CaseScores(True, None, "a", {})])
    with pytest.raises(MetricError, match="acc needs multiple-choice cases"):
        compute("acc", cases([("a", "a")]))
    assert math.isnan(compute("pass_rate", []).value)


@pytest.mark.slow  # importing evaluate imports torch, transformers and datasets: 9 s
def test_an_evaluate_metric_that_cannot_be_fetched_says_why() -> None:
    # HF_HUB_OFFLINE is set for the tests: a metric that is not cached cannot be fetched.
    with pytest.raises(MetricError, match="could not load evaluate metric 'no_such_metric_xyz'"):
        compute("evaluate:no_such_metric_xyz", cases([("a", "a")]))


def timed(latency: float, share: float, tokens: int) -> CaseScores:
    return CaseScores(
        True, "x", None, {}, timing={"latency_s": latency, "engine_s": share, "completion_tokens": tokens}
    )


def test_latency_and_tokens_per_second_use_this_runs_engine_time() -> None:
    # Two batches: 2 s for 4 cases of 10 tokens, then 1 s for 1 case of 30 tokens.
    cases = [timed(2.0, 0.5, 10) for _ in range(4)] + [timed(1.0, 1.0, 30), CaseScores(True, "x", None, {})]
    latency = compute("latency", cases)
    assert (latency.value, latency.n) == (pytest.approx(9.0 / 5), 5)  # the untimed (cached) case is left out
    assert compute("tokens_per_s", cases).value == pytest.approx(70 / 3.0)
    with pytest.raises(MetricError, match="came from the response cache"):
        compute("latency", [CaseScores(True, "x", None, {})])


def rolling(logprob: float, tokens: int, words: int, size: int) -> CaseScores:
    scores = {
        "rolling_logprob": logprob,
        "rolling_tokens": tokens,
        "rolling_words": words,
        "rolling_bytes": size,
    }
    return CaseScores(True, None, None, scores)


def test_perplexities_are_corpus_level_like_lm_eval() -> None:
    cases = [rolling(-10.0, 5, 4, 20), rolling(-30.0, 15, 6, 40)]
    assert compute("perplexity", cases).value == pytest.approx(math.exp(40 / 20))
    assert compute("word_perplexity", cases).value == pytest.approx(math.exp(40 / 10))
    assert compute("byte_perplexity", cases).value == pytest.approx(math.exp(40 / 60))
    assert compute("bits_per_byte", cases).value == pytest.approx(40 / 60 / math.log(2))
    with pytest.raises(MetricError, match=r"llm.perplexity\(case\)"):
        compute("perplexity", [CaseScores(True, "x", None, {})])
