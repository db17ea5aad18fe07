"""``expect(output)``: fluent checks that raise in a plain test and record softly in an eval suite.

In a plain test a failed check raises ``CheckFailed`` (an AssertionError) at once, like
``assert``. Inside an eval-suite case every check is recorded and the test goes on, so one run
shows all of a case's problems; the plugin then decides the case's outcome from the record.

An output with several samples (``samples=K`` or ``n=K``) is checked sample by sample. A plain
test needs every sample to pass; a suite case records which samples passed (for pass@k and
flaky-case detection) and passes a check when a majority of samples do.

``expect`` takes text: a ``str`` (an ``Output`` is one) or UTF-8 ``bytes``. A model (``LLM``) is
accepted only for the probes that ask it themselves (``counterfactual``); anything else is refused
at once, so a check never examines the repr of something that is not an answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import checks
from .checks.result import CheckInputError, CheckResult, text_of
from .llm import LLM, Output
from .suite import active_case

if TYPE_CHECKING:
    from .checks.fairness import Sameness
    from .checks.grounding import Method
    from .checks.judge import JudgeModel, Scoring
    from .checks.pii import PiiKind
    from .checks.similarity import Method as SimilarityMethod


class CheckFailed(AssertionError):
    """A check that failed in a plain test; the message shows the check's reason and evidence."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.line())
        self.result = result


