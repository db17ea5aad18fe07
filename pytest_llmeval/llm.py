"""The object behind the ``llm`` fixture: a small, obvious API over an Engine.

Each method takes one item or a list. One item returns one result; a list goes to the engine
as a single batch and returns a list, which is how a test should ask for many answers.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, overload

from .cases import Case
from .engine.types import (
    Engine,
    EngineError,
    EngineInfo,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    Message,
    RollingResult,
)
from .suite import (
    MC_DELIMITER,
    SuiteError,
    active_case,
    case_text,
    choice_requests,
    generation_request,
    record_answer,
)

# The temperature of the samples a greedy answer is compared with (``consistent``). Measured on 80
# questions with one right answer each, SmolLM2-135M answering (tests/data/consistent/): how well
# the share of backed claims tells wrong answers from right ones (AUROC) is 0.58 with samples at
# 1.0 (SelfCheckGPT's choice, for a far larger model), 0.72 at 0.7, 0.78 at 0.3; picked on the dev
# half (0.57, 0.69, 0.75), the test half agreeing. Hot samples of a small model back nothing.
RESAMPLE_TEMPERATURE = 0.3

Conversation = Sequence[Message]


class AnswerCutWarning(UserWarning):
    """An answer was longer than --llmeval-max-answer-chars and was cut to it."""


class CompleteSettingsWarning(UserWarning):
    """``llm.complete(case)`` ran outside an eval suite, so no marker chose its generation
    settings: the warning says which it used. Given once per process for each distinct set of
    settings; silence it with ``-W ignore::pytest_llmeval.CompleteSettingsWarning``."""


# The settings llm.complete has already announced outside a suite (once each, not per call).
_announced: set[GenerationSpec] = set()


class Output(str):
    """Generated text that is also a plain ``str``, so ``assert "Paris" in out`` just works.

    It keeps the engine's result: why generation stopped, how many tokens it took, and every
    sample when ``n > 1`` (the string itself is the first sample).
    """

    result: GenerationResult
    # The model and request that wrote it, so a check can ask for more samples (consistent()).
    # Not pickled: an engine does not travel between processes.
    origin: tuple[LLM, GenerationRequest] | None

    def __new__(cls, result: GenerationResult, origin: tuple[LLM, GenerationRequest] | None = None) -> Output:
        self = super().__new__(cls, result.text)
        self.result = result
        self.origin = origin
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        # A str subclass with attributes needs this to survive pickling (xdist sends results around).
        return (Output, (self.result,))

    @property
    def finish_reason(self) -> FinishReason:
        return self.result.completions[0].finish_reason

    @property
    def completion_tokens(self) -> int:
        return self.result.completions[0].completion_tokens

    @property
    def prompt_tokens(self) -> int:
        return self.result.prompt_tokens

    @property
    def samples(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.result.completions)


@dataclass(frozen=True)
class Choice:
    """The answer to a multiple-choice question, scored by loglikelihood like lm-evaluation-harness.

    ``index`` is the choice with the highest summed logprob (lm-eval's ``acc``); ``index_norm``
    divides each logprob by the choice's length in characters first (lm-eval's ``acc_norm``).
    """

    index: int
    index_norm: int
    choices: tuple[str, ...]
    logprobs: tuple[float, ...]
    is_greedy: tuple[bool, ...]

    @property
    def choice(self) -> str:
        return self.choices[self.index]


class LLM:
    """A loaded model with helpers for tests. Get it from the ``llm`` or ``llm_factory`` fixture."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def info(self) -> EngineInfo:
        return self.engine.info

    def __repr__(self) -> str:
        return f"LLM(backend={self.info.backend!r}, model={self.info.model!r})"

    @overload
    def generate(self, prompt: str, **spec: Any) -> Output: ...
    @overload
    def generate(self, prompt: Sequence[str], **spec: Any) -> list[Output]: ...
    def generate(self, prompt: str | Sequence[str], **spec: Any) -> Output | list[Output]:
        """Complete raw text prompts. ``spec``: max_tokens, temperature, top_p, seed, stop, n, schema.

        ``schema`` (a pydantic model class or a JSON Schema dict) asks for structured output on
        every engine that declares ``info.structured_output`` (all built-in backends).
        """
        generation_spec = _spec(spec)
        prompts = _as_list(prompt, str, "generate", "prompts")
        requests = [GenerationRequest(prompt=p, spec=generation_spec) for p in prompts]
        _refuse_running_case(requests, "generate")
        outputs = self._generate(requests)
        return outputs[0] if isinstance(prompt, str) else outputs

    @overload
    def chat(self, messages: str | Conversation, **spec: Any) -> Output: ...
    @overload
    def chat(self, messages: Sequence[Conversation], **spec: Any) -> list[Output]: ...
    def chat(
        self, messages: str | Conversation | Sequence[Conversation], **spec: Any
    ) -> Output | list[Output]:
        """Answer chat conversations through the model's chat template.

        A string is one user message; a list of ``{"role", "content"}`` dicts is one
        conversation; a list of strings or of conversations is a batch.
        """
        single, requests = _chat_requests(messages, _spec(spec))
        _refuse_running_case(requests, "chat")
        outputs = self._generate(requests)
        return outputs[0] if single else outputs

    def _ask(self, conversations: Sequence[Conversation], **spec: Any) -> list[Output]:
        """``chat`` over a batch of conversations for the plugin's own probes: never refused as a
        running case's own messages, never recorded."""
        _, requests = _chat_requests(conversations, _spec(spec))
        return self._generate(requests)

    def complete(self, case: Case, **spec: Any) -> Output:
        """The model's answer to a case: its prompt, or its messages through the chat template.

        In an eval suite the marker's generation settings apply, and the answer was usually
        generated ahead with every other case of the run. ``spec`` overrides single settings
        on top of the marker's (``samples`` is the marker's name for ``n``); settings equal to
        the marker's still get the answer generated ahead. Outside a suite the defaults apply
        (max_tokens=256, greedy), and a ``CompleteSettingsWarning`` says so once.
        """
        if "samples" in spec:
            if "n" in spec:
                raise EngineError("complete() takes samples or n, not both: they are the same setting")
            spec["n"] = spec.pop("samples")
        active = active_case()
        if active is None:
            generation_spec = _spec(spec)
            _announce_outside_suite(generation_spec)
        else:
            try:
                generation_spec = _spec(spec, active.suite.generation)
            except EngineError as exc:
                raise EngineError(
                    f"llm.complete({case.id!r}, {_describe_options(spec)}) on top of suite "
                    f"{active.suite.name!r}'s settings ({_describe(active.suite.generation)}): {exc}"
                ) from None
        output = self._generate([generation_request(case, generation_spec)])[0]
        timing = output.result.timing
        record_answer(
            case,
            output=str(output),
            samples=output.samples,
            timing=None
            if timing is None
            else {
                "latency_s": timing.seconds,
                "engine_s": timing.share,
                "completion_tokens": float(sum(c.completion_tokens for c in output.result.completions)),
            },
        )
        return output

    def _generate(self, requests: list[GenerationRequest]) -> list[Output]:
        results = self.engine.generate(requests)
        for result in results:
            for sample, completion in enumerate(result.completions, 1):
                if completion.cut_from is not None:
                    which = f"sample {sample} of an answer" if len(result.completions) > 1 else "an answer"
                    warnings.warn(
                        f"llmeval: {which} of {completion.cut_from:,} characters was cut to "
                        f"{len(completion.text):,} (--llmeval-max-answer-chars); it ends as if by length",
                        AnswerCutWarning,
                        stacklevel=3,
                    )
        return [Output(result, (self, request)) for result, request in zip(results, requests, strict=True)]

    def resample(self, output: Output, n: int, *, temperature: float | None = None) -> tuple[str, ...]:
        """``n`` fresh samples for the request that wrote ``output``, seeds fixed: at ``temperature``
        if given, else at the request's own temperature, else (a greedy answer) at
        ``RESAMPLE_TEMPERATURE``."""
        if output.origin is None:
            raise EngineError("this output does not know which model wrote it; pass samples explicitly")
        if temperature is not None and not temperature > 0:
            # Greedy samples repeat the answer, so every claim would look backed.
            raise ValueError(f"resample: temperature must be above 0, got {temperature!r}")
        _, request = output.origin
        chosen = temperature or request.spec.temperature or RESAMPLE_TEMPERATURE
        spec = replace(request.spec, n=n, temperature=chosen, seed=0)
        (result,) = self.engine.generate([replace(request, spec=spec)])
        return tuple(c.text for c in result.completions)

    @overload
    def loglikelihood(self, context: str, continuation: str) -> LoglikelihoodResult: ...
    @overload
    def loglikelihood(self, context: Sequence[tuple[str, str]]) -> list[LoglikelihoodResult]: ...
    def loglikelihood(
        self, context: str | Sequence[tuple[str, str]], continuation: str | None = None
    ) -> LoglikelihoodResult | list[LoglikelihoodResult]:
        """Summed logprob of ``continuation`` after ``context``, or of each (context, continuation) pair."""
        if isinstance(context, str):
            if continuation is None:
                raise EngineError("loglikelihood(context, continuation) needs a continuation")
            return self.engine.loglikelihood([LoglikelihoodRequest(context, continuation)])[0]
        pairs = _as_list(context, tuple, "loglikelihood", "(context, continuation) pairs")
        return self.engine.loglikelihood([LoglikelihoodRequest(c, k) for c, k in pairs])

    @overload
    def choose(self, prompt: Case) -> Choice: ...
    @overload
    def choose(  # type: ignore[overload-overlap]
        self, prompt: str, choices: Sequence[str], *, delimiter: str = " "
    ) -> Choice: ...
    @overload
    def choose(
        self, prompt: Sequence[str], choices: Sequence[str] | Sequence[Sequence[str]], *, delimiter: str = " "
    ) -> list[Choice]: ...
    def choose(
        self,
        prompt: Case | str | Sequence[str],
        choices: Sequence[str] | Sequence[Sequence[str]] = (),
        *,
        delimiter: str = MC_DELIMITER,
    ) -> Choice | list[Choice]:
        """Pick among ``choices`` by loglikelihood of ``delimiter + choice`` after the prompt.

        With a list of prompts, ``choices`` is either one list shared by all prompts or one
        list per prompt. All requests go to the engine as one batch. A multiple-choice ``Case``
        brings its own prompt and choices.
        """
        if isinstance(prompt, Case):
            if prompt.prompt is None or prompt.choices is None:
                raise EngineError(f"case {prompt.id!r}: choose() needs a case with a prompt and choices")
            # lm-eval normalises by the length of what it calls the choice: the whole context
            # (prompt + option) under partial scoring, the option otherwise.
            options = prompt.choices
            lengths = [len(prompt.prompt + o) if prompt.continuation is not None else len(o) for o in options]
            picked = _pick(options, self.engine.loglikelihood(choice_requests(prompt)), lengths)
            record_answer(
                prompt,
                output=picked.choice,
                scores={
                    "acc": float(picked.index == prompt.answer),
                    "acc_norm": float(picked.index_norm == prompt.answer),
                },
            )
            return picked
        prompts = _as_list(prompt, str, "choose", "prompts")
        per_prompt: list[tuple[str, ...]]
        if choices and isinstance(choices[0], str):
            per_prompt = [tuple(str(c) for c in choices)] * len(prompts)
        else:
            per_prompt = [tuple(c) for c in choices]
        if len(per_prompt) != len(prompts):
            raise EngineError(f"choose() got {len(prompts)} prompts but {len(per_prompt)} lists of choices")
        requests: list[LoglikelihoodRequest] = []
        for p, options in zip(prompts, per_prompt, strict=True):
            if len(options) < 2 or not all(isinstance(o, str) and o for o in options):
                raise EngineError(f"choose() needs at least two non-empty string choices, got {options!r}")
            requests.extend(LoglikelihoodRequest(p, delimiter + o) for o in options)
        results = iter(self.engine.loglikelihood(requests))
        answers = [
            _pick(options, [next(results) for _ in options], [len(o) for o in options])
            for options in per_prompt
        ]
        return answers[0] if isinstance(prompt, str) else answers

    @overload
    def perplexity(self, text: str | Case) -> RollingResult: ...  # type: ignore[overload-overlap]
    @overload
    def perplexity(self, text: Sequence[str]) -> list[RollingResult]: ...
    def perplexity(self, text: str | Case | Sequence[str]) -> RollingResult | list[RollingResult]:
        """Rolling loglikelihood of whole texts, with token, word and byte perplexity.

        A ``Case`` is scored on its prompt; in an eval suite its result feeds the suite's
        ``perplexity``, ``word_perplexity``, ``byte_perplexity`` and ``bits_per_byte`` metrics.
        """
        if isinstance(text, Case):
            result = self.perplexity(case_text(text))
            record_answer(
                text,
                scores={
                    "rolling_logprob": result.logprob,
                    "rolling_tokens": float(result.num_tokens),
                    "rolling_words": float(result.num_words),
                    "rolling_bytes": float(result.num_bytes),
                },
            )
            return result
        texts = _as_list(text, str, "perplexity", "texts")
        results = self.engine.loglikelihood_rolling(texts)
        return results[0] if isinstance(text, str) else results


