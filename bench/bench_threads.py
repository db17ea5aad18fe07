"""Torch threads on a quiet and on a busy machine, and pytest-xdist's -n 2 against -n 1.

torch takes every core by default, and its threads wait for each other at every operation. When
another CPU-bound process shares the cores (a user's other job, a second xdist worker), one of the
threads keeps losing its core and the others wait for it. This bench runs one suite as a user does,
a fresh ``pytest`` process with a cold response cache each time, under several thread settings,
first on a quiet machine and then with one CPU-bound process running beside it, and last with
``-n 2`` against ``-n 1``. Every figure is the wall time of the whole process (model load included).

Run: ``.venv/bin/python bench/bench_threads.py [--cases 64] [--max-tokens 32]``
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

from bench_suite import ENV, GENERATION_SUITE  # the same generation suite (run as a script from bench/)

ROOT = Path(__file__).resolve().parent.parent

BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"


def run(work: Path, model: str, name: str, *options: str, env: dict[str, str] | None = None) -> float:
    command = [
        sys.executable, "-m", "pytest", "test_suite.py", "-q", "-p", "no:cacheprovider",
        f"--llmeval-model={model}", f"--llmeval-cache-dir={work / ('cache-' + name)}",
        f"--llmeval-baselines={work / ('baselines-' + name)}", *options,
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=work, env=env or ENV, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{name} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()

    from pytest_llmeval.testmodel import smollm2_path

    model = str(smollm2_path())
    work = Path(tempfile.mkdtemp(prefix="llmeval-bench-threads-"))
    files = (ROOT / "tests" / "data" / "grounding" / "gsm8k_used.jsonl",)
    questions = [json.loads(x)["question"] for p in files for x in p.read_text().splitlines() if x]
    (work / "prompts.json").write_text(
        json.dumps([f"Question: {q}\nAnswer:" for q in questions][: args.cases])
    )
    (work / "test_suite.py").write_text(
        GENERATION_SUITE.format(prompts=str(work / "prompts.json"), max_tokens=args.max_tokens)
    )
    cores = len(os.sched_getaffinity(0))
    print(
        f"SmolLM2, transformers backend, {cores} cores; {args.cases} GSM8K cases x {args.max_tokens} tokens,"
    )
    print("greedy, cold cache; wall seconds of a fresh pytest process\n")

    rows: list[tuple[str, float]] = []
    quiet = run(work, model, "quiet-default")
    rows.append(("quiet, default threads (the plugin's choice)", quiet))
    rows.append(
        (f"quiet, --llmeval-threads={cores}", run(work, model, "quiet-all", f"--llmeval-threads={cores}"))
    )
    rows.append(("quiet, --llmeval-threads=1", run(work, model, "quiet-1", "--llmeval-threads=1")))
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(2)
        rows.append(("busy, default threads", run(work, model, "busy-default")))
        rows.append(
            (f"busy, --llmeval-threads={cores}", run(work, model, "busy-all", f"--llmeval-threads={cores}"))
        )
        rows.append(("busy, --llmeval-threads=1", run(work, model, "busy-1", "--llmeval-threads=1")))
        passive = {**ENV, "OMP_WAIT_POLICY": "PASSIVE"}
        rows.append(
            (
                f"busy, --llmeval-threads={cores}, OMP_WAIT_POLICY=PASSIVE",
                run(work, model, "busy-passive", f"--llmeval-threads={cores}", env=passive),
            )
        )
    finally:
        busy.kill()
    print(f"{'':60}{'seconds':>9}{'ratio':>9}")
    for label, seconds in rows:
        print(f"  {label:58}{seconds:9.1f}{seconds / quiet:8.2f}x")
    print()
    one = run(work, model, "xdist-1", "-n", "1")
    two = run(work, model, "xdist-2", "-n", "2")
    print(f"  {'-n 1 (default threads: all cores)':58}{one:9.1f}{1.0:8.2f}x")
    print(f"  {'-n 2 (default threads: cores / 2 per worker)':58}{two:9.1f}{two / one:8.2f}x")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
