"""Score the ``not_garbled`` check and each of its signals on the labeled corpus.

Prints, for every signal and for the whole check: precision, recall and F1 on the dev and test
splits of ``tests/data/garbled/corpus.jsonl`` (garbled is the positive class), the false-positive
rate on the hard negatives (code, tables, lists, math, numbers, URLs, other languages, short
answers), and the speed in ms per 1,000 characters: the median over the corpus's texts of 200+
characters (best of 5 runs each), and on a 1 MB input of distinct fluent text (best of 3); wall
and CPU time, since other processes may share the machine.

``--perplexity`` also scores the reference-perplexity signal with SmolLM2-135M-Instruct as the
reference: its threshold is chosen on dev (best F1 of the check with it) and reported on test.

Run: ``.venv/bin/python bench/bench_garbled.py [--perplexity] [--show-errors dev]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

from pytest_llmeval.checks.garbled import SIGNALS, garbled_findings, not_garbled

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "garbled" / "corpus.jsonl"
HARD_KINDS = (
    "code_",
    "regex",
    "table",
    "list",
    "math",
    "numbers",
    "url",
    "lang_",
    "short",
    "prose_hard",
    "bbh_",
)
Item = dict[str, Any]


def load() -> list[Item]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").split("\n") if line]


def is_hard(item: Item) -> bool:
    return item["label"] == "fluent" and str(item["kind"]).startswith(HARD_KINDS)


def scores(items: Sequence[Item], flagged: Sequence[bool]) -> tuple[float, float, float, float]:
    """Precision, recall and F1 of "garbled", and the false-positive rate on the hard negatives."""
    pairs = list(zip(items, flagged, strict=True))
    tp = sum(f and i["label"] == "garbled" for i, f in pairs)
    fp = sum(f and i["label"] == "fluent" for i, f in pairs)
    fn = sum(not f and i["label"] == "garbled" for i, f in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    hard = [f for i, f in pairs if is_hard(i)]
    return precision, recall, f1, sum(hard) / len(hard) if hard else 0.0


def print_table(rows: list[tuple[str, list[bool]]], items: list[Item]) -> None:
    print(f"{'signal':<22}{'split':<6}{'prec':>7}{'recall':>8}{'F1':>7}{'hard FP':>9}{'fired':>7}")
    for name, flagged in rows:
        for split in ("dev", "test"):
            chosen = [k for k, item in enumerate(items) if item["split"] == split]
            p, r, f1, hard = scores([items[k] for k in chosen], [flagged[k] for k in chosen])
            fired = sum(flagged[k] for k in chosen)
            print(f"{name:<22}{split:<6}{p:>7.3f}{r:>8.3f}{f1:>7.3f}{hard:>9.3f}{fired:>7}")


def one_megabyte() -> str:
    """1 MB of distinct fluent text: GSM8K solutions and BBH questions, none repeated."""
    parts: list[str] = []
    gsm8k = Path("/work/shared/data/gsm8k_test.jsonl")
    if gsm8k.is_file():
        for line in gsm8k.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            parts += [row["question"], row["answer"]]
    for path in sorted((ROOT / "tests" / "data" / "bbh").glob("*.json")):
        parts += [e["input"] for e in json.loads(path.read_text(encoding="utf-8"))["examples"]]
    parts += [i["text"] for i in load() if i["label"] == "fluent"]
    text = "\n\n".join(dict.fromkeys(parts))  # each text once
    if len(text) < 1_000_000:
        raise SystemExit(f"only {len(text)} characters of distinct fluent text for the 1 MB input")
    return text[:1_000_000]


def best_time(check: Callable[[str], object], text: str, repeat: int) -> tuple[float, float]:
    """The fastest of ``repeat`` runs (wall and CPU seconds): other processes only ever add time."""
    from pytest_llmeval.checks import garbled_repetition, garbled_words

    walls, cpus = [], []
    for _ in range(repeat):
        garbled_repetition._tokens.cache_clear()  # each run pays for its own tokenization
        garbled_words._reading.cache_clear()
        wall, cpu = time.perf_counter(), time.process_time()
        check(text)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def speed(check: Callable[[str], object], items: list[Item], big: str) -> tuple[float, float, float, float]:
    """ms per 1,000 chars: median over texts of 200+ chars (best of 5 each), and on 1 MB (best of 3)."""
    wall, cpu = [], []
    for item in items:
        if len(item["text"]) >= 200:
            seconds = best_time(check, item["text"], 5)
            wall.append(seconds[0] * 1e6 / len(item["text"]))
            cpu.append(seconds[1] * 1e6 / len(item["text"]))
    big_wall, big_cpu = best_time(check, big, 3)
    return (
        statistics.median(wall),
        statistics.median(cpu),
        big_wall * 1e6 / len(big),
        big_cpu * 1e6 / len(big),
    )


def smollm2_perplexities(items: list[Item]) -> list[float | None]:
    """Per-token perplexity of each text under SmolLM2-135M-Instruct (None below 8 words)."""
    import torch

    from pytest_llmeval.checks.garbled import PERPLEXITY_MIN_WORDS
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.testmodel import smollm2_path

    torch.set_num_threads(1)
    engine = TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu")
    scored = [i for i, item in enumerate(items) if len(item["text"].split()) >= PERPLEXITY_MIN_WORDS]
    # Lone surrogates cannot be tokenized; the check scores them before the reference is asked.
    texts = [items[i]["text"].encode("utf-8", "replace").decode("utf-8") for i in scored]
    start = time.perf_counter()
    results = []
    for at in range(0, len(texts), 8):  # small batches: one call with every text at once ran out of memory
        results += engine.loglikelihood_rolling(texts[at : at + 8])
    seconds = time.perf_counter() - start
    engine.close()
    chars = sum(len(t) for t in texts)
    rate = seconds * 1e6 / chars
    print(f"SmolLM2 scored {len(texts)} texts ({chars} chars) in {seconds:.0f} s: {rate:.1f} ms/1k chars")
    values: list[float | None] = [None] * len(items)
    for i, result in zip(scored, results, strict=True):
        values[i] = math.exp(-result.logprob / max(1, result.num_tokens))
    return values


def perplexity_report(items: list[Item], deterministic: list[bool]) -> None:
    values = smollm2_perplexities(items)
    dev = [k for k, item in enumerate(items) if item["split"] == "dev"]
    candidates = sorted({round(v) for k in dev if (v := values[k]) is not None})

    def flagged_at(limit: float) -> list[bool]:
        return [v is not None and v > limit for v in values]

    def combined_f1(limit: float) -> float:
        fl = flagged_at(limit)
        return scores([items[k] for k in dev], [fl[k] or deterministic[k] for k in dev])[2]

    best = max(candidates, key=lambda limit: (combined_f1(limit), limit))
    print(f"max_perplexity chosen on dev (best F1 of the combined check): {best}")
    alone = flagged_at(best)
    print_table(
        [
            (f"perplexity > {best}", alone),
            ("not_garbled + ppl", [a or d for a, d in zip(alone, deterministic, strict=True)]),
        ],
        items,
    )
    kinds: dict[str, list[float]] = {}
    for item, value in zip(items, values, strict=True):
        if value is not None:
            kinds.setdefault(f"{item['label']}/{str(item['kind']).split('_')[0]}", []).append(value)
    print("median perplexity by label/kind:")
    for kind, vals in sorted(kinds.items()):
        print(f"  {kind:<28}{statistics.median(vals):>10.1f}  (n={len(vals)}, max {max(vals):.0f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--perplexity", action="store_true", help="also score SmolLM2 perplexity (minutes)")
    parser.add_argument(
        "--show-errors", choices=("dev", "test"), help="print the misclassified items of a split"
    )
    args = parser.parse_args()
    items = load()
    for split in ("dev", "test"):
        part = [i for i in items if i["split"] == split]
        garbled = sum(i["label"] == "garbled" for i in part)
        print(f"{split}: {len(part)} items, {garbled} garbled, {sum(map(is_hard, part))} hard negatives")
    for item in items:
        not_garbled(item["text"])  # warm-up: word lists load once per process, not per text
    findings = [garbled_findings(item["text"]) for item in items]
    rows = [(name, [any(f.signal == name for f in found) for found in findings]) for name in SIGNALS]
    check = [bool(found) for found in findings]
    rows.append(("not_garbled", check))
    print()
    print_table(rows, items)
    big = one_megabyte()
    header = f"{'median wall':>13}{'median CPU':>12}{'1 MB wall':>11}{'1 MB CPU':>10}"
    print(f"\n{'speed, ms per 1k chars':<22}{header}")
    checks: list[tuple[str, Callable[[str], object]]] = [*SIGNALS.items(), ("not_garbled", not_garbled)]
    for name, signal in checks:
        median_wall, median_cpu, big_wall, big_cpu = speed(signal, items, big)
        print(f"{name:<22}{median_wall:>13.3f}{median_cpu:>12.3f}{big_wall:>11.3f}{big_cpu:>10.3f}")
    print(f"(1 MB input: {not_garbled(big).reason[:100]})")
    if args.show_errors:
        for item, flagged, found in zip(items, check, findings, strict=True):
            if item["split"] == args.show_errors and flagged != (item["label"] == "garbled"):
                print(f"\n--- {item['id']} ({item['label']}, {item['kind']}): {[f.signal for f in found]}")
                print(repr(item["text"][:300]))
    if args.perplexity:
        print()
        perplexity_report(items, check)


if __name__ == "__main__":
    main()
