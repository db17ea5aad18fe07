"""Generate the raw model outputs behind the ``grounding2`` corpus: ``outputs.jsonl``.

Run from the repository root (CPU only, no hub; about 20 minutes on a busy 2-core machine):

    .venv/bin/python tests/data/grounding2/make_outputs.py

What it makes: ``tests/data/grounding2/outputs.jsonl``, one JSON object per generation with the
context, the prompt, the model, the decoding and the generated text. The outputs are labelled
afterwards by a person reading them (see ``README.md``); this script does no labelling.

Contexts (two families), chosen with fixed seeds:

- ``gsm8k``: 60 problems from ``/work/shared/data/gsm8k_test.jsonl`` (openai/grade-school-math, MIT)
  that are not among the rows of ``tests/data/grounding/gsm8k_used.jsonl``.
- ``reading``: 20 stories from BIG-Bench-Hard ``causal_judgement`` (suzgunmirac/BIG-Bench-Hard, MIT;
  one per near-duplicate story family, the story without its final question) and the 20 fictional
  news passages of ``passages.jsonl`` (written for this corpus, Apache-2.0).

Models: SmolLM2-135M-Instruct (the project's test model, ``python -m pytest_llmeval.testmodel``,
de-quantized to float32) and a damaged copy of it, made in memory: every attention and MLP
projection matrix gets Gaussian noise with a standard deviation of ``DAMAGE_SCALE`` times that
matrix's own standard deviation (seed ``DAMAGE_SEED``). It still writes sentences but drifts from
the facts more often. No model file is written anywhere.

Generations per context (chat template, at most ``MAX_NEW_TOKENS`` new tokens):

- gsm8k: "Solve step by step" with smollm2 greedy, smollm2 sampled, smollm2-damaged greedy;
- reading: "Summarize" with smollm2 greedy and smollm2-damaged greedy, and "Answer" with smollm2
  greedy and smollm2 sampled.

Sampling uses temperature ``TEMPERATURE`` and top-p ``TOP_P``; the torch seed is reset before every
batch, so a rerun with the same torch/transformers versions and thread count gives the same text.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GSM8K_FILE = Path("/work/shared/data/gsm8k_test.jsonl")
BBH_FILE = Path("/work/shared/data/bbh/causal_judgement.json")
GSM8K_USED = REPO / "tests" / "data" / "grounding" / "gsm8k_used.jsonl"
PASSAGES = HERE / "passages.jsonl"
OUT = HERE / "outputs.jsonl"

SELECTION_SEED = 20240611
N_GSM8K = 60
N_BBH = 20
BBH_MAX_CHARS = 1100  # long stories slow generation and are near-duplicates of shorter ones
DAMAGE_SEED = 1234
DAMAGE_SCALE = 0.1
SAMPLE_SEED = 7
TEMPERATURE = 0.7
TOP_P = 0.95
MAX_NEW_TOKENS = 160
BATCH_SIZE = 16
THREADS = 1  # on a shared 2-core machine, 2 OpenMP threads were 10x slower than 1 (spin-waiting)

SOLVE = "Solve step by step, showing each calculation, then give the final answer.\n\n{question}"
SUMMARIZE = "Summarize the passage in 2-3 sentences.\n\nPassage: {passage}"
ANSWER = "Passage: {passage}\n\nAnswer: {question}"


@dataclass(frozen=True)
class Context:
    """One context an output is checked against, and what the models are asked about it."""

    family: str  # "gsm8k" | "reading"
    source: str  # "gsm8k:<row>" | "bbh-causal:<n>" | "written:<n>"
    context: str
    question: str  # the GSM8K problem (same as context) or the question about the passage


@dataclass(frozen=True)
class Job:
    """One generation to run."""

    id: str
    family: str
    source: str
    context: str
    task: str  # "solve" | "summarize" | "answer"
    prompt: str
    model: str  # "smollm2" | "smollm2-damaged"
    decoding: str  # "greedy" | "sampled"


def gsm8k_contexts() -> list[Context]:
    """Seeded choice of GSM8K test rows that the first grounding corpus did not use."""
    used = {json.loads(line)["index"] for line in GSM8K_USED.read_text().splitlines() if line.strip()}
    rows = [json.loads(line) for line in GSM8K_FILE.read_text().splitlines() if line.strip()]
    free = [i for i in range(len(rows)) if i not in used]
    chosen = sorted(random.Random(SELECTION_SEED).sample(free, N_GSM8K))
    return [Context("gsm8k", f"gsm8k:{i}", rows[i]["question"], rows[i]["question"]) for i in chosen]


_FINAL_QUESTION = re.compile(r"^(?P<story>.*[.!?\"'])\s+(?P<question>[^.!?]*\?)$", re.DOTALL)


def bbh_contexts() -> list[Context]:
    """Seeded choice of causal_judgement stories, one per story family (same opening), split from
    their final question. The file's canary string is never copied."""
    examples = json.loads(BBH_FILE.read_text())["examples"]
    families: dict[str, int] = {}
    for n, example in enumerate(examples):
        story = _story(example["input"])
        if len(story) <= BBH_MAX_CHARS:
            families.setdefault(story[:60], n)
    chosen = sorted(random.Random(SELECTION_SEED + 1).sample(sorted(families.values()), N_BBH))
    contexts = []
    for n in chosen:
        match = _FINAL_QUESTION.match(_story(examples[n]["input"]))
        if match is None:
            raise ValueError(f"causal_judgement example {n}: no final question found")
        contexts.append(Context("reading", f"bbh-causal:{n}", match["story"], match["question"]))
    return contexts


def _story(text: str) -> str:
    """The story of a causal_judgement input: after the instruction line, before the options."""
    return text.split("\n", 1)[1].split("\nOptions:")[0].strip()


def written_contexts() -> list[Context]:
    rows = [json.loads(line) for line in PASSAGES.read_text().splitlines() if line.strip()]
    return [Context("reading", f"written:{r['n']}", r["passage"], r["question"]) for r in rows]


def jobs() -> list[Job]:
    """All generations, in a fixed order."""
    out: list[Job] = []
    for c in gsm8k_contexts():
        prompt = SOLVE.format(question=c.question)
        for model, decoding in (("smollm2", "greedy"), ("smollm2", "sampled"), ("smollm2-damaged", "greedy")):
            out.append(_job(c, "solve", prompt, model, decoding))
    for c in bbh_contexts() + written_contexts():
        summarize = SUMMARIZE.format(passage=c.context)
        answer = ANSWER.format(passage=c.context, question=c.question)
        out.append(_job(c, "summarize", summarize, "smollm2", "greedy"))
        out.append(_job(c, "summarize", summarize, "smollm2-damaged", "greedy"))
        out.append(_job(c, "answer", answer, "smollm2", "greedy"))
        out.append(_job(c, "answer", answer, "smollm2", "sampled"))
    return out


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
