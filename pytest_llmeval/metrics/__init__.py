"""Suite metrics with 95% intervals, computed from the per-case records of a run.

Names a suite can ask for (``@pytest.mark.llmeval(metrics=[...], min={...})``):
``pass_rate`` (alias ``accuracy``), ``acc`` and ``acc_norm`` (multiple choice, as
lm-evaluation-harness defines them), ``exact_match`` and ``token_f1`` (SQuAD normalisation),
``rouge1``/``rouge2``/``rougeL``, ``bleu``, ``chrf``, ``precision_micro``/``_macro``,
``recall_micro``/``_macro``, ``f1_micro``/``_macro``; with ``samples=K``: ``pass@k`` (k <= K) and
``majority`` (maj@K); ``latency`` (seconds a case waited for the engine call that answered it)
and ``tokens_per_s`` (completion tokens per second of engine time), measured on answers computed
in this run; ``perplexity``, ``word_perplexity``, ``byte_perplexity`` and ``bits_per_byte``
(lm-evaluation-harness's rolling-loglikelihood definitions) for cases scored with
``llm.perplexity(case)``; ``evaluate:NAME`` for any metric of the ``evaluate`` library that
can be loaded; and any name a suite's cases give a score with ``record_score`` (its mean).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .labels import precision_recall_f1
from .sampling import majority_correct, pass_at_k
from .stats import bootstrap_interval, bootstrap_mean_interval, mean, wilson_interval
from .text import bleu, chrf, exact_match, rouge, token_f1


class MetricError(ValueError):
    """A metric that cannot be computed on these cases (unknown name, no references...)."""


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float
    low: float
    high: float
    n: int

    def text(self) -> str:
        return f"{self.name} {self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass(frozen=True)
class CaseScores:
    """What a metric needs of one case: did it pass, what it said, what was expected, its scores."""

    passed: bool
    output: str | None
    expected: str | None
    scores: dict[str, float]
    samples: tuple[str, ...] = ()  # every sample with samples=K; empty for one
    sample_passes: tuple[bool, ...] = ()  # did each sample pass every check
    timing: dict[str, float] = field(default_factory=dict)  # latency_s, engine_s, completion_tokens


Pairs = tuple[list[str], list[str]]

_PER_CASE: dict[str, Callable[[str, str], float]] = {"exact_match": exact_match, "token_f1": token_f1}
_CORPUS: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {"bleu": bleu, "chrf": chrf}
_LABELS = {f"{kind}_{avg}" for kind in ("precision", "recall", "f1") for avg in ("micro", "macro")}
_PASS_AT = re.compile(r"pass@([1-9][0-9]*)")
# Rolling-loglikelihood metrics: the per-case score that counts the units each one divides by.
PERPLEXITY = {
    "perplexity": "rolling_tokens",
    "word_perplexity": "rolling_words",
    "byte_perplexity": "rolling_bytes",
    "bits_per_byte": "rolling_bytes",
}
KNOWN = (
    "pass_rate",
    "accuracy",
    "acc",
    "acc_norm",
    "pass@k",
    "majority",
    "latency",
    "tokens_per_s",
    *PERPLEXITY,
    *_PER_CASE,
    "rouge1",
    "rouge2",
    "rougeL",
    *_CORPUS,
    *sorted(_LABELS),
)


# Suite metrics that are the mean of a value per case: those values go into each case's record
# (and its baseline entry), so the gate compares them case by case like any other score.
PER_CASE_TEXT = (*_PER_CASE, "rouge1", "rouge2", "rougeL")


def case_metric_values(names: Sequence[str], output: str | None, expected: object) -> dict[str, float]:
    """The per-case values of the suite's mean text metrics for one answer (none without both an
    output and a text to compare it with)."""
    wanted = [name for name in names if name in PER_CASE_TEXT]
    if not wanted or output is None or expected is None:
        return {}
    reference = str(expected)  # as the suite metric reads it (_pairs)
    values = {name: _PER_CASE[name](output, reference) for name in wanted if name in _PER_CASE}
    values.update({name: rouge([output], [reference], name)[0] for name in wanted if name not in _PER_CASE})
    return values


def compute(name: str, cases: Sequence[CaseScores]) -> MetricValue:
    """One named metric over a suite's cases, with its 95% interval."""
    n = len(cases)
    if name in ("pass_rate", "accuracy"):
        passed = sum(c.passed for c in cases)
        return MetricValue(name, passed / n if n else math.nan, *wilson_interval(passed, n), n)
    if name in ("acc", "acc_norm"):
        scored = [c.scores[name] for c in cases if name in c.scores]
        if not scored:
            raise MetricError(f"{name} needs multiple-choice cases answered with llm.choose(case)")
        hits = int(sum(scored))
        return MetricValue(name, hits / len(scored), *wilson_interval(hits, len(scored)), len(scored))
    if match := _PASS_AT.fullmatch(name):
        return _pass_at(name, int(match.group(1)), cases)
    if name == "majority":
        return _majority(cases)
    if name in ("latency", "tokens_per_s"):
        return _speed(name, cases)
    if name in PERPLEXITY:
        return _perplexity(name, cases)
    if name not in KNOWN and any(name in c.scores for c in cases):  # the test's own record_score
        return _mean_metric(name, [c.scores[name] for c in cases if name in c.scores])
    if name.startswith("evaluate:"):
        predictions, references = _pairs(name, cases)
        return _corpus_metric(name, predictions, references, _evaluate_metric(name.split(":", 1)[1]), 100)
    predictions, references = _pairs(name, cases)
    if name in _PER_CASE:
        return _mean_metric(
            name, [_PER_CASE[name](p, r) for p, r in zip(predictions, references, strict=True)]
        )
    if name in ("rouge1", "rouge2", "rougeL"):
        return _mean_metric(name, rouge(predictions, references, name))
    if name in _CORPUS:
        return _corpus_metric(name, predictions, references, _CORPUS[name], 200)
    if name in _LABELS:
        kind, average = name.split("_")
        index = ("precision", "recall", "f1").index(kind)
        return _corpus_metric(
            name,
            predictions,
            references,
            lambda p, r: precision_recall_f1(p, r, average=average)[index],
            1000,
        )
    raise MetricError(f"unknown metric {name!r}; known: {', '.join(KNOWN)}, evaluate:NAME")


