"""Generate the raw model outputs behind the ``grounding3`` corpus: ``outputs.jsonl``.

Adapted from ``tests/data/grounding2/make_outputs.py``. Run from the repository root (CPU only, no
hub; about 20 minutes on a busy 2-core machine):

    OMP_NUM_THREADS=1 .venv/bin/python tests/data/grounding3/make_outputs.py

What it makes: ``tests/data/grounding3/outputs.jsonl``, one JSON object per generation with the
context, the prompt, the model, the decoding and the generated text. The outputs are labelled
afterwards by a person reading them (see ``README.md``); this script does no labelling.

Contexts: ``N_GSM8K`` problems from ``/work/shared/data/gsm8k_test.jsonl`` (openai/grade-school-math,
MIT), chosen with the fixed seed ``SELECTION_SEED``, leaving out every row listed in
``tests/data/grounding/gsm8k_used.jsonl`` (its ``index`` field) and every ``gsm8k:<row>`` used by
``tests/data/grounding2/outputs.jsonl`` (its ``source`` field). Only the GSM8K "solve" task is used.

Models: SmolLM2-135M-Instruct (the project's test model, ``python -m pytest_llmeval.testmodel``,
de-quantized to float32) and a damaged copy of it, made in memory: every attention and MLP
projection matrix gets Gaussian noise with a standard deviation of ``DAMAGE_SCALE`` times that
matrix's own standard deviation (seed ``DAMAGE_SEED``). No model file is written anywhere.

Generations per problem (chat template, at most ``MAX_NEW_TOKENS`` new tokens): "Solve step by
step" with smollm2 greedy, smollm2 sampled and smollm2-damaged greedy.

Sampling uses temperature ``TEMPERATURE`` and top-p ``TOP_P``; the torch seed is reset before every
batch, so a rerun with the same torch/transformers versions and thread count gives the same text.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GSM8K_FILE = Path("/work/shared/data/gsm8k_test.jsonl")
GSM8K_USED = REPO / "tests" / "data" / "grounding" / "gsm8k_used.jsonl"
GROUNDING2_OUTPUTS = REPO / "tests" / "data" / "grounding2" / "outputs.jsonl"
OUT = HERE / "outputs.jsonl"

SELECTION_SEED = 20250317  # new seed (grounding2 used 20240611)
SPLIT_SEED = 20250318  # dev/test split of the contexts, used when the labelled corpus was joined
N_GSM8K = 70
DAMAGE_SEED = 1234
DAMAGE_SCALE = 0.1
SAMPLE_SEED = 7
TEMPERATURE = 0.7
TOP_P = 0.95
MAX_NEW_TOKENS = 160
BATCH_SIZE = 16
THREADS = 1  # on a shared 2-core machine, 2 OpenMP threads were 10x slower than 1 (spin-waiting)

SOLVE = "Solve step by step, showing each calculation, then give the final answer.\n\n{question}"


@dataclass(frozen=True)
class Context:
    """One GSM8K problem: the context the outputs are checked against."""

    family: str  # "gsm8k"
    source: str  # "gsm8k:<row>"
    context: str
    question: str  # the GSM8K problem (same as context)


@dataclass(frozen=True)
class Job:
    """One generation to run."""

    id: str
    family: str
    source: str
    context: str
    task: str  # "solve"
    prompt: str
    model: str  # "smollm2" | "smollm2-damaged"
    decoding: str  # "greedy" | "sampled"


def excluded_rows() -> set[int]:
    """GSM8K rows used by the first two grounding corpora (only the row fields are read)."""
    used = {json.loads(line)["index"] for line in GSM8K_USED.read_text().splitlines() if line.strip()}
    for line in GROUNDING2_OUTPUTS.read_text().splitlines():
        if line.strip():
            source = json.loads(line)["source"]
            if source.startswith("gsm8k:"):
                used.add(int(source.split(":", 1)[1]))
    return used


def gsm8k_contexts() -> list[Context]:
    """Seeded choice of GSM8K test rows that neither earlier grounding corpus used."""
    used = excluded_rows()
    rows = [json.loads(line) for line in GSM8K_FILE.read_text().splitlines() if line.strip()]
    free = [i for i in range(len(rows)) if i not in used]
    chosen = sorted(random.Random(SELECTION_SEED).sample(free, N_GSM8K))
    return [Context("gsm8k", f"gsm8k:{i}", rows[i]["question"], rows[i]["question"]) for i in chosen]


def jobs() -> list[Job]:
    """All generations, in a fixed order."""
    out: list[Job] = []
    for c in gsm8k_contexts():
        prompt = SOLVE.format(question=c.question)
        for model, decoding in (("smollm2", "greedy"), ("smollm2", "sampled"), ("smollm2-damaged", "greedy")):
            out.append(_job(c, "solve", prompt, model, decoding))
    return out


def context_splits(sources: list[str]) -> dict[str, str]:
    """The ``split`` of each context ("gsm8k:<row>"): half ``dev``, half ``test``, seeded. All
    generations of one problem share its split. Not used by ``main``; the labelled ``corpus.jsonl``
    was joined with it."""
    ordered = sorted(set(sources), key=lambda s: int(s.split(":", 1)[1]))
    random.Random(SPLIT_SEED).shuffle(ordered)
    dev = set(ordered[: len(ordered) // 2])
    return {s: "dev" if s in dev else "test" for s in ordered}


def _job(c: Context, task: str, prompt: str, model: str, decoding: str) -> Job:
    short = {"smollm2": "s", "smollm2-damaged": "d"}[model]
    ident = f"{c.source.replace(':', '-')}-{task}-{short}-{decoding[0]}"
    return Job(ident, c.family, c.source, c.context, task, prompt, model, decoding)


def load_models() -> tuple[Any, Any, Any]:
    """The tokenizer, SmolLM2-135M-Instruct in float32, and its damaged copy."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    sys.path.insert(0, str(REPO))
    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.testmodel import smollm2_path

    folder = resolve_model(str(smollm2_path()), default_cache_root()).load_path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    tokenizer.padding_side = "left"
    clean: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    damaged: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    clean.eval()
    damaged.eval()
    generator = torch.Generator().manual_seed(DAMAGE_SEED)
    with torch.no_grad():
        for name, weight in damaged.named_parameters():
            if weight.dim() == 2 and (".mlp." in name or ".self_attn." in name):
                noise = torch.randn(weight.shape, generator=generator) * weight.std() * DAMAGE_SCALE
                weight.add_(noise)
    return tokenizer, clean, damaged