def _pick(options: Sequence[str], scored: Sequence[LoglikelihoodResult], lengths: Sequence[int]) -> Choice:
    """lm-eval's acc (highest summed logprob) and acc_norm (highest logprob per character)."""
    logprobs = tuple(r.logprob for r in scored)
    normed = [lp / length for lp, length in zip(logprobs, lengths, strict=True)]
    return Choice(
        index=max(range(len(options)), key=logprobs.__getitem__),
        index_norm=max(range(len(options)), key=normed.__getitem__),
        choices=tuple(options),
        logprobs=logprobs,
        is_greedy=tuple(r.is_greedy for r in scored),
    )


def _chat_requests(
    messages: str | Conversation | Sequence[Conversation], spec: GenerationSpec
) -> tuple[bool, list[GenerationRequest]]:
    """Whether ``messages`` is one conversation, and the request for each conversation."""
    single = isinstance(messages, str) or (bool(messages) and isinstance(messages[0], Mapping))
    items: list[Any] = [messages] if single else _as_list(messages, Sequence, "chat", "conversations")
    conversations: list[Conversation] = [
        [{"role": "user", "content": c}] if isinstance(c, str) else c for c in items
    ]
    return single, [GenerationRequest(messages=tuple(c), spec=spec) for c in conversations]


