"""Differential tests of the engines' core promise: a result never depends on its batch mates.

Each test builds seeded random request sets (many short contexts, shared preambles, duplicates,
continuations of 1 to 20 tokens, BOS-only contexts, contexts at and past the maximum length),
scores each set in ONE call on a FRESH engine under many layouts (token budgets, logits budgets),
and compares every result with a plain computation made independently: one pair per forward pass,
full log-softmax, nothing shared. A reference computed by the same engine in the same session
would prove nothing: a wrong value, once computed, could be served again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.engine.tokens import rolling_windows
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec, LoglikelihoodResult

Pair = tuple[list[int], list[int]]
TOLERANCE = 1e-4
# vLLM's kernels differ from transformers' (another attention, other fused ops): against the plain
# transformers pass, float32 sums of a few token logprobs differ by up to about 2e-4 here.
VLLM_TOLERANCE = 5e-4


def random_pairs(rng: random.Random, count: int, max_length: int, bos: int) -> list[Pair]:
    """``count`` (context, continuation) token pairs of the shapes real suites send, mixed at random.

    Tokens come from a small part of the vocabulary, so unplanned shared prefixes happen too.
    """
    vocab = range(300, 300 + rng.choice([30, 400, 8000]))
    preambles = [[rng.choice(vocab) for _ in range(rng.randint(8, 60))] for _ in range(4)]
    pairs: list[Pair] = []
    while len(pairs) < count:
        kind = rng.random()
        continuation = [rng.choice(vocab) for _ in range(rng.randint(1, 20 if rng.random() < 0.2 else 4))]
        if kind < 0.35:  # a short question, often with several choices
            context = [rng.choice(vocab) for _ in range(rng.randint(1, 8))]
        elif kind < 0.65:  # an instruction preamble shared by many questions
            context = rng.choice(preambles) + [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        elif kind < 0.75:  # another request's context and continuation as this one's context
            base = rng.choice(pairs) if pairs else ([bos], [rng.choice(vocab)])
            context = base[0] + base[1][: rng.randint(0, len(base[1]))]
        elif kind < 0.82:  # an empty text context: conditioned on BOS
            context = [bos]
        elif kind < 0.88:  # at or past the maximum length: truncated from the left
            context = [rng.choice(vocab) for _ in range(max_length + rng.randint(-25, 40))]
        else:  # a duplicate of an earlier request
            context, continuation = rng.choice(pairs) if pairs else ([bos], continuation)
        pairs.append((context, continuation))
        if rng.random() < 0.5:  # the other choices of a multiple-choice question
            for _ in range(rng.randint(1, 4)):
                pairs.append((context, [rng.choice(vocab) for _ in range(rng.randint(1, 4))]))
    rng.shuffle(pairs)
    return pairs[:count]


def plain_score(
    model: Any, max_length: int, context: list[int], continuation: list[int]
) -> tuple[float, bool]:
    """The textbook computation: one pair, one full forward pass, log-softmax at every position."""
    import torch

    whole = (context + continuation)[-(max_length + 1) :]
    with torch.inference_mode():
        logits = model(torch.tensor([whole[:-1]])).logits[0, -len(continuation) :].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    target = torch.tensor(continuation)
    return float(logprobs.gather(1, target[:, None]).sum()), bool((logprobs.argmax(-1) == target).all())


def compare(
    pairs: Sequence[Pair],
    results: Sequence[LoglikelihoodResult],
    reference: Sequence[tuple[float, bool]],
    tolerance: float = TOLERANCE,
) -> float:
    """Assert every result equals its reference; return the worst |difference|."""
    assert len(results) == len(pairs)
    worst = 0.0
    for index, (pair, result, (logprob, greedy)) in enumerate(zip(pairs, results, reference, strict=True)):
        difference = abs(result.logprob - logprob)
        worst = max(worst, difference)
        assert difference <= tolerance, (
            f"request {index} ({len(pair[0])}+{len(pair[1])} tokens): {difference}"
        )
        assert result.is_greedy == greedy, f"request {index}: is_greedy {result.is_greedy} != {greedy}"
        assert result.num_tokens == len(pair[1])
    return worst


def layouts(rng: random.Random, vocab_size: int, count: int, min_slice: int = 1) -> list[tuple[int, int]]:
    """(token budget, logits budget) pairs: the default, ones small enough to force many rows and
    logits slices of a few positions (``min_slice`` at least), and random ones."""
    position = vocab_size * 4  # the bytes of one position's float32 logits
    small = [(64, max(1, min_slice)), (256, max(3, min_slice)), (2048, max(40, min_slice))]
    fixed = [(8192, 1 << 28)] + [(tokens, slice_ * position) for tokens, slice_ in small]
    randoms = [
        (rng.randint(16, 20000), position * rng.randint(min_slice, 400)) for _ in range(max(0, count - 4))
    ]
    return (fixed + randoms)[:count]


def check_loglikelihood_layouts(
    make_engine: Callable[[int, int], TransformersEngine],
    *,
    seed: int,
    sets: int,
    count: int,
    per_set: int,
    tolerance: float = TOLERANCE,
    min_slice: int = 1,
) -> tuple[int, float, list[tuple[int, int]]]:
    """Score ``sets`` random request sets, each under ``per_set`` layouts on a fresh engine per
    layout; returns (requests compared, worst |difference|, the layouts used)."""
    rng = random.Random(seed)
    probe = make_engine(8192, 1 << 28)
    max_length, bos = probe.info.max_length, probe.rules.prefix_token_id
    all_layouts = layouts(rng, probe._vocab_size, sets * per_set, min_slice)
    compared, worst = 0, 0.0
    for number in range(sets):
        pairs = random_pairs(rng, count, max_length, bos)
        reference = [plain_score(probe._model, max_length, c, k) for c, k in pairs]
        for tokens, logits_bytes in all_layouts[number * per_set : (number + 1) * per_set]:
            results = make_engine(tokens, logits_bytes).loglikelihood_tokens(pairs)
            worst = max(worst, compare(pairs, results, reference, tolerance))
            compared += len(pairs)
    return compared, worst, all_layouts


def test_loglikelihoods_never_depend_on_layout_tiny(tiny_model_dir: Path) -> None:
    def make(tokens: int, logits_bytes: int) -> TransformersEngine:
        return TransformersEngine(
            str(tiny_model_dir),
            dtype="float32",
            device="cpu",
            max_batch_tokens=tokens,
            max_logits_bytes=logits_bytes,
        )

    compared, worst, used = check_loglikelihood_layouts(make, seed=1, sets=4, count=200, per_set=3)
    assert compared == 2400
    print(f"tiny: {compared} requests compared, worst |diff| {worst:.2e}, layouts {used}")


@pytest.mark.slow
def test_loglikelihoods_never_depend_on_layout_smollm2(smollm2_folder: Path) -> None:
    """SmolLM2 in float32 over 600 comparisons (2,100 and 2,271 in runs measured for issue 15;
    fewer here to keep CI within its time: 1,200 took 4 minutes; the tiny model's 2,400 cover the
    layouts' logic). Its tolerance is 2e-4: float32 arithmetic alone
    (another matmul shape, a masked kernel) moves a sum of a few token logprobs by up to about
    1e-4 on this model (measured: worst 7.5e-5 over 1,500 comparisons, once 1.01e-4), while the
    layout defects this guards against were 1e-3 to 1.9 nats."""

    # A maximum length of 128 puts "near the maximum length" within cheap reach of the reference;
    # logits slices of 8 positions or more keep the number of forward calls affordable.
    def make(tokens: int, logits_bytes: int) -> TransformersEngine:
        return TransformersEngine(
            str(smollm2_folder),
            dtype="float32",
            device="cpu",
            max_length=128,
            max_batch_tokens=tokens,
            max_logits_bytes=logits_bytes,
        )

    compared, worst, used = check_loglikelihood_layouts(
        make, seed=2, sets=1, count=200, per_set=3, tolerance=2 * TOLERANCE, min_slice=8
    )
    assert compared == 600
    print(f"smollm2: {compared} requests compared, worst |diff| {worst:.2e}, layouts {used}")


def test_rolling_perplexity_never_depends_on_layout(tiny_model_dir: Path) -> None:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    texts = [" ".join(rng.choice(words) for _ in range(rng.choice([1, 5, 40, 120, 250]))) for _ in range(40)]
    probe = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu")
    reference = []
    for text in texts:
        windows = rolling_windows(
            probe.rules.encode(text), probe.rules.prefix_token_id, probe.info.max_length
        )
        reference.append(sum(plain_score(probe._model, probe.info.max_length, c, k)[0] for c, k in windows))
    assert any(len(probe.rules.encode(t)) > 2 * probe.info.max_length for t in texts)
    for tokens, logits_bytes in layouts(rng, probe._vocab_size, 6):
        logits_bytes = max(logits_bytes, 16 * probe._vocab_size * 4)  # slices of 1 position: slow, not new
        engine = TransformersEngine(
            str(tiny_model_dir),
            dtype="float32",
            device="cpu",
            max_batch_tokens=tokens,
            max_logits_bytes=logits_bytes,
        )
        order = list(range(len(texts)))
        rng.shuffle(order)
        results = engine.loglikelihood_rolling([texts[i] for i in order])
        for i, result in zip(order, results, strict=True):
            assert result.logprob == pytest.approx(reference[i], abs=TOLERANCE * 10), (
                tokens,
                logits_bytes,
                i,
            )


def prompts(rng: random.Random, count: int) -> list[str]:
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "under", "over", "house", "red", "blue", "why"]
    return [" ".join(rng.choice(words) for _ in range(rng.choice([1, 3, 12, 60]))) for _ in range(count)]


SPECS = [
    GenerationSpec(max_tokens=12),
    GenerationSpec(max_tokens=12, temperature=0.8, seed=7),
    GenerationSpec(max_tokens=10, temperature=1.0, top_p=0.9, seed=3, n=3),
    # Rows end on stop strings at different steps: the token count once took one of the padding
    # tokens after the stop (SmolLM2's pad is its end-of-sequence token) when batched.
    GenerationSpec(max_tokens=12, stop=("e", "\n")),
]


@pytest.mark.parametrize("spec", SPECS, ids=["greedy", "seeded", "seeded-top-p-n3", "stop-strings"])
def test_generation_never_depends_on_batch_mates(tiny_model_dir: Path, spec: GenerationSpec) -> None:
    """The same request alone, in a batch of 50, in the batch reversed and under a small token
    budget (many small batches) gives the same completions."""
    count = 50 if spec.top_p == 1.0 else 16  # a random model's nucleus is its whole vocabulary: slow
    requests = [GenerationRequest(prompt=p, spec=spec) for p in prompts(random.Random(4), count)]
    engine = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu")
    batched = engine.generate(requests)
    reversed_batch = engine.generate(requests[::-1])[::-1]
    small = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu", max_batch_tokens=200)
    small_batches = small.generate(requests)
    for index, request in enumerate(requests):
        alone = engine.generate([request])[0]
        assert len(alone.completions) == spec.n
        for other in (batched, reversed_batch, small_batches):
            assert other[index].completions == alone.completions, index
    if not spec.greedy:
        texts = {c.text for r in batched for c in r.completions}
        assert len(texts) > len(requests) // 2  # real samples, not one repeated answer
    if spec.stop:  # the stops did end rows early, at different steps
        stopped = [c.completion_tokens for r in batched for c in r.completions if c.finish_reason == "stop"]
        assert len(stopped) > len(requests) // 4 and len(set(stopped)) > 2


def test_a_prompt_near_the_maximum_length_gets_the_same_answer_in_any_batch(tiny_model_dir: Path) -> None:
    """A prompt that leaves room for only a few new tokens is cut at its own limit, and a long
    batch mate never shortens a short prompt's answer."""
    engine = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu")
    spec = GenerationSpec(max_tokens=20)
    words = 1
    while len(engine.rules.encode(" ".join(["word"] * (words + 1)))) < engine.info.max_length - 8:
        words += 1
    long_prompt = " ".join(["word"] * words)
    long_tokens = len(engine.rules.encode(long_prompt))
    room = engine.info.max_length - long_tokens
    assert 0 < room < 20
    requests = [
        GenerationRequest(prompt=long_prompt, spec=spec),
        GenerationRequest(prompt="Hello", spec=spec),
    ]
    together = engine.generate(requests)
    alone = [engine.generate([r])[0] for r in requests]
    assert together == alone
    assert together[1].completions[0].completion_tokens == 20
    assert together[0].completions[0].completion_tokens <= room


@pytest.mark.slow
def test_vllm_loglikelihoods_never_depend_on_call_composition(
    smollm2_vllm: Any, smollm2: TransformersEngine
) -> None:
    """vLLM through the same harness: one random set scored whole and in random sub-calls (its
    prefix cache then holds other requests' blocks), against the plain transformers pass."""
    rng = random.Random(5)
    max_length = 256  # the reference truncates like the engine only below the engine's own limit
    pairs = [
        (c[-(max_length - len(k)) :], k)
        for c, k in random_pairs(rng, 100, max_length, smollm2.rules.prefix_token_id)
    ]
    reference = [plain_score(smollm2._model, smollm2.info.max_length, c, k) for c, k in pairs]
    whole = smollm2_vllm.loglikelihood_tokens(pairs)
    worst = compare(pairs, whole, reference, VLLM_TOLERANCE)
    order = list(range(len(pairs)))
    rng.shuffle(order)
    pieces: list[LoglikelihoodResult | None] = [None] * len(pairs)
    while order:
        size = rng.randint(1, 60)
        take, order = order[:size], order[size:]
        for i, result in zip(take, smollm2_vllm.loglikelihood_tokens([pairs[i] for i in take]), strict=True):
            pieces[i] = result
    assert all(p is not None for p in pieces)
    split = [p for p in pieces if p is not None]
    worst = max(worst, compare(pairs, split, reference, VLLM_TOLERANCE))
    # Within vLLM itself, the call's composition moves nothing beyond float noise either.
    within = max(abs(a.logprob - b.logprob) for a, b in zip(whole, split, strict=True))
    assert within <= 2 * TOLERANCE, within
    print(f"vllm: {2 * len(pairs)} requests compared, worst |diff| {worst:.2e}, within vLLM {within:.2e}")
