"""How well ``consistent`` tells SmolLM2's wrong answers from its right ones, by sample temperature.

Reads ``tests/data/consistent/answers.jsonl`` (80 short factual questions, SmolLM2-135M's greedy
answer to each, labelled right when it names an accepted answer, and 5 samples at each of three
temperatures; made by ``tests/data/consistent/make_answers.py``). Prints, per split (each row's
``split``, by a hash of the question's id) and temperature: the wrong answers flagged, the right
answers flagged, and the AUROC of the check's score (the share of claims the samples back) for
wrong against right.

A right answer can still be flagged for a made-up detail in another sentence ("1984 ... written by
A.A. Ramsey in 1949"): the label is about the answer, the check about every claim.

Run: ``.venv/bin/python bench/bench_consistent.py``
"""

from __future__ import annotations

import json
from pathlib import Path

from pytest_llmeval.checks import consistent

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "consistent" / "answers.jsonl"


def auroc(wrong: list[float], right: list[float]) -> float:
    """The chance that a wrong answer scores below a right one (ties count half)."""
    pairs = [(w < r) + 0.5 * (w == r) for w in wrong for r in right]
    return sum(pairs) / len(pairs)


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text("utf-8").splitlines()]
    print(f"{'split':<6} {'T':>4} {'wrong flagged':>14} {'right flagged':>14} {'AUROC':>6}")
    for split in ("dev", "test", "all"):
        chosen = [r for r in rows if split in ("all", r["split"])]
        for temperature in rows[0]["samples"]:
            results = [(r["right"], consistent(r["answer"], r["samples"][temperature])) for r in chosen]
            wrong = [result for right, result in results if not right]
            right = [result for is_right, result in results if is_right]
            flagged_wrong = sum(not r.passed for r in wrong)
            flagged_right = sum(not r.passed for r in right)
            area = auroc([r.score for r in wrong], [r.score for r in right])
            print(
                f"{split:<6} {temperature:>4} {flagged_wrong:>7}/{len(wrong):<6} "
                f"{flagged_right:>7}/{len(right):<6} {area:6.3f}"
            )


if __name__ == "__main__":
    main()
