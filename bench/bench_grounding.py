"""How well ``grounded_in`` finds unsupported answers, per method, on three labeled corpora.

- ``tuning``: ``tests/data/grounding/corpus.jsonl`` (GSM8K solutions edited by ``make_corpus.py``,
  and short factual texts); its dev split was used to tune the facts method.
- ``independent``: ``tests/data/grounding2/corpus.jsonl``, real outputs of SmolLM2-135M-Instruct and
  of a damaged copy of it on other GSM8K problems and on reading passages, labelled by reading them;
  made by another hand than the check's, and its test split is never used for tuning.
- ``third``: ``tests/data/grounding3/corpus.jsonl``, made the same way on 70 other GSM8K problems
  (solutions only), after the check had been tuned on the first two; same rule for its test split.

Then ``grounded_in`` on the 1,319 reference solutions of GSM8K's test split
(``tests/gsm8k_reference.py``): they are right, so each flag is a number derived without writing
the step (flagged on purpose by the default rule) or a false flag; the rows where a relation rule
fires are printed.

Labels follow the check's default rule; each corpus is also scored under ``one_step=True``, where
items marked ``"one_step": true`` count as grounded. "Positive" means flagged as unsupported.
Printed per corpus, rule and split: precision, recall and F1, then per kind of item the share
flagged (for unsupported kinds that is the recall, for grounded kinds the false-alarm rate). For
the facts method also its CPU cost per 1,000 characters of output and of text read (output and
context) on the tuning corpus (the check keeps the last 16 contexts it read, so a context shared by
two items is read once per pass), and on one answer just under the check's size limit.

Methods:
- ``facts`` always;
- ``nli`` with ``--nli-model NAME_OR_FOLDER`` (any Hugging Face NLI classifier; none ships in a
  pip package here, so it is skipped without one);
- ``judge`` with ``--judge``: SmolLM2-135M-Instruct as the judge, greedy, on the first
  ``--judge-items`` items of each split (the prompts are batched; the verdicts are then read by
  the same code path ``grounded_in(method="judge")`` uses).

Run: ``.venv/bin/python bench/bench_grounding.py [--judge] [--judge-items 50] [--nli-model PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from pytest_llmeval.checks.grounding import grounded_in, judge_prompt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import gsm8k_reference

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
# The tuning corpus (made by a script that edits GSM8K solutions; its dev split tuned the facts
# method) and two independent ones (real SmolLM2 outputs, labelled by reading; test splits never
# tuned on).
CORPORA = {
    "tuning": DATA / "grounding" / "corpus.jsonl",
    "independent": DATA / "grounding2" / "corpus.jsonl",
    "third": DATA / "grounding3" / "corpus.jsonl",
}
Item = dict[str, Any]


def load(path: Path) -> list[Item]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def label(item: Item, one_step: bool) -> str:
    """The item's label under the rule asked for: with one_step=True, an output whose only
    unsupported numbers are one unshown step from known ones counts as grounded."""
    return "grounded" if one_step and item.get("one_step") is True else str(item["label"])


def report(name: str, items: list[Item], flagged: list[bool], one_step: bool = False) -> None:
    for split in ("dev", "test"):
        rows = [(item, f) for item, f in zip(items, flagged, strict=True) if item["split"] == split]
        if not rows:
            continue
        tp = sum(1 for item, f in rows if f and label(item, one_step) == "unsupported")
        fp = sum(1 for item, f in rows if f and label(item, one_step) == "grounded")
        fn = sum(1 for item, f in rows if not f and label(item, one_step) == "unsupported")
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(
            f"{name:24s} {split:4s} n={len(rows):3d}  precision {precision:.3f}  recall {recall:.3f}  "
            f"F1 {f1:.3f}  (tp {tp}, fp {fp}, fn {fn})"
        )
        total, hits = Counter[str](), Counter[str]()
        for item, f in rows:
            key = f"{label(item, one_step)}/{item['kind']}"
            total[key] += 1
            hits[key] += f
        print("    flagged: " + ", ".join(f"{k} {hits[k]}/{total[k]}" for k in sorted(total)))


def run_facts(corpus: str, items: list[Item]) -> None:
    for one_step in (False, True):
        flagged = [not grounded_in(i["output"], i["context"], one_step=one_step).passed for i in items]
        report(f"facts {corpus}" + (" one_step" if one_step else ""), items, flagged, one_step)


def reference_solutions() -> None:
    """GSM8K's own reference solutions are right: a flag is an unshown step or a false flag."""
    found = gsm8k_reference.flags()
    share = len(found.flagged) / found.rows
    print(
        f"facts on GSM8K reference solutions (right answers): {len(found.flagged)} of "
        f"{found.rows} flagged ({share:.1%}); a relation rule fired on {len(found.by_relation)} "
        f"(rows {', '.join(map(str, found.by_relation))})"
    )
    print("    reasons: " + ", ".join(f"{why} {n}" for why, n in found.reasons.most_common(8)))