def batches(items: list[Job]) -> Iterator[list[Job]]:
    """Jobs grouped by (model, decoding, task), short prompts together, BATCH_SIZE at a time."""
    groups: dict[tuple[str, str, str], list[Job]] = {}
    for job in items:
        groups.setdefault((job.model, job.decoding, job.task), []).append(job)
    for key in sorted(groups):
        group = sorted(groups[key], key=lambda j: (len(j.prompt), j.id))
        for start in range(0, len(group), BATCH_SIZE):
            yield group[start : start + BATCH_SIZE]


def generate(batch: list[Job], tokenizer: Any, model: Any, seed: int) -> list[dict[str, Any]]:
    import torch

    texts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": j.prompt}], tokenize=False, add_generation_prompt=True
        )
        for j in batch
    ]
    encoded = tokenizer(texts, return_tensors="pt", padding=True)
    sampled = batch[0].decoding == "sampled"
    options: dict[str, Any] = {"do_sample": False}
    if sampled:
        torch.manual_seed(seed)
        options = {"do_sample": True, "temperature": TEMPERATURE, "top_p": TOP_P, "top_k": 0}
    with torch.no_grad():
        generated = model.generate(
            **encoded, max_new_tokens=MAX_NEW_TOKENS, pad_token_id=tokenizer.pad_token_id, **options
        )
    rows = []
    for job, sequence in zip(batch, generated[:, encoded.input_ids.shape[1] :], strict=True):
        tokens = sequence.tolist()  # padding after the end is the end token itself (<|im_end|>)
        finished = tokenizer.eos_token_id in tokens
        if finished:
            tokens = tokens[: tokens.index(tokenizer.eos_token_id)]
        row = asdict(job)
        row["output"] = tokenizer.decode(tokens, skip_special_tokens=True).strip()
        row["new_tokens"] = len(tokens)
        row["finished"] = finished  # False: cut off at MAX_NEW_TOKENS
        rows.append(row)
    return rows


def main() -> None:
    import torch

    torch.set_num_threads(THREADS)
    tokenizer, clean, damaged = load_models()
    models = {"smollm2": clean, "smollm2-damaged": damaged}
    all_jobs = jobs()
    order = {job.id: n for n, job in enumerate(all_jobs)}
    results: list[dict[str, Any]] = []
    start = time.time()
    for n, batch in enumerate(batches(all_jobs)):
        results += generate(batch, tokenizer, models[batch[0].model], SAMPLE_SEED + n)
        print(f"{len(results)}/{len(all_jobs)} done, {time.time() - start:.0f} s", flush=True)
    results.sort(key=lambda r: order[r["id"]])
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results))
    print(f"wrote {len(results)} outputs to {OUT} in {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
