"""Benchmark our TransformersEngine against the usual baselines, side by side in one run.

On SmolLM2-135M-Instruct (float32, CPU); model load and one warm-up call per side are not timed, and
each side's time is the best of ``--repeat`` runs, alternating with the other side. Measured:

1. loglikelihood requests/s: ``TransformersEngine.loglikelihood`` vs lm-evaluation-harness's
   ``HFLM.loglikelihood`` on the same BBH multiple-choice requests (``tests/data/bbh``), with
   the largest logprob difference between the two as an honesty check;
2. greedy generation tokens/s: the engine's batched ``generate`` vs a plain loop calling
   ``model.generate`` one prompt at a time (tokens counted up to and including EOS).

Run: ``.venv/bin/python bench/bench_engine.py [--requests 350] [--prompts 32] [--gen-prompts short|bbh]``
"""

from __future__ import annotations

import argparse
import os
import time
from functools import partial
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BBH_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "bbh"
TOPICS = (  # noqa: SIM905 (a list literal would take 34 lines)
    "photosynthesis,gravity,democracy,inflation,a volcano,the internet,a rainbow,vaccination,recycling,"
    "a black hole,electricity,a glacier,the moon,a compiler,music,friendship,chess,a desert,coffee,"
    "an earthquake,money,a library,a bridge,the ocean,a forest,sleep,a telescope,bread,a river,rain,"
    "a museum,a battery"
).split(",")


def bbh_questions(per_task: int) -> list[Any]:
    """The first ``per_task`` questions of every BBH task file, interleaved across tasks."""
    from pytest_llmeval.benchmarks.bbh import load_bbh

    tasks = [load_bbh(path, limit=per_task) for path in sorted(BBH_DIR.glob("*.json"))]
    return [task[i] for i in range(per_task) for task in tasks if i < len(task)]


def ll_requests(n: int) -> list[tuple[str, str]]:
    """``n`` (context, continuation) pairs: one per choice of each question, mixed across tasks."""
    pairs: list[tuple[str, str]] = []
    per_task = 1
    while len(pairs) < n:
        pairs = [(q.prompt, " " + c) for q in bbh_questions(per_task) for c in q.choices]
        per_task += 1
    return pairs[:n]


def race(ours: Any, theirs: Any, repeat: int) -> tuple[Any, float, Any, float]:
    """Run both sides alternately ``repeat`` times, keeping each one's best time (robust to load bursts)."""
    results: list[Any] = [None, None]
    times: list[list[float]] = [[], []]
    for _ in range(repeat):
        for side, fn in enumerate((ours, theirs)):
            start = time.perf_counter()
            results[side] = fn()
            times[side].append(time.perf_counter() - start)
    return results[0], min(times[0]), results[1], min(times[1])


def speed_row(label: str, ours: float, theirs: float) -> tuple[str, str, str, str]:
    return label, f"{ours:.1f}", f"{theirs:.1f}", f"{ours / theirs:.2f}x"


def bench_loglikelihood(
    engine: Any, folder: str, n: int, batch_size: int, repeat: int
) -> list[tuple[str, str, str, str]]:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from pytest_llmeval.engine.types import LoglikelihoodRequest

    pairs = ll_requests(n)
    ours_in = [LoglikelihoodRequest(c, x) for c, x in pairs]
    theirs_in = [
        Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(pairs)
    ]
    hflm = HFLM(pretrained=folder, dtype="float32", device="cpu", batch_size=batch_size)
    engine.loglikelihood(ours_in[:4])  # warm-up
    hflm.loglikelihood(theirs_in[:4], disable_tqdm=True)
    ours, t_ours, theirs, t_theirs = race(
        partial(engine.loglikelihood, ours_in),
        partial(hflm.loglikelihood, theirs_in, disable_tqdm=True),
        repeat,
    )
    diff = max(abs(a.logprob - b[0]) for a, b in zip(ours, theirs, strict=True))
    greedy_same = sum(a.is_greedy == b[1] for a, b in zip(ours, theirs, strict=True))
    n = len(pairs)
    return [
        speed_row(f"loglikelihood req/s ({n} reqs)", n / t_ours, n / t_theirs),
        ("loglikelihood time (s)", f"{t_ours:.2f}", f"{t_theirs:.2f}", ""),
        ("  max |logprob diff|", f"{diff:.2e}", "", ""),
        ("  same is_greedy", f"{greedy_same}/{n}", "", ""),
    ]