def facts_cost(items: list[Item]) -> None:
    chars = sum(len(item["output"]) for item in items)
    read = chars + sum(len(item["context"]) for item in items)  # the check reads both texts
    best = min(
        _cpu(lambda: [grounded_in(item["output"], item["context"]) for item in items]) for _ in range(3)
    )
    big_answer = items[0]["output"] + "\n"
    big = big_answer * (390_000 // len(big_answer))  # just under the check's size limit (400,000)
    largest = min(_cpu(lambda: grounded_in(big, items[0]["context"])) for _ in range(2))
    print(
        f"facts cost: {best * 1e6 / chars:.3f} ms CPU per 1,000 output chars over the corpus, "
        f"{best * 1e6 / read:.3f} per 1,000 chars read (output and context; "
        f"{best * 1e3 / len(items):.2f} ms per item, each context read once per pass); "
        f"{largest * 1e6 / len(big):.3f} ms per 1,000 chars on a {len(big):,}-char answer"
    )


def _cpu(work: Callable[[], object]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def run_nli(items: list[Item], model: str) -> None:
    import torch

    torch.set_num_threads(1)
    flagged = [
        not grounded_in(i["output"], i["context"], method="nli", nli_model=model).passed for i in items
    ]
    report("nli", items, flagged)


class ReplayJudge:
    """Answers each prompt with the reply generated for it in one batch beforehand, and declares
    what the real engine declares (so the check asks for the same schema)."""

    def __init__(self, replies: dict[str, str], info: Any) -> None:
        self.replies = replies
        self.info = info

    def chat(self, prompt: str, **kw: Any) -> str:
        return self.replies[prompt]


def run_judge(items: list[Item], per_split: int, max_tokens: int) -> None:
    import torch

    from pytest_llmeval.checks.grounding import Unsupported
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.llm import LLM
    from pytest_llmeval.testmodel import smollm2_path

    torch.set_num_threads(1)
    chosen = [i for split in ("dev", "test") for i in [x for x in items if x["split"] == split][:per_split]]
    prompts = [judge_prompt(item["output"], item["context"]) for item in chosen]
    llm = LLM(TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu"))
    structured = getattr(llm.info, "structured_output", False) is True
    start = time.perf_counter()
    outputs = llm.chat(
        [[{"role": "user", "content": p}] for p in prompts],
        max_tokens=max_tokens,
        temperature=0.0,
        **({"schema": Unsupported} if structured else {}),
    )
    seconds = time.perf_counter() - start
    judge = ReplayJudge({p: str(o) for p, o in zip(prompts, outputs, strict=True)}, llm.info)
    results = [
        grounded_in(i["output"], i["context"], method="judge", judge=judge, judge_max_tokens=max_tokens)
        for i in chosen
    ]
    unreadable = sum(1 for r in results if r.reason.startswith("the judge's verdict is not JSON"))
    print(
        f"judge  SmolLM2-135M-Instruct on {len(chosen)} items ({per_split} per split), structured output "
        f"{'on' if structured else 'off'}, {seconds:.0f} s to generate; {unreadable} verdicts were not "
        "readable (counted as flagged)"
    )
    report("judge", chosen, [not r.passed for r in results])
    for item, output in list(zip(chosen, outputs, strict=True))[:3]:
        print(f"       e.g. {item['label']}/{item['kind']}: {str(output)[:100]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--nli-model", help="a Hugging Face NLI model name or folder (none ships offline here)"
    )
    parser.add_argument("--judge", action="store_true", help="run SmolLM2-135M-Instruct as the judge")
    parser.add_argument("--judge-items", type=int, default=50, help="items per split for the judge")
    parser.add_argument("--judge-max-tokens", type=int, default=48)
    args = parser.parse_args()
    corpora = {name: load(path) for name, path in CORPORA.items() if path.is_file()}
    for name, path in CORPORA.items():
        print(
            f"corpus {name}: {len(corpora.get(name, []))} items from {path.relative_to(DATA.parent.parent)}"
        )
    for name, corpus in corpora.items():
        run_facts(name, corpus)
    reference_solutions()
    items = corpora["tuning"]
    facts_cost(items)
    if args.nli_model:
        run_nli(items, args.nli_model)
    else:
        print("nli    skipped: no NLI model is available offline here (pass --nli-model NAME_OR_FOLDER)")
    if args.judge:
        run_judge(items, args.judge_items, args.judge_max_tokens)


if __name__ == "__main__":
    main()
