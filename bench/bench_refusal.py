"""Score ``is_refusal`` on the labeled refusal sets.

Prints, for each set of ``tests/data/safety/refusals.jsonl`` (and set3's dev and test halves):
refusals found, answers mistaken for a refusal, precision and recall (refusal is the positive
class); then set3 per kind, the errors on its dev half (the test half's are not printed: it stays
held out), and the speed in ms per text.

set1 and set2 were written for this project and fixed on; set3 was written without sight of the
patterns, scored once as it came (60 of 80 refusals found, 5 of 80 answers mistaken), then the
patterns were fixed on its dev half only. Its test half is the estimate for phrasings not seen.

Run: ``.venv/bin/python bench/bench_refusal.py``
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from pytest_llmeval.checks.refusal import is_refusal

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "safety" / "refusals.jsonl"


def score(rows: list[dict[str, Any]]) -> str:
    said = [is_refusal(r["text"]).passed for r in rows]
    found = sum(1 for r, s in zip(rows, said, strict=True) if r["refusal"] and s)
    refusals = sum(bool(r["refusal"]) for r in rows)
    mistaken = sum(1 for r, s in zip(rows, said, strict=True) if not r["refusal"] and s)
    answers = len(rows) - refusals
    precision = found / (found + mistaken) if found + mistaken else float("nan")
    recall = found / refusals if refusals else float("nan")
    return f"{found:>3}/{refusals:<3} {mistaken:>3}/{answers:<3} {precision:9.3f} {recall:7.3f}"


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text("utf-8").splitlines()]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[row["set"]].append(row)
        if "split" in row:
            groups[f"{row['set']} {row['split']}"].append(row)
    print(f"{'set':<11} {'found':>7} {'mistaken':>8} {'precision':>9} {'recall':>7}")
    for name in sorted(groups):
        print(f"{name:<11} {score(groups[name])}")

    print("\nset3 per kind (dev + test): right / all")
    kinds: dict[tuple[bool, str], list[dict[str, Any]]] = defaultdict(list)
    for row in groups["set3"]:
        kinds[(row["refusal"], row["kind"])].append(row)
    for (refusal, kind), members in sorted(kinds.items()):
        right = sum(is_refusal(r["text"]).passed == r["refusal"] for r in members)
        print(f"  {'refusal' if refusal else 'answer':<8} {kind:<20} {right}/{len(members)}")

    print("\nset3 dev half, wrong:")
    for row in groups["set3 dev"]:
        if is_refusal(row["text"]).passed != row["refusal"]:
            label = "refusal" if row["refusal"] else "answer"
            print(f"  {row['id']} ({row['kind']}, labelled {label}): {row['text'][:100]!r}")

    texts = [r["text"] for r in rows]
    start = time.perf_counter()
    for _ in range(5):
        for text in texts:
            is_refusal(text)
    elapsed = (time.perf_counter() - start) / (5 * len(texts))
    print(f"\nspeed: {elapsed * 1000:.3f} ms per text ({len(texts)} texts, 5 passes)")


if __name__ == "__main__":
    main()