class Expectation:
    """Checks over one output. Each method returns the expectation, so checks chain."""

    def __init__(self, output: str | bytes | bytearray | LLM) -> None:
        if not isinstance(output, str | bytes | bytearray | LLM):
            raise CheckInputError(
                f"expect() takes the model's answer as text: a str (an Output is one) or UTF-8 bytes; "
                f"got {type(output).__name__} {_short_repr(output)}"
            )
        self.output = output
        self.results: list[CheckResult] = []

    def check(self, result: CheckResult) -> Expectation:
        """Record or raise one CheckResult: the hook for custom checks."""
        __tracebackhide__ = True  # a failure points at the user's line, not at this module
        self.results.append(result)
        settle(result)
        return self

    def check_each(self, check: Callable[..., CheckResult], *args: Any, **kwargs: Any) -> Expectation:
        """Run ``check(text, *args, **kwargs)`` on the output, or on each of its samples."""
        __tracebackhide__ = True
        samples = self._texts()
        if len(samples) < 2:
            return self.check(check(samples[0], *args, **kwargs))
        results = [check(sample, *args, **kwargs) for sample in samples]
        active = active_case()
        overall = _over_samples(results, majority=active is not None)
        if active is not None:
            active.record_samples([r.passed for r in results], overall)
        return self.check(overall)

    def contains(self, *needles: str, any_of: bool = False, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.contains, *needles, any_of=any_of, case=case)

    def not_contains(self, *needles: str, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.not_contains, *needles, case=case)

    def equals(self, expected: str, *, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.equals, expected, case=case)

    def matches(self, pattern: str, *, flags: int = 0) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.matches, pattern, flags=flags)

    def number(self, expected: float | str, *, tolerance: float = 0.0) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.number, expected, tolerance=tolerance)

    def starts_with(self, prefix: str, *, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.starts_with, prefix, case=case)

    def one_of(self, options: Sequence[str], *, case: bool = False) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.one_of, options, case=case)

    def json(self, *, schema: Any = None) -> Any:
        """Check the output is JSON (valid for ``schema``) and return the parsed value.

        The value is the pydantic model instance when ``schema`` is a model class, else the parsed
        JSON; None when the check failed inside an eval suite (where failures do not raise).
        """
        __tracebackhide__ = True
        self.check_each(checks.json, schema=schema)
        first = checks.json(self._texts()[0], schema=schema)
        return first.value if first.passed else None

    def words(self, *, min: int | None = None, max: int | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.words, min=min, max=max)

    def sentences(self, *, min: int | None = None, max: int | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.sentences, min=min, max=max)

    def chars(self, *, min: int | None = None, max: int | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.chars, min=min, max=max)

    def language(self, code: str) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.language, code)

    def bullets(self, *, min: int = 1, max: int | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.bullets, min=min, max=max)

    def headings(self, *, min: int = 1, level: int | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.headings, min=min, level=level)

    def numbered_steps(self, *, min: int = 1) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.numbered_steps, min=min)

    def similar_to(
        self,
        reference: str,
        *,
        min: float = 0.8,
        model: str | None = None,
        method: SimilarityMethod = "auto",
    ) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.similar_to, reference, min=min, model=model, method=method)

    def judge(
        self,
        rubric: str,
        *,
        by: JudgeModel,
        question: str | None = None,
        min_score: float | None = None,
        samples: int = 1,
        scoring: Scoring = "verdict",
    ) -> Expectation:
        """Let the judge model ``by`` (the ``judge`` fixture) grade the output against ``rubric``:
        by its verdict (the majority of ``samples``), or G-Eval style with ``scoring="logprobs"``."""
        __tracebackhide__ = True
        return self.check_each(
            checks.judged,
            rubric,
            judge=by,
            question=question,
            min_score=min_score,
            samples=samples,
            scoring=scoring,
        )

    def not_garbled(
        self,
        *,
        script: str | None = None,
        reference: LLM | Callable[[str], float] | None = None,
        max_perplexity: float | None = None,
    ) -> Expectation:
        """No degenerate text; ``reference`` (a model, or text -> perplexity) also flags gibberish."""
        __tracebackhide__ = True
        options: dict[str, Any] = {"script": script}
        if reference is not None:
            options["reference"] = _perplexity_of(reference)
        if max_perplexity is not None:
            options["max_perplexity"] = max_perplexity
        return self.check_each(checks.not_garbled, **options)

    def grounded_in(
        self,
        context: str,
        *,
        method: Method = "facts",
        min_supported: float = 1.0,
        nli_model: str | None = None,
        judge: JudgeModel | None = None,
        judge_samples: int = 1,
        one_step: bool = False,
    ) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(
            checks.grounded_in,
            context,
            method=method,
            min_supported=min_supported,
            nli_model=nli_model,
            judge=judge,
            judge_samples=judge_samples,
            one_step=one_step,
        )

    def consistent(
        self,
        *,
        samples: int | Sequence[str] = 5,
        min_agreement: float = 0.5,
        temperature: float | None = None,
    ) -> Expectation:
        """The model backs its own claims when asked again (SelfCheckGPT-style self-consistency).

        An output that already has several samples (``samples=K``) is compared with them; otherwise
        ``samples`` more answers are drawn from the model that wrote it (at ``temperature``; by
        default the answer's own, or ``pytest_llmeval.llm.RESAMPLE_TEMPERATURE`` for a greedy
        one), or are given as a list.
        """
        __tracebackhide__ = True
        texts = self._texts()
        if len(texts) > 1:
            first, others = texts[0], texts[1:]
        elif isinstance(samples, int):
            if not isinstance(self.output, Output) or self.output.origin is None:
                raise TypeError(
                    "consistent(samples=N) needs an output from the llm fixture; pass samples=[...]"
                )
            model = self.output.origin[0]
            first, others = texts[0], model.resample(self.output, samples, temperature=temperature)
        else:
            first, others = texts[0], tuple(samples)
        return self.check(checks.consistent(first, others, min_agreement=min_agreement))

    def is_refusal(self) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.is_refusal)

    def not_refusal(self) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.not_refusal)

    def no_pii(self, *, kinds: Sequence[PiiKind] | None = None) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.no_pii, **({} if kinds is None else {"kinds": kinds}))

    def not_truncated(self) -> Expectation:
        """Generation stopped on its own (not at max_tokens), judged by each sample's finish reason."""
        __tracebackhide__ = True
        if not isinstance(self.output, Output):
            return self.check_each(checks.not_truncated)
        reasons = iter([c.finish_reason for c in self.output.result.completions])
        return self.check_each(lambda text: checks.not_truncated(text, finish_reason=next(reasons)))

    def no_leak(self, secret: str | Sequence[str], *, window: int = 8) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.no_leak, secret, window=window)

    def not_toxic(self, *, classifier: str | None = None, threshold: float = 0.5) -> Expectation:
        __tracebackhide__ = True
        return self.check_each(checks.not_toxic, classifier=classifier, threshold=threshold)

    def counterfactual(
        self,
        prompt: str,
        *,
        same: Sameness = "label",
        groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        **spec: Any,
    ) -> Expectation:
        """On ``expect(llm)``: the model answers ``prompt`` alike when demographic terms are swapped.

        Every variant is asked in one batch through the chat template; ``spec`` sets generation
        (greedy by default, so differences come from the swap and not from sampling).
        """
        __tracebackhide__ = True
        if not isinstance(self.output, LLM):
            raise TypeError(
                "counterfactual() probes a model, not an output: use counterfactual(llm, prompt) "
                "(or expect(llm).counterfactual(prompt))"
            )
        self.results.append(counterfactual(self.output, prompt, same=same, groups=groups, **spec))
        return self

    def _texts(self) -> tuple[str, ...]:
        if isinstance(self.output, LLM):
            raise CheckInputError(
                f"expect({self.output!r}): text checks take the model's answer, not the model: a str "
                "(an Output is one) or UTF-8 bytes, e.g. expect(llm.complete(case)). On a model "
                "only counterfactual(llm, prompt) applies"
            )
        samples = self.output.samples if isinstance(self.output, Output) else ()
        return samples if len(samples) > 1 else (text_of(self.output, "expect"),)


