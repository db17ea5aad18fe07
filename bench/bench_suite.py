"""Eval suites through pytest against the engine alone and against lm-evaluation-harness, in one run.

Every side is a fresh Python process timed from start to exit, so each pays the same start-up
(interpreter, torch, loading SmolLM2-135M-Instruct on the CPU) and the ratios compare what a user
waits for. Measured, on the transformers backend:

1. a generation suite of ``--cases`` BBH questions (greedy, ``--max-tokens``) run by pytest with a
   cold response cache, vs one raw ``TransformersEngine.generate`` call on the same requests
   (target: at most 1.15x), vs the same questions as plain tests calling ``llm.generate`` once
   per test, which is how per-test tools work;
2. the same suite again with the warm cache (target: under 10% of the cold run and under 5 s);
3. a multiple-choice suite (``--mc-questions`` BBH questions from all seven task files, scored by
   loglikelihood) vs lm-evaluation-harness's ``simple_evaluate`` on the same requests, at its
   default batch size (1) and at ``--lm-eval-batch`` (target: at least 2x the throughput of its
   default). Besides the wall time, the scoring time alone is compared: the suite's pre-generation
   (from its own report line) against the ``simple_evaluate`` call (model already loaded).

Run: ``.venv/bin/python bench/bench_suite.py [--cases 512] [--max-tokens 16] [--mc-questions 700]``
(``--only generation`` or ``--only mc`` runs sides 1-2 or side 3 alone).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_llmeval import Case

ROOT = Path(__file__).resolve().parent.parent
BBH_DIR = ROOT / "tests" / "data" / "bbh"
# Short-prompt BBH tasks for the generation suite; the multiple-choice suite uses every task file.
GENERATION_TASKS = ("sports_understanding", "web_of_lies", "navigate", "boolean_expressions")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}

GENERATION_SUITE = """
import json, pytest
from pytest_llmeval import Case

PROMPTS = json.load(open({prompts!r}))
CASES = [Case(id=f"q{{i}}", prompt=p) for i, p in enumerate(PROMPTS)]

@pytest.mark.llmeval(max_tokens={max_tokens})
@pytest.mark.parametrize("case", CASES, ids=str)
def test_suite(llm, case):
    assert llm.complete(case).completion_tokens >= 1
"""

PER_TEST = """
import json, pytest

PROMPTS = json.load(open({prompts!r}))

@pytest.mark.parametrize("prompt", PROMPTS)
def test_each(llm, prompt):
    assert llm.generate(prompt, max_tokens={max_tokens}).completion_tokens >= 1
"""

RAW = """
import json, sys
from pytest_llmeval.engine import create_engine
from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec
from pytest_llmeval.settings import Settings

prompts = json.load(open({prompts!r}))
engine = create_engine(Settings(model={model!r}))
spec = GenerationSpec(max_tokens={max_tokens})
results = engine.generate([GenerationRequest(prompt=p, spec=spec) for p in prompts])
print(sum(r.completions[0].completion_tokens for r in results))
"""

MC_SUITE = """
import pytest
from pytest_llmeval.benchmarks.bbh import load_bbh

CASES = [c for path in {paths!r} for c in load_bbh(path, limit={per_task})]

@pytest.mark.llmeval()
@pytest.mark.parametrize("case", CASES, ids=str)
def test_mc(llm, case):
    llm.choose(case)
"""

LM_EVAL = """
import json
from lm_eval.evaluator import simple_evaluate
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager

import time

configs = json.load(open({configs!r}))
model = HFLM(pretrained={folder!r}, dtype="float32", device="cpu", batch_size={batch})
started = time.perf_counter()
out = simple_evaluate(model=model, tasks=configs, task_manager=TaskManager(include_defaults=False),
                      bootstrap_iters=0)