def _pass_at(name: str, k: int, cases: Sequence[CaseScores]) -> MetricValue:
    # A case without samples is one sample: its own pass/fail.
    outcomes = [c.sample_passes or (c.passed,) for c in cases]
    fewest = min((len(o) for o in outcomes), default=0)
    if k > fewest:
        raise MetricError(f"{name} needs at least {k} samples per case (samples={k} or more); got {fewest}")
    return _mean_metric(name, [pass_at_k(len(o), sum(o), k) for o in outcomes])


def _majority(cases: Sequence[CaseScores]) -> MetricValue:
    voted = [c for c in cases if len(c.samples) > 1 and c.expected is not None]
    if not voted:
        raise MetricError("majority needs samples=K (K > 1) and cases with an expected answer")
    hits = sum(majority_correct(c.samples, str(c.expected)) for c in voted)
    return MetricValue("majority", hits / len(voted), *wilson_interval(hits, len(voted)), len(voted))


def _speed(name: str, cases: Sequence[CaseScores]) -> MetricValue:
    timed = [c.timing for c in cases if c.timing]
    if not timed:
        raise MetricError(
            f"{name} is measured on answers the engine computed in this run, and every answer came "
            "from the response cache (or no case called llm.complete); use --llmeval-no-cache to measure"
        )
    if name == "latency":
        return _mean_metric(name, [t["latency_s"] for t in timed])

    def rate(indices: Sequence[int]) -> float:
        seconds = sum(timed[i]["engine_s"] for i in indices)
        return sum(timed[i]["completion_tokens"] for i in indices) / seconds if seconds else math.nan

    low, high = bootstrap_interval(len(timed), rate)
    return MetricValue(name, rate(range(len(timed))), low, high, len(timed))


def _perplexity(name: str, cases: Sequence[CaseScores]) -> MetricValue:
    scored = [c.scores for c in cases if "rolling_logprob" in c.scores]
    if not scored:
        raise MetricError(f"{name} needs cases scored with llm.perplexity(case)")
    unit = PERPLEXITY[name]

    def value(indices: Sequence[int]) -> float:
        # Corpus level, as lm-eval aggregates: total logprob over total units, not a mean of ratios.
        logprob = sum(scored[i]["rolling_logprob"] for i in indices)
        units = sum(scored[i][unit] for i in indices)
        if name == "bits_per_byte":
            return -logprob / units / math.log(2)
        return math.exp(-logprob / units)

    low, high = bootstrap_interval(len(scored), value)
    return MetricValue(name, value(range(len(scored))), low, high, len(scored))


def _pairs(name: str, cases: Sequence[CaseScores]) -> Pairs:
    missing = [i for i, c in enumerate(cases) if c.output is None or c.expected is None]
    if missing:
        raise MetricError(
            f"{name} compares each case's output with its expected answer; "
            f"{len(missing)} of {len(cases)} cases have no output (llm.complete) or no expected"
        )
    return [str(c.output) for c in cases], [str(c.expected) for c in cases]


def _mean_metric(name: str, values: list[float]) -> MetricValue:
    low, high = bootstrap_mean_interval(values)
    return MetricValue(name, mean(values), low, high, len(values))


def _corpus_metric(
    name: str,
    predictions: list[str],
    references: list[str],
    metric: Callable[[Sequence[str], Sequence[str]], float],
    resamples: int,
) -> MetricValue:
    def on(indices: Sequence[int]) -> float:
        return metric([predictions[i] for i in indices], [references[i] for i in indices])

    low, high = bootstrap_interval(len(predictions), on, resamples=resamples)
    return MetricValue(name, metric(predictions, references), low, high, len(predictions))


def _evaluate_metric(metric_name: str) -> Callable[[Sequence[str], Sequence[str]], float]:
    try:
        import evaluate

        module = evaluate.load(metric_name)
    except Exception as exc:  # offline, unknown name, missing extra dependency
        raise MetricError(
            f"could not load evaluate metric {metric_name!r} ({type(exc).__name__}: {exc}); evaluate "
            "downloads metric scripts from the hub, so run once online or pick a built-in metric"
        ) from exc

    def score(predictions: Sequence[str], references: Sequence[str]) -> float:
        result = module.compute(predictions=list(predictions), references=list(references))
        numbers = [v for v in (result or {}).values() if isinstance(v, int | float)]
        if not numbers:
            raise MetricError(f"evaluate metric {metric_name!r} returned no single number: {result!r}")
        return float(numbers[0])

    return score


__all__ = [
    "KNOWN",
    "PERPLEXITY",
    "PER_CASE_TEXT",
    "CaseScores",
    "MetricError",
    "MetricValue",
    "case_metric_values",
    "compute",
    "wilson_interval",
]