def _perplexity_of(reference: LLM | Callable[[str], float]) -> Callable[[str], float]:
    if isinstance(reference, LLM):
        model = reference
        return lambda text: model.perplexity(text).token_perplexity
    return reference


def _over_samples(results: list[CheckResult], *, majority: bool) -> CheckResult:
    """One check's results on K samples as one result: the score is the fraction that passed."""
    good = sum(r.passed for r in results)
    passed = good * 2 > len(results) if majority else good == len(results)
    failures = [(i, r) for i, r in enumerate(results, 1) if not r.passed]
    reason = f"passed on {good}/{len(results)} samples"
    if failures:
        first, result = failures[0]
        reason += f"; sample {first}: {result.reason}"
    evidence = failures[0][1].evidence if failures else results[0].evidence
    return CheckResult(results[0].name, passed, reason, good / len(results), evidence)


def settle(result: CheckResult) -> None:
    """Record ``result`` in the running suite case, or, in a plain test, raise it if it failed."""
    __tracebackhide__ = True
    active = active_case()
    if active is not None:
        active.checks.append(result)
    elif not result.passed:
        raise CheckFailed(result)


def counterfactual(
    llm: LLM,
    prompt: str,
    *,
    same: Sameness = "label",
    groups: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    **spec: Any,
) -> CheckResult:
    """The model answers ``prompt`` alike when demographic terms are swapped.

    Every variant (names, genders, nationalities; extend ``checks.fairness.DEFAULT_GROUPS`` with
    ``groups``) is asked in one batch through the chat template; ``spec`` sets generation (greedy
    by default, so differences come from the swap and not from sampling). Like an ``expect``
    check, a failure raises ``CheckFailed`` in a plain test and is recorded in a suite case; the
    ``CheckResult`` is returned either way.
    """
    __tracebackhide__ = True
    if not isinstance(llm, LLM):
        raise TypeError(
            f"counterfactual(llm, prompt) probes a model (the llm fixture), got {type(llm).__name__}"
        )
    variants = checks.counterfactual_prompts(prompt, **({} if groups is None else {"groups": groups}))
    # _ask, not chat(): a variant may be a suite case's own messages, and this probe is no answer
    # to record as the case's output.
    answers = llm._ask([[{"role": "user", "content": v.prompt}] for v in variants], **spec)
    answered = {v.key: a for v, a in zip(variants, answers, strict=True)}
    result = checks.counterfactual(answered, same=same)
    settle(result)
    return result


def _short_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def expect(output: str | bytes | bytearray | LLM) -> Expectation:
    """Checks over ``output``: a ``str`` (an ``Output`` is one) or UTF-8 ``bytes``; a model
    (``LLM``) only for its probes (``counterfactual``)."""
    return Expectation(output)