print(f"scoring seconds: {{time.perf_counter() - started:.2f}}")
"""


def timed(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (all threads, user + system) and stdout of one process."""
    started, used = time.perf_counter(), _children_cpu()
    run = subprocess.run(command, cwd=cwd, env=ENV, capture_output=True, text=True)
    seconds, cpu = time.perf_counter() - started, _children_cpu() - used
    if run.returncode != 0:
        sys.exit(
            f"failed ({run.returncode}): {' '.join(command)}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        )
    return seconds, cpu, run.stdout


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def pytest_run(folder: Path, test_file: str, *options: str) -> tuple[float, float, str]:
    command = [sys.executable, "-m", "pytest", test_file, "-q", "-p", "no:cacheprovider", *options]
    return timed(command, folder)


def last_line(text: str, start: str) -> str:
    return next((line for line in reversed(text.splitlines()) if line.startswith(start)), "?")


def lm_eval_configs(cases: list[Case], folder: Path) -> list[dict[str, object]]:
    """The suite's cases as lm-eval tasks, one per BBH task: the context is the case's prompt and
    the choices its choices, so lm-eval is asked exactly the (prompt, " " + choice) requests."""
    configs: list[dict[str, object]] = []
    for task in sorted({c.tags[0] for c in cases}):
        data = folder / f"{task}.jsonl"
        rows = [
            {"prompt": c.prompt, "choices": list(c.choices or ()), "answer": c.answer}
            for c in cases
            if c.tags[0] == task
        ]
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        configs.append(
            {
                "task": f"bench_{task}",
                "dataset_path": "json",
                "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": str(folder / "hf")},
                "test_split": "test",
                "output_type": "multiple_choice",
                "doc_to_text": "{{prompt}}",
                "doc_to_choice": "choices",
                "doc_to_target": "answer",
                "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            }
        )
    return configs


def seconds_in(line: str, after: str) -> float:
    """The number of seconds reported after ``after`` in a line, e.g. "... in 38.6 s; ..."."""
    return float(line.split(after, 1)[1].split()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=512)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument(
        "--data",
        choices=("bbh", "gsm8k"),
        default="bbh",
        help="prompts of the generation suite: short BBH questions, or GSM8K problems (up to 220)",
    )
    parser.add_argument("--mc-questions", type=int, default=700)
    parser.add_argument("--lm-eval-batch", type=int, default=16)
    parser.add_argument("--skip-per-test", action="store_true", help="leave out the slow per-test side")
    parser.add_argument(
        "--only", choices=("generation", "mc"), help="run sides 1-2 (generation) or side 3 (mc) alone"
    )
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every side (default: torch's own)")
    args = parser.parse_args()
    if args.threads:
        ENV["OMP_NUM_THREADS"] = ENV["MKL_NUM_THREADS"] = str(args.threads)

    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.testmodel import smollm2_path

    model = str(smollm2_path())
    folder_of_model = resolve_model(model, default_cache_root()).load_path
    work = Path(tempfile.mkdtemp(prefix="llmeval-bench-"))

    print(f"SmolLM2-135M-Instruct, transformers backend on the CPU, {os.cpu_count()} cores; wall time of")
    print("a fresh process per side (start-up and model load included)")
    # Other work on the machine slows every side, and torch's threads most of all: say how busy it was.
    threads = f"OMP_NUM_THREADS={args.threads}" if args.threads else "default threads"
    print(f"{threads}; load average at start: {os.getloadavg()[0]:.2f}\n")
    if args.only in (None, "generation"):
        generation_side(args, work, model)
    if args.only in (None, "mc"):
        mc_side(args, work, model, folder_of_model)


def generation_side(args: argparse.Namespace, work: Path, model: str) -> None:
    """Sides 1 and 2: generation suite, raw batch, per-test calls, warm cache."""
    from pytest_llmeval.benchmarks.bbh import load_bbh

    model_option = f"--llmeval-model={model}"
    if args.data == "gsm8k":
        prompts = gsm8k_prompts()[: args.cases]
    else:
        per_task = -(-args.cases // len(GENERATION_TASKS))
        questions = [c for t in GENERATION_TASKS for c in load_bbh(BBH_DIR / f"{t}.json", limit=per_task)]
        prompts = [str(c.prompt) for c in questions][: args.cases]
    prompts_file = work / "prompts.json"
    prompts_file.write_text(json.dumps(prompts))
    values = {"prompts": str(prompts_file), "max_tokens": args.max_tokens, "model": model}
    (work / "test_suite.py").write_text(GENERATION_SUITE.format(**values))
    (work / "test_per_test.py").write_text(PER_TEST.format(**values))
    (work / "raw.py").write_text(RAW.format(**values))

    cache = f"--llmeval-cache-dir={work / 'cache'}"
    t_raw, _, raw_out = timed([sys.executable, str(work / "raw.py")], work)
    t_cold, _, cold_out = pytest_run(work, "test_suite.py", model_option, cache)
    t_warm, _, warm_out = pytest_run(work, "test_suite.py", model_option, cache)
    t_each = float("nan")
    if not args.skip_per_test:
        t_each, _, _ = pytest_run(work, "test_per_test.py", model_option, "--llmeval-no-cache")

    print(f"{'':58}{'seconds':>9}{'ratio':>9}")
    print(f"generation suite: {len(prompts)} {args.data} cases, greedy, max_tokens={args.max_tokens}")
    print(f"{'  one raw TransformersEngine.generate call':58}{t_raw:9.1f}{1.0:8.2f}x")
    print(f"{'  pytest suite, cold cache (target <= 1.15x raw)':58}{t_cold:9.1f}{t_cold / t_raw:8.2f}x")
    print(f"{'  pytest, one llm.generate per test (no cache)':58}{t_each:9.1f}{t_each / t_raw:8.2f}x")
    print(
        f"{'  pytest suite, warm cache (target < 0.10x cold, < 5 s)':58}{t_warm:9.1f}"
        f"{t_warm / t_cold:8.3f}x cold"
    )
    print("raw tokens generated:", raw_out.strip())
    print("cold:", last_line(cold_out, "llmeval: pre-generated"), "|", last_line(cold_out.strip(), ""))
    print("warm:", last_line(warm_out, "llmeval: pre-generated"), "|", last_line(warm_out.strip(), ""))
    print()


def gsm8k_prompts() -> list[str]:
    """GSM8K problems in lm-eval's zero-shot format: the 180 of the grounding corpus, then the 40
    of the examples (both from the test split, MIT)."""
    files = (
        ROOT / "tests" / "data" / "grounding" / "gsm8k_used.jsonl",
        ROOT / "examples" / "data" / "gsm8k_first40.jsonl",
    )
    questions = [
        json.loads(line)["question"] for path in files for line in path.read_text().splitlines() if line
    ]
    return [f"Question: {q}\nAnswer:" for q in dict.fromkeys(questions)]


def mc_side(args: argparse.Namespace, work: Path, model: str, folder_of_model: str) -> None:
    """Side 3: multiple choice through pytest vs lm-eval, each cold."""
    from pytest_llmeval.benchmarks.bbh import load_bbh

    mc_paths = sorted(str(p) for p in BBH_DIR.glob("*.json"))
    mc_per_task = -(-args.mc_questions // len(mc_paths))
    (work / "test_mc.py").write_text(MC_SUITE.format(paths=mc_paths, per_task=mc_per_task))
    mc_cases = [c for path in mc_paths for c in load_bbh(path, limit=mc_per_task)]
    configs = work / "lm_eval_tasks.json"
    configs.write_text(json.dumps(lm_eval_configs(mc_cases, work)))

    n_mc = len(mc_cases)
    requests = sum(len(c.choices or ()) for c in mc_cases)
    mc_options = (f"--llmeval-model={model}", f"--llmeval-cache-dir={work / 'mc-cache'}")
    t_mc, cpu_mc, mc_out = pytest_run(work, "test_mc.py", *mc_options)
    s_mc = seconds_in(last_line(mc_out, "llmeval: pre-generated"), " in ")
    lm_eval_times = {}
    for batch in (1, args.lm_eval_batch):
        script = work / f"lm_eval_{batch}.py"
        script.write_text(LM_EVAL.format(configs=str(configs), folder=folder_of_model, batch=batch))
        seconds, cpu, out = timed([sys.executable, str(script)], work)
        lm_eval_times[batch] = (seconds, cpu, seconds_in(last_line(out, "scoring seconds:"), "seconds:"))

    print(f"multiple-choice suite: {n_mc} BBH questions (7 tasks), {requests} loglikelihood requests")
    print(
        f"{'':44}{'wall s':>9}{'ratio':>8}{'cpu s':>9}{'ratio':>8}{'scoring s':>11}{'req/s':>7}{'ratio':>8}"
    )
    ours = f"{t_mc:9.1f}{'':8}{cpu_mc:9.1f}{'':8}{s_mc:11.1f}{requests / s_mc:7.1f}"
    print(f"{'  pytest suite, cold cache':44}{ours}")
    for batch, (wall, cpu, scoring) in lm_eval_times.items():
        label = f"  lm-eval simple_evaluate, batch_size={batch}"
        print(
            f"{label:44}{wall:9.1f}{wall / t_mc:7.2f}x{cpu:9.1f}{cpu / cpu_mc:7.2f}x{scoring:11.1f}"
            f"{requests / scoring:7.1f}{scoring / s_mc:7.2f}x"
        )
    print("\n(lm-eval ratios: its time over the suite's, so above 1 means the suite is faster;")
    print(" target: the suite's scoring throughput at least 2x lm-eval's at its default batch size;")
    print(" cpu s: the process's CPU time, all threads, which other work on the machine distorts less)")
    print("mc:  ", last_line(mc_out, "llmeval: pre-generated"), "|", last_line(mc_out.strip(), ""))
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
