"""Seeded sampling against greedy decoding: the same suite, whole process, side by side.

Seeded samples used to run one request at a time (a shared generator made a sample depend on
its batch mates); each row now draws from a generator of its own, so seeded requests batch like
greedy ones. Each side is a fresh ``pytest`` process over the same chat prompts with a cold
response cache; the suite's tests write the tokens they got to a file, and the pre-generation
line gives the engine's seconds. Target: seeded at least 0.70x greedy's tokens per second.

Run: ``.venv/bin/python bench/bench_sampling.py [--prompts 30] [--max-tokens 48]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

SUITE = """
import json, pytest
from pytest_llmeval import Case

TOPICS = json.load(open({topics!r}))
CASES = [Case(id=f"p{{i}}", messages=[{{"role": "user", "content": f"Write two sentences about {{t}}."}}])
         for i, t in enumerate(TOPICS)]

@pytest.mark.llmeval(max_tokens={max_tokens}{sampling})
@pytest.mark.parametrize("case", CASES, ids=str)
def test_chat(llm, case):
    out = llm.complete(case)
    with open({tokens!r}, "a") as handle:
        handle.write(f"{{out.completion_tokens}}\\n")
"""

TOPICS = [
    "cats",
    "the sea",
    "bread",
    "rain",
    "a bicycle",
    "winter",
    "music",
    "a library",
    "trains",
    "coffee",
    "mountains",
    "a lighthouse",
    "bees",
    "chess",
    "the moon",
    "a garden",
    "snow",
    "a market",
    "rivers",
    "a violin",
    "autumn",
    "a bakery",
    "owls",
    "a bridge",
    "clouds",
    "a kite",
    "tea",
    "deserts",
    "a clock",
    "a forest",
]


def run_side(
    work: Path, model: str, name: str, sampling: str, args: argparse.Namespace
) -> tuple[float, float, int]:
    """(wall seconds, pre-generation seconds, tokens) of one fresh pytest process."""
    tokens_file = work / f"{name}.tokens"
    topics = work / "topics.json"
    topics.write_text(json.dumps((TOPICS * (args.prompts // len(TOPICS) + 1))[: args.prompts]))
    suite = work / f"test_{name}.py"
    suite.write_text(
        SUITE.format(
            topics=str(topics), max_tokens=args.max_tokens, sampling=sampling, tokens=str(tokens_file)
        )
    )
    command = [
        sys.executable, "-m", "pytest", suite.name, "-q", "-p", "no:cacheprovider",
        f"--llmeval-model={model}", f"--llmeval-cache-dir={work / ('cache-' + name)}",
        f"--llmeval-baselines={work / ('baselines-' + name)}",
    ]  # fmt: skip
    started = time.perf_counter()
    run = subprocess.run(command, cwd=work, env=ENV, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"{name} failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
    line = next(x for x in run.stdout.splitlines() if x.startswith("llmeval: pre-generated"))
    engine_seconds = float(line.split(" in ", 1)[1].split(" s;", 1)[0])
    tokens = sum(int(x) for x in tokens_file.read_text().split())
    return wall, engine_seconds, tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()

    from pytest_llmeval.testmodel import smollm2_path

    model = str(smollm2_path())
    work = Path(tempfile.mkdtemp(prefix="llmeval-bench-sampling-"))
    print(
        f"SmolLM2-135M-Instruct, transformers backend on the CPU, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}; {args.prompts} chat prompts, max_tokens={args.max_tokens}, cold cache\n"
    )
    sides = {
        "greedy": "",
        "seeded": ", temperature=0.7, seed=0",
        "seeded_top_p": ", temperature=0.7, top_p=0.9, seed=0",
    }
    results = {name: run_side(work, model, name, sampling, args) for name, sampling in sides.items()}
    base_wall, base_engine, base_tokens = results["greedy"]
    print(f"{'':26}{'wall s':>8}{'tokens':>8}{'tok/s wall':>12}{'ratio':>8}{'tok/s engine':>14}{'ratio':>8}")
    for name, (wall, engine, tokens) in results.items():
        ratio_wall = (tokens / wall) / (base_tokens / base_wall)
        ratio_engine = (tokens / engine) / (base_tokens / base_engine)
        print(
            f"  {name:24}{wall:8.1f}{tokens:8d}{tokens / wall:12.1f}{ratio_wall:7.2f}x"
            f"{tokens / engine:14.1f}{ratio_engine:7.2f}x"
        )
    print("\n(target: seeded at least 0.70x greedy's tokens/s; 'engine' is the pre-generation time alone)")


if __name__ == "__main__":
    main()