def plain_generate(
    model: Any, tokenizer: Any, prompts: list[str], max_tokens: int, eos: set[int]
) -> list[Any]:
    """One ``model.generate`` call per prompt; returns (text, generated tokens up to and incl. EOS)."""
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=max_tokens,
        do_sample=False,
        eos_token_id=sorted(eos),
        pad_token_id=tokenizer.pad_token_id,
    )
    out = []
    with torch.inference_mode():
        for prompt in prompts:
            enc = tokenizer(prompt, return_tensors="pt")
            ids = model.generate(**enc, generation_config=config)[0, enc["input_ids"].shape[1] :].tolist()
            stop = next((i + 1 for i, t in enumerate(ids) if t in eos), len(ids))
            out.append((tokenizer.decode(ids[:stop], skip_special_tokens=True), stop))
    return out


def generation_prompts(source: str, n: int) -> list[str]:
    """BBH prompts (long, answers stop early) or short open questions (answers run to max_tokens)."""
    if source == "bbh":
        return [q.prompt for q in bbh_questions(n)][:n]
    return [f"Q: Explain what {TOPICS[i % len(TOPICS)]} is.\nA:" for i in range(n)]


def bench_generate(
    engine: Any, folder: str, prompts: list[str], max_tokens: int, repeat: int
) -> list[tuple[str, str, str, str]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    own = model.generation_config.eos_token_id
    eos = set(own if isinstance(own, list) else [own]) - {None} or {tokenizer.eos_token_id}

    spec = GenerationSpec(max_tokens=max_tokens)
    requests = [GenerationRequest(prompt=p, spec=spec) for p in prompts]
    engine.generate(requests[:2])  # warm-up
    plain_generate(model, tokenizer, prompts[:1], 4, eos)
    ours, t_ours, theirs, t_theirs = race(
        partial(engine.generate, requests),
        partial(plain_generate, model, tokenizer, prompts, max_tokens, eos),
        repeat,
    )
    tok_ours = sum(r.completions[0].completion_tokens for r in ours)
    tok_theirs = sum(count for _, count in theirs)
    same = sum(r.text == text for r, (text, _) in zip(ours, theirs, strict=True))
    return [
        speed_row(f"generate tokens/s ({len(prompts)} prompts)", tok_ours / t_ours, tok_theirs / t_theirs),
        ("generate time (s)", f"{t_ours:.2f}", f"{t_theirs:.2f}", ""),
        ("  generated tokens", str(tok_ours), str(tok_theirs), ""),
        ("  identical texts", f"{same}/{len(prompts)}", "", ""),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=350, help="loglikelihood requests (default 350)")
    parser.add_argument("--prompts", type=int, default=32, help="generation prompts (default 32)")
    parser.add_argument("--max-tokens", type=int, default=32, help="max new tokens per prompt (default 32)")
    parser.add_argument("--gen-prompts", choices=("short", "bbh"), default="short", help="generation prompts")
    parser.add_argument("--repeat", type=int, default=2, help="alternating runs per side, best kept")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    parser.add_argument("--lm-eval-batch-size", type=int, default=8, help="HFLM batch_size (default 8)")
    args = parser.parse_args()

    import torch

    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.testmodel import smollm2_path

    if args.threads:
        torch.set_num_threads(args.threads)
    gguf = smollm2_path()
    folder = resolve_model(str(gguf), default_cache_root()).load_path
    engine = TransformersEngine(str(gguf), dtype="float32", device="cpu")
    rows = [("", "ours", "baseline", "speedup")]
    rows += bench_loglikelihood(engine, folder, args.requests, args.lm_eval_batch_size, args.repeat)
    prompts = generation_prompts(args.gen_prompts, args.prompts)
    rows += bench_generate(engine, folder, prompts, args.max_tokens, args.repeat)

    threads = torch.get_num_threads()
    print(f"\nSmolLM2-135M-Instruct float32 CPU, torch {torch.__version__}, {threads} threads")
    print(f"loglikelihood baseline: lm-eval HFLM, batch_size={args.lm_eval_batch_size}, logits_cache on")
    print("generation baseline: a loop of model.generate, one prompt at a time")
    print(f"generation: {args.gen_prompts} prompts, max_tokens={args.max_tokens}, greedy")
    print(f"times: best of {args.repeat} alternating runs per side, model load and warm-up excluded\n")
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.rjust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join([row[0].ljust(widths[0]), *cells[1:]]))


if __name__ == "__main__":
    main()