def _refuse_running_case(requests: Sequence[GenerationRequest], method: str) -> None:
    """Refuse ``llm.generate(case.prompt)`` / ``llm.chat(case.messages)`` in a suite test.

    An error rather than recording the answer as the case's output: the answer of generate or
    chat comes from their own settings (the defaults, or what the call passes), not the marker's,
    so recording it would score, report and baseline a suite under settings other than the ones
    it declares, and would ask the engine again for a case already answered ahead. Nor may it
    record nothing, silently: exact_match, rouge and the other text metrics would have no output
    to score. ``llm.complete(case)`` does both right, with single settings overridable.
    """
    active = active_case()
    if active is None:
        return
    case = active.case
    for request in requests:
        if case.messages is not None and request.messages is not None:
            own = [dict(m) for m in request.messages] == [dict(m) for m in case.messages]
            what = "messages"
        else:
            own = case.prompt is not None and request.prompt == case.prompt
            what = "prompt"
        if own:
            raise SuiteError(
                f"llm.{method}() was given the running case's own {what} (case {case.id!r} of eval "
                f"suite {active.suite.name!r}): its answer would not be the case's output (text metrics such "
                "as exact_match and rouge would have nothing to score), and it would not use the "
                "marker's settings nor the answer generated ahead. Use llm.complete(case), which "
                "records it; llm.complete(case, max_tokens=...) overrides single settings"
            )


