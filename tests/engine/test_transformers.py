"""The transformers backend on real weights: SmolLM2 for language, a tiny random model for plumbing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.engine.tokens import rolling_windows
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.engine.types import (
    EngineError,
    GenerationRequest,
    GenerationSpec,
    LoglikelihoodRequest,
    ModelLoadError,
)

from ..helpers import bbh_requests, make_lora_adapter

PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):",
    "1, 2, 3, 4,",
    "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    "Translate to French: Good morning!",
    "Q: What is 12 + 7?\nA:",
]


def plain_loglikelihood(
    engine: TransformersEngine, context: list[int], continuation: list[int]
) -> tuple[float, bool]:
    """The textbook computation, one pair at a time: full forward pass, log-softmax everywhere."""
    import torch

    model: Any = engine._model
    whole = (context + continuation)[-(engine.info.max_length + 1) :]
    with torch.inference_mode():
        logits = model(torch.tensor([whole[:-1]])).logits[0, -len(continuation) :].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    target = torch.tensor(continuation)
    return float(logprobs.gather(1, target[:, None]).sum()), bool((logprobs.argmax(-1) == target).all())


@pytest.mark.slow
def test_smollm2_answers_a_simple_fact(smollm2: TransformersEngine) -> None:
    question = ({"role": "user", "content": "What is the capital of France? Answer in one word."},)
    (result,) = smollm2.generate([GenerationRequest(messages=question, spec=GenerationSpec(max_tokens=16))])
    assert "Paris" in result.text
    assert result.completions[0].finish_reason == "stop"


@pytest.mark.slow
def test_batched_greedy_generation_equals_unbatched(smollm2: TransformersEngine) -> None:
    spec = GenerationSpec(max_tokens=24)
    requests = [GenerationRequest(prompt=p, spec=spec) for p in PROMPTS]
    requests.append(GenerationRequest(messages=({"role": "user", "content": "Name a colour."},), spec=spec))
    batched = smollm2.generate(requests)
    alone = [smollm2.generate([r])[0] for r in requests]
    assert [r.text for r in batched] == [r.text for r in alone]
    assert [r.completions[0].completion_tokens for r in batched] == [
        r.completions[0].completion_tokens for r in alone
    ]


@pytest.mark.slow
def test_loglikelihoods_match_plain_computation_and_batching(smollm2: TransformersEngine) -> None:
    requests = bbh_requests(per_task=2)
    assert len(requests) >= 35
    batched = smollm2.loglikelihood(requests)
    for request, result in zip(requests, batched, strict=True):
        context, continuation = smollm2.rules.encode_pair(request.context, request.continuation)
        logprob, greedy = plain_loglikelihood(smollm2, context, continuation)
        assert result.logprob == pytest.approx(logprob, abs=1e-4)
        assert result.is_greedy == greedy
        assert result.num_tokens == len(continuation)
        assert result.truncated_tokens == 0
    alone = [smollm2.loglikelihood([r])[0] for r in requests[:12]]
    for one, many in zip(alone, batched[:12], strict=True):
        assert one.logprob == pytest.approx(many.logprob, abs=1e-4)


def test_generation_stops_at_stop_sequence(tiny: TransformersEngine) -> None:
    free = tiny.generate([GenerationRequest(prompt="Hello", spec=GenerationSpec(max_tokens=12))])[0]
    assert free.completions[0].finish_reason == "length"
    assert free.completions[0].completion_tokens == 12
    stop = free.text[3:6]  # a piece of what the model really writes, so the stop must trigger
    assert stop
    spec = GenerationSpec(max_tokens=12, stop=(stop,))
    stopped = tiny.generate([GenerationRequest(prompt="Hello", spec=spec)])[0]
    assert stopped.text == free.text[: free.text.find(stop)]
    assert stopped.completions[0].finish_reason == "stop"


@pytest.mark.slow
def test_a_stop_string_is_matched_in_the_answer_not_in_the_prompt(smollm2: TransformersEngine) -> None:
    """A prompt ending in a newline, with stop "\n\n": transformers' own stop_strings saw the
    prompt's newline and the answer's first one together and ended every answer after one token
    (vLLM and OpenAI servers match the generated text only)."""
    for prompt in ("List three fruits:\n", "Dear John,\n"):
        free = smollm2.generate([GenerationRequest(prompt=prompt, spec=GenerationSpec(max_tokens=12))])[0]
        assert free.text.startswith("\n") and len(free.text) > 5
        spec = GenerationSpec(max_tokens=12, stop=("\n\n",))
        stopped = smollm2.generate([GenerationRequest(prompt=prompt, spec=spec)])[0]
        cut = free.text.find("\n\n")
        assert stopped.text == (free.text if cut < 0 else free.text[:cut]), prompt
        assert stopped.completions[0].completion_tokens > 1


def test_seeded_samples_repeat_and_differ_across_seeds(tiny: TransformersEngine) -> None:
    def sample(seed: int) -> list[str]:
        spec = GenerationSpec(max_tokens=10, temperature=1.0, seed=seed, n=3)
        (result,) = tiny.generate([GenerationRequest(prompt="Tell me a story", spec=spec)])
        assert len(result.completions) == 3
        return [c.text for c in result.completions]

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)


def test_greedy_ignores_the_checkpoints_own_sampling_defaults(tiny: TransformersEngine) -> None:
    model: Any = tiny._model
    assert model.generation_config.do_sample in (None, False)
    assert model.generation_config.top_k in (None, 50)  # transformers' global default, never a checkpoint's


def test_context_longer_than_model_is_truncated_from_the_left(tiny: TransformersEngine) -> None:
    context = " ".join(f"word{i}" for i in range(400))
    (result,) = tiny.loglikelihood([LoglikelihoodRequest(context, " end")])
    ctx, cont = tiny.rules.encode_pair(context, " end")
    assert result.truncated_tokens == len(ctx) + len(cont) - (tiny.info.max_length + 1) > 0
    logprob, _ = plain_loglikelihood(tiny, ctx, cont)
    assert result.logprob == pytest.approx(logprob, abs=1e-4)


def test_empty_context_is_conditioned_on_the_prefix_token(tiny: TransformersEngine) -> None:
    (result,) = tiny.loglikelihood([LoglikelihoodRequest("", "Hello world")])
    cont = tiny.tokenizer.encode("Hello world", add_special_tokens=False)
    logprob, _ = plain_loglikelihood(tiny, [tiny.tokenizer.bos_token_id], cont)
    assert result.logprob == pytest.approx(logprob, abs=1e-4)


def test_mixed_empty_and_shared_contexts_in_one_call(tiny: TransformersEngine) -> None:
    requests = [
        LoglikelihoodRequest("", "A"),
        LoglikelihoodRequest("Question: pick one.\nAnswer:", " yes"),
        LoglikelihoodRequest("Question: pick one.\nAnswer:", " no"),
        LoglikelihoodRequest("Short", " one"),
    ]
    together = tiny.loglikelihood(requests)
    for request, result in zip(requests, together, strict=True):
        assert result.logprob == pytest.approx(tiny.loglikelihood([request])[0].logprob, abs=1e-4)


def test_perplexity_of_a_long_text_sums_its_windows(tiny: TransformersEngine) -> None:
    text = "The cat sat on the mat. " * 80  # longer than the tiny model's 256 positions
    (result,) = tiny.loglikelihood_rolling([text])
    tokens = tiny.rules.encode(text)
    assert result.num_tokens == len(tokens) > tiny.info.max_length
    expected = sum(
        plain_loglikelihood(tiny, ctx, cont)[0]
        for ctx, cont in rolling_windows(tokens, tiny.tokenizer.bos_token_id, tiny.info.max_length)
    )
    assert result.logprob == pytest.approx(expected, abs=1e-3)
    # lm-eval counts the pieces of re.split(r"\s+"), so the trailing space adds an empty 481st word.
    assert result.num_words == 481
    assert result.word_perplexity == pytest.approx(math.exp(-expected / 481), rel=1e-4)


class _Spy:
    """Stands in for an engine's model: runs it, and records each forward call's batch shape,
    logits size and whether it got a custom mask."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[tuple[int, int, int, bool]] = []  # rows, width, logits bytes, masked

    def __call__(self, **kwargs: Any) -> Any:
        out = self.model(**kwargs)
        rows, width = kwargs["input_ids"].shape
        masked = kwargs.get("attention_mask") is not None
        self.calls.append((rows, width, out.logits.numel() * out.logits.element_size(), masked))
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def _plain_rolling(engine: TransformersEngine, text: str) -> float:
    tokens = engine.rules.encode(text)
    windows = rolling_windows(tokens, engine.tokenizer.bos_token_id, engine.info.max_length)
    return sum(plain_loglikelihood(engine, ctx, cont)[0] for ctx, cont in windows)


