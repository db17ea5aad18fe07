"""Structured output on the transformers backend: constrained vs free generation, side by side.

On SmolLM2-135M-Instruct (float32, CPU), one ``TransformersEngine`` answers the same chat prompts
("Describe X as JSON.") in one batched call per side, with and without ``schema=`` (a pydantic
model: bounded strings, an enum, a list, a nested object), greedy and sampled. Each side's time is
the best of ``--repeat`` runs, alternating with the other side. Tokens are counted up to and
including EOS; ms/step is the time per decode step (a batch runs as many steps as its longest
answer, so it is the mask's per-token cost whatever the answers' lengths). Also measured: the
one-off costs of the first schema (xgrammar's tokenizer tables and the grammar compile), the
share of constrained time spent in the grammar mask, how many answers validate, and (unless
``--no-process``) whole fresh processes calling ``LLM.chat`` through the public API, model load
and first compile included.

Run: ``.venv/bin/python bench/bench_structured.py [--prompts 32] [--max-tokens 128] [--repeat 2]``
(``--threads N`` fixes the torch threads; ``--no-process`` skips the whole-process rows)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from enum import Enum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

TOPICS = (  # noqa: SIM905 (a list literal would take 32 lines)
    "photosynthesis,gravity,democracy,inflation,a volcano,the internet,a rainbow,vaccination,recycling,"
    "a black hole,electricity,a glacier,the moon,a compiler,music,friendship,chess,a desert,coffee,"
    "an earthquake,money,a library,a bridge,the ocean,a forest,sleep,a telescope,bread,a river,rain,"
    "a museum,a battery"
).split(",")


class Kind(str, Enum):
    nature = "nature"
    science = "science"
    society = "society"
    object = "object"
    other = "other"


class Source(BaseModel):
    title: str = Field(max_length=40)
    year: int = Field(ge=1000, le=2030)


class Topic(BaseModel):
    name: str = Field(max_length=30)
    kind: Kind
    facts: list[str] = Field(max_length=3)
    source: Source


PROCESS = """
import sys, time
started = time.perf_counter()
from bench_structured import Topic, prompts
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.llm import LLM
from pytest_llmeval.testmodel import smollm2_path
threads = int(sys.argv[4]) or None
llm = LLM(TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu", threads=threads))
loaded = time.perf_counter()
spec = {"schema": Topic} if sys.argv[1] == "constrained" else {}
outputs = llm.chat(prompts(int(sys.argv[2])), max_tokens=int(sys.argv[3]), **spec)
done = time.perf_counter()
tokens = sum(o.completion_tokens for o in outputs)
print(f"{done - started:.2f} {done - loaded:.2f} {tokens}")
"""


def prompts(n: int) -> list[str]:
    return [f"Describe {t} as JSON." for t in (TOPICS * (n // len(TOPICS) + 1))[:n]]


def valid(text: str) -> bool:
    try:
        Topic.model_validate_json(text)
    except ValidationError:
        return False
    return True


def race(sides: dict[str, Any], repeat: int) -> dict[str, tuple[Any, float]]:
    """Run the sides alternately ``repeat`` times; each keeps its best time (robust to load bursts)."""
    best: dict[str, tuple[Any, float]] = {}
    for _ in range(repeat):
        for name, run in sides.items():
            start = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - start
            if name not in best or seconds < best[name][1]:
                best[name] = (result, seconds)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the engine's)")
    parser.add_argument("--no-process", action="store_true", help="skip the whole-process rows")
    args = parser.parse_args()

    from pytest_llmeval.engine import constrained
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.llm import LLM, json_schema_text
    from pytest_llmeval.testmodel import smollm2_path

    model = str(smollm2_path())
    engine = TransformersEngine(model, dtype="float32", device="cpu", threads=args.threads)
    llm = LLM(engine)
    import torch

    print(
        f"SmolLM2-135M-Instruct, transformers backend, float32 on the CPU ({torch.get_num_threads()} torch "
        f"threads of {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}); {args.prompts} chat "
        f"prompts, max_tokens={args.max_tokens}, best of {args.repeat}\n"
    )

    # One-off costs: xgrammar's tables for this tokenizer, then one compile of the schema.
    schema = json_schema_text(Topic)
    grammars = constrained.Grammars(engine.tokenizer, engine._vocab_size, sorted(engine._eos_ids))
    start = time.perf_counter()
    grammars.get('{"type": "integer"}')  # a trivial schema: what remains is the tokenizer's tables
    tables = time.perf_counter() - start
    start = time.perf_counter()
    grammars.get(schema)
    compile_seconds = time.perf_counter() - start

    # Time spent inside the mask (fill + accept + apply), around the real processor.
    in_mask = [0.0]
    real_call = constrained.GrammarMask.__call__

    def timed_call(self: Any, input_ids: Any, scores: Any) -> Any:
        start = time.perf_counter()
        out = real_call(self, input_ids, scores)
        in_mask[0] += time.perf_counter() - start
        return out

    constrained.GrammarMask.__call__ = timed_call  # type: ignore[method-assign]

    texts = prompts(args.prompts)
    llm.chat(texts[:2], max_tokens=8, schema=Topic)  # warm-up (and the engine's own compile)
    rows: list[tuple[str, ...]] = []
    for label, spec in (("greedy", {}), ("sampled", {"temperature": 0.7, "seed": 0})):
        free = {"max_tokens": args.max_tokens, **spec}
        runs = {
            "free": lambda free=free: llm.chat(texts, **free),
            "constrained": lambda free=free: llm.chat(texts, schema=Topic, **free),
        }
        in_mask[0] = 0.0
        best = race(runs, args.repeat)
        mask_share = in_mask[0] / args.repeat / best["constrained"][1]
        speed, step = {}, {}
        for side, (outputs, seconds) in best.items():
            tokens = sum(o.completion_tokens for o in outputs)
            # A batch runs as many decode steps as its longest answer: time per step is the cost
            # the mask adds, whatever the answers' lengths.
            steps = max(o.completion_tokens for o in outputs)
            speed[side], step[side] = tokens / seconds, seconds / steps * 1000
            cut = sum(o.finish_reason == "length" for o in outputs)
            ok = sum(valid(o) for o in outputs)
            print(f"  ({label} {side}: {tokens} tokens, {steps} steps in {seconds:.1f} s)", flush=True)
            rows.append((f"{label} {side}", f"{tokens}", f"{seconds:.1f}", f"{speed[side]:.1f}",
                         f"{step[side]:.0f}", f"{ok}/{len(outputs)}", f"{cut}"))  # fmt: skip
        rows.append((f"{label} constrained/free", "", "", f"{speed['constrained'] / speed['free']:.2f}x",
                     f"{step['constrained'] / step['free']:.2f}x", "",
                     f"mask: {mask_share:.1%} of the time"))  # fmt: skip

    header = ("side", "tokens", "seconds", "tokens/s", "ms/step", "valid JSON", "finish=length")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        f"\none-off, first schema of an engine: xgrammar tokenizer tables {tables:.2f} s, "
        f"compile of the Topic schema {compile_seconds:.2f} s (then cached by schema text)"
    )
    constrained.GrammarMask.__call__ = real_call  # type: ignore[method-assign]
    engine.close()

    if args.no_process:
        return
    print("\nwhole process (fresh python: imports, model load, first compile, one LLM.chat call):")
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": here + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results = {}
    for side in ("free", "constrained", "free", "constrained"):  # alternating, best of two
        command = [sys.executable, "-c", PROCESS, side, str(args.prompts), str(args.max_tokens)]
        run = subprocess.run(
            [*command, str(args.threads or 0)], capture_output=True, text=True, env=env, check=True
        )
        wall, call, tokens = run.stdout.split()[-3:]
        if side not in results or float(wall) < results[side][0]:
            results[side] = (float(wall), float(call), int(tokens))
    for side, (wall, call, tokens) in results.items():
        rate = tokens / call
        print(f"  {side:12s} wall {wall:6.1f} s, LLM.chat {call:5.1f} s, {tokens} tokens, {rate:.1f} tok/s")
    plain, cons = results["free"], results["constrained"]
    print(
        f"  constrained/free: wall {cons[0] / plain[0]:.2f}x, tokens/s in the call "
        f"{(cons[2] / cons[1]) / (plain[2] / plain[1]):.2f}x"
    )


if __name__ == "__main__":
    main()
