"""How readable and how fast a small local judge is, through the one judge protocol (``judged``).

SmolLM2-135M-Instruct on the transformers backend grades 100 answers to GSM8K problems (50 rows of
``tests/data/grounding/gsm8k_used.jsonl``, MIT, openai/grade-school-math): each row's reference
solution, and the same solution with its final number changed. The rubric gives the right final
number, so the label is known. Printed side by side, in one process and on one loaded model:

- ``verdict``: the judge's JSON verdict, its decoding held to the schema (structured output), and
  the same prompts with structured output turned off (the judge's reply read from prose): how many
  of the 100 verdicts could not be read, accuracy against the label, seconds for the 100;
- ``verdict, samples=3``: three sampled judges per answer, majority vote, how often all three agree;
- ``logprobs``: G-Eval scoring, the expected score under the probabilities of " 0" to " 10".

SmolLM2-135M is too small to judge well: the accuracy column shows it (50% is chance). What this
bench checks is that every verdict is readable and what each way of asking costs.

Run: ``.venv/bin/python bench/bench_judge.py [--items 50]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pytest_llmeval.checks import judged

ROWS = Path(__file__).resolve().parent.parent / "tests" / "data" / "grounding" / "gsm8k_used.jsonl"
RUBRIC = "The answer must reach the final number {number}. Any other final number is wrong."


def cases(rows: int) -> list[tuple[str, str, str, bool]]:
    """(question, answer, rubric, is the answer right) for a reference and a changed answer per row."""
    made: list[tuple[str, str, str, bool]] = []
    for line in ROWS.read_text(encoding="utf-8").splitlines()[:rows]:
        row = json.loads(line)
        answer = re.sub(r"<<[^>]*>>", "", row["answer"])
        final = answer.rsplit("####", 1)[1].strip()
        wrong = str(int(float(final.replace(",", ""))) + 7)
        changed = answer[: answer.rindex("####")] + f"#### {wrong}"
        rubric = RUBRIC.format(number=final)
        made += [(row["question"], answer, rubric, True), (row["question"], changed, rubric, False)]
    return made


class Unstructured:
    """The same judge, declaring no structured output: the protocol then reads JSON from prose."""

    def __init__(self, llm: Any) -> None:
        self.llm = llm
        self.info = replace(llm.info, structured_output=False)

    def chat(self, messages: str, **spec: Any) -> Any:
        return self.llm.chat(messages, **spec)


def grade(name: str, judge: Any, items: list[tuple[str, str, str, bool]], **options: Any) -> None:
    start = time.perf_counter()
    results = [judged(a, r, judge=judge, question=q, max_tokens=96, **options) for q, a, r, _ in items]
    seconds = time.perf_counter() - start
    unreadable = sum(1 for r in results if r.reason.startswith("the judge gave no usable verdict"))
    undecided = sum(1 for r in results if r.reason.startswith("could not decide"))
    right = sum(1 for r, item in zip(results, items, strict=True) if r.passed == item[3])
    unanimous = sum(1 for r in results if re.search(r", (\d) of \1 judges agree", r.reason))
    extra = f"  all agree {unanimous:3d}" if options.get("samples", 1) > 1 else ""
    print(
        f"{name:28s} {len(items):4d}  unreadable {unreadable:3d}  could not decide {undecided:3d}  "
        f"accuracy {right / len(items):.2f}  {seconds:6.1f} s ({seconds / len(items):.2f} s each){extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--items", type=int, default=50, help="GSM8K rows (two answers each)")
    args = parser.parse_args()
    import torch

    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.llm import LLM
    from pytest_llmeval.testmodel import smollm2_path

    torch.set_num_threads(max(1, (os.cpu_count() or 1)))
    items = cases(args.items)
    llm = LLM(TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu"))
    print(
        f"judge: SmolLM2-135M-Instruct, transformers on the CPU; capabilities {llm.info.structured_output=} "
        f"{llm.info.logprobs=}"
    )
    print(f"{'way of asking':28s} {'n':>4s}")
    grade("verdict, structured", llm, items)
    grade("verdict, read from prose", Unstructured(llm), items)
    grade("verdict, samples=3", llm, items, samples=3)
    grade("logprobs (G-Eval)", llm, items, scoring="logprobs")


if __name__ == "__main__":
    main()