@pytest.mark.parametrize("alone_length", [1024, 64])
def test_every_forward_call_stays_within_the_token_and_logits_budgets(
    tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch, alone_length: int
) -> None:
    """Many long texts in one rolling call, and one context with hundreds of continuations, never
    make a batch or its logits bigger than the budgets (the whole call once grew to 24 GB).

    With ``alone_length`` 64 the long windows run as plain causal rows, otherwise packed under
    the tree mask; a logits budget of 40 positions makes each window's logits come in slices.
    """
    from pytest_llmeval.engine import transformers as module

    engine = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu", max_batch_tokens=512)
    budget = 40 * engine._vocab_size * 4
    engine._max_logits_bytes = budget
    monkeypatch.setattr(module, "_ALONE_LENGTH", alone_length)
    spy = _Spy(engine._model)
    engine._model = spy
    texts = [" ".join(f"w{i}x{j}" for j in range(10 + 9 * i)) for i in range(30)]
    rolling = engine.loglikelihood_rolling(texts)
    assert any(r.num_tokens > 2 * engine.info.max_length for r in rolling)
    requests = [LoglikelihoodRequest("Pick a word:", f" option{i}") for i in range(300)]
    scores = engine.loglikelihood(requests)
    assert spy.calls
    for rows, width, logits_bytes, _ in spy.calls:
        assert rows * width <= 512
        assert logits_bytes <= budget
    masked = [m for *_, m in spy.calls]
    assert any(masked)
    if alone_length < engine.info.max_length:
        assert not all(masked)  # the long windows ran as plain causal rows
    engine._model = spy.model
    for text, result in list(zip(texts, rolling, strict=True))[::6]:
        assert result.logprob == pytest.approx(_plain_rolling(engine, text), abs=1e-3)
    for request, score in list(zip(requests, scores, strict=True))[::37]:
        context, continuation = engine.rules.encode_pair(request.context, request.continuation)
        logprob, greedy = plain_loglikelihood(engine, context, continuation)
        assert score.logprob == pytest.approx(logprob, abs=1e-4)
        assert score.is_greedy == greedy