def _describe(spec: GenerationSpec) -> str:
    text = (
        f"max_tokens={spec.max_tokens}, temperature={spec.temperature}, top_p={spec.top_p}, "
        f"seed={spec.seed}, stop={list(spec.stop)}, samples={spec.n}"
    )
    return text + (", schema set" if spec.json_schema is not None else "")


def _describe_options(spec: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in spec.items())


def _announce_outside_suite(spec: GenerationSpec) -> None:
    """Say once, for each distinct set of settings, what ``llm.complete`` used with no marker."""
    if spec in _announced:
        return
    _announced.add(spec)
    warnings.warn(
        f"llm.complete outside an eval suite: {_describe(spec)} (the defaults, with what the call "
        "passed); mark the test @pytest.mark.llmeval(...) to set them for a suite",
        CompleteSettingsWarning,
        stacklevel=3,
    )


def _spec(values: Mapping[str, Any], base: GenerationSpec | None = None) -> GenerationSpec:
    """The generation settings ``values`` asks for: on top of ``base`` (a suite's) when given,
    changing only the settings named, else on top of the defaults."""
    known = {f for f in GenerationSpec.__dataclass_fields__ if f != "json_schema"} | {"schema"}
    unknown = set(values) - known
    if unknown:
        raise EngineError(f"unknown generation option(s) {sorted(unknown)}; known: {sorted(known)}")
    fixed = dict(values)
    if "stop" in fixed:
        stop = fixed["stop"]
        fixed["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    if (schema := fixed.pop("schema", None)) is not None:
        fixed["json_schema"] = json_schema_text(schema)
    return GenerationSpec(**fixed) if base is None else replace(base, **fixed)


def json_schema_text(schema: Any) -> str:
    """A pydantic model class or a JSON Schema dict as canonical JSON text (one cache key per schema)."""
    if isinstance(schema, type) and hasattr(schema, "model_json_schema"):
        schema = schema.model_json_schema()
    if not isinstance(schema, Mapping):
        raise EngineError(f"schema must be a pydantic model class or a JSON Schema dict, got {schema!r}")
    return json.dumps(schema, sort_keys=True, separators=(",", ":"))


def _as_list(value: Any, kind: type, method: str, what: str) -> list[Any]:
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise EngineError(f"{method}() got an empty list of {what}")
    for item in items:
        if not isinstance(item, kind):
            raise EngineError(f"{method}() expects {what}, got an item of type {type(item).__name__}")
    return items