def _preamble_requests() -> list[LoglikelihoodRequest]:
    preamble = "Answer each question about the story below with yes or no, as a careful reader would. " * 4
    return [
        LoglikelihoodRequest(f"{preamble}\nQ: is the number {i} even?\nA:", choice)
        for i in range(12)
        for choice in (" yes", " no", " maybe not")
    ] + [LoglikelihoodRequest("", "Hello world"), LoglikelihoodRequest("Short", " one")]


def test_a_shared_preamble_runs_once_and_every_score_equals_the_plain_one(tiny: TransformersEngine) -> None:
    requests = _preamble_requests()
    contexts = {r.context: len(tiny.rules.encode_pair(r.context, r.continuation)[0]) for r in requests}
    spy = _Spy(tiny._model)
    tiny._model = spy
    try:
        results = tiny.loglikelihood(requests)
    finally:
        tiny._model = spy.model
    fed = sum(rows * width for rows, width, _, _ in spy.calls)  # padding included
    assert fed < sum(contexts.values()) / 2  # the preamble is not run once per question
    for request, result in zip(requests, results, strict=True):
        context, continuation = tiny.rules.encode_pair(request.context, request.continuation)
        logprob, greedy = plain_loglikelihood(tiny, context, continuation)
        assert result.logprob == pytest.approx(logprob, abs=1e-4)
        assert result.is_greedy == greedy


@pytest.mark.parametrize(
    ("attention", "window"),
    [("eager", None), ("no custom masks", None), ("sdpa", 30)],
    ids=["eager-additive-mask", "each-sequence-alone", "sliding-window"],
)
def test_eager_attention_and_models_without_custom_masks_score_the_same(
    tiny_model_dir: Path, attention: str, window: int | None
) -> None:
    """Eager attention gets an additive mask; an implementation that takes no custom mask runs
    every sequence alone; with a sliding window, only sequences it cannot cut share the tree."""
    engine = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu")
    requests = _preamble_requests()
    expected = engine.loglikelihood(requests)
    if attention == "eager":
        engine._model.set_attn_implementation("eager")
    engine._attention, engine._window = attention, window
    spy = _Spy(engine._model)
    engine._model = spy
    results = engine.loglikelihood(requests)
    assert any(masked for *_, masked in spy.calls) == (attention != "no custom masks")
    for want, got in zip(expected, results, strict=True):
        assert got.logprob == pytest.approx(want.logprob, abs=1e-4)
        assert got.is_greedy == want.is_greedy


def test_bad_requests_give_clear_errors(tiny: TransformersEngine) -> None:
    with pytest.raises(EngineError, match="json_schema is not valid JSON"):
        tiny.generate([GenerationRequest(prompt="x", spec=GenerationSpec(json_schema="{nope"))])
    with pytest.raises(EngineError, match="empty text"):
        tiny.loglikelihood_rolling([""])
    with pytest.raises(EngineError, match="maximum length"):
        tiny.generate([GenerationRequest(prompt="word " * 300)])
    with pytest.raises(EngineError, match="more than the model's maximum length"):
        tiny.loglikelihood([LoglikelihoodRequest("a", " word" * 300)])


@pytest.mark.slow
def test_a_lora_adapter_changes_scores_and_fingerprint(
    smollm2: TransformersEngine, smollm2_folder: Path, smollm2_lora: Path
) -> None:
    """The merged adapter scores exactly like peft's unmerged model, and differs from the base."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    tuned = TransformersEngine(str(smollm2_folder), dtype="float32", device="cpu", lora=str(smollm2_lora))
    try:
        assert tuned.info.lora is not None and tuned.info.lora.startswith(smollm2_lora.name + "@")
        assert tuned.info.fingerprint() != smollm2.info.fingerprint()
        requests = bbh_requests(per_task=1)
        base_scores = smollm2.loglikelihood(requests)
        tuned_scores = tuned.loglikelihood(requests)
        assert max(abs(a.logprob - b.logprob) for a, b in zip(base_scores, tuned_scores, strict=True)) > 0.05

        unmerged = PeftModel.from_pretrained(
            AutoModelForCausalLM.from_pretrained(smollm2_folder, dtype=torch.float32), smollm2_lora
        ).eval()
        for request, result in zip(requests[:8], tuned_scores, strict=False):
            context, continuation = tuned.rules.encode_pair(request.context, request.continuation)
            with torch.inference_mode():
                logits = unmerged(torch.tensor([(context + continuation)[:-1]])).logits[
                    0, -len(continuation) :
                ]
            expected = torch.log_softmax(logits, -1).gather(1, torch.tensor(continuation)[:, None]).sum()
            assert result.logprob == pytest.approx(float(expected), abs=1e-4)
    finally:
        tuned.close()


@pytest.mark.slow
def test_an_adapter_for_another_model_is_a_load_error(
    smollm2_folder: Path, tiny_model_dir: Path, tmp_path: Path
) -> None:
    adapter = make_lora_adapter(tiny_model_dir, tmp_path / "tiny-adapter")
    with pytest.raises(ModelLoadError, match=r"could not apply LoRA adapter .*tiny-adapter"):
        TransformersEngine(str(smollm2_folder), dtype="float32", device="cpu", lora=str(adapter))
