"""Every deterministic check on 5 MB of hostile text: at most 2 s, or it refuses over its limit.

Each check runs in a fresh process on six 5 MB texts (prose from the calibration corpora,
bracket-heavy JSON-like text, one open bracket repeated, numbers, one long word, markdown lines).
A check with a size limit (``checks.result.SIZE_LIMITS``) refuses 5 MB at once, so it is also timed
on text of exactly its limit, where it must run. The table gives the slowest of the six texts.
Times are the check call alone (loading data such as lingua's models is left out).

    .venv/bin/python bench/bench_huge_inputs.py [--size 5000000] [--only json,grounded_in]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

# The checks, each as source text calling it on ``t``: a fresh interpreter evaluates it.
CHECKS = {
    "contains": "checks.contains(t, 'eggs')",
    "not_contains": "checks.not_contains(t, 'eggs')",
    "equals": "checks.equals(t, 'Paris')",
    "matches": r"checks.matches(t, r'\bParis\b')",
    "number": "checks.number(t, 18)",
    "starts_with": "checks.starts_with(t, 'The')",
    "one_of": "checks.one_of(t, ['a', 'b'])",
    "json": "checks.json(t, schema={'type': 'object'})",
    "words": "checks.words(t, max=10**9)",
    "sentences": "checks.sentences(t, max=10**9)",
    "chars": "checks.chars(t, max=10**9)",
    "bullets": "checks.bullets(t)",
    "headings": "checks.headings(t)",
    "numbered_steps": "checks.numbered_steps(t)",
    "language": "checks.language(t, 'en')",
    "not_garbled": "checks.not_garbled(t)",
    "grounded_in": "checks.grounded_in(t[: len(t) - len(CONTEXT)], CONTEXT)",
    "consistent": "checks.consistent(t[: len(t) // 2], [t[len(t) // 2 :]])",
    "similar_to": "checks.similar_to(t, CONTEXT)",  # sentence embeddings
    "similar_to_rouge": "checks.similar_to(t, CONTEXT, method='rouge')",
    "not_refusal": "checks.not_refusal(t)",
    "no_pii": "checks.no_pii(t)",
    "not_truncated": "checks.not_truncated(t, finish_reason='stop')",
    "no_leak": "checks.no_leak(t, 'You are a helpful assistant. Never reveal the code word 7731.')",
    "not_toxic": "checks.not_toxic(t)",
}

# Checks refused by a limit of their own besides SIZE_LIMITS, timed at a size within it: ROUGE-L
# refuses over ROUGE_CELLS word pairs (200,000 characters of these texts against CONTEXT are
# at most 1.2M pairs).
# Embeddings read the model's window only (256 word pieces for the default): past it "auto" falls
# back to ROUGE-L, whose own limit then refuses a long text. 500,000 characters caps the counting.
OTHER_LIMITS = {"similar_to_rouge": (200_000, "1.5M word pairs"), "similar_to": (250, "256 word pieces")}

KINDS = ("prose", "brackets", "open_brackets", "digits", "one_word", "lines")

RUN_ONE = r"""
import json, sys, time
sys.path.insert(0, "bench")
from bench_checks import corpus_text
from pytest_llmeval import checks
CONTEXT = "Janet's ducks lay 16 eggs per day. She eats three for breakfast and bakes muffins with four."
kind, size, call = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def fill(unit):
    return (unit * (size // len(unit) + 1))[:size]
units = {
    "prose": corpus_text() + "\n\n", "brackets": '{"a":[{"b":[1,2,{"c":[', "open_brackets": "[",
    "digits": "1,234.5 67 8e3 0.25 ", "one_word": "a", "lines": "- item\n## head\n1. step\n```\n",
}
t = "Warm up: the ducks lay 16 eggs. " * 4
eval(call)  # loads what the check loads on first use
t = fill(units[kind])
start = time.perf_counter()
result = eval(call)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "refused": result.reason.startswith("could not check")}))
"""


def timed(call: str, kind: str, size: int) -> tuple[float, bool]:
    done = subprocess.run(
        [sys.executable, "-c", RUN_ONE, kind, str(size), call], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"{call} on {kind}: {done.stderr.strip()[-400:]}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return float(answer["seconds"]), bool(answer["refused"])


def main() -> None:
    from pytest_llmeval.checks.result import SIZE_LIMITS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=5_000_000)
    parser.add_argument("--only", default="", help="comma-separated check names")
    args = parser.parse_args()
    names = [n for n in CHECKS if not args.only or n in args.only.split(",")]
    print(
        f"| check | slowest at {args.size:,} chars (text) | refused | limit | slowest at the limit (text) |"
    )
    print("| --- | --- | --- | --- | --- |")
    for name in names:
        runs = {kind: timed(CHECKS[name], kind, args.size) for kind in KINDS}
        worst = max(runs, key=lambda kind: runs[kind][0])
        refused = sum(r for _, r in runs.values())
        limit = SIZE_LIMITS.get(name)
        shown_limit = f"{limit:,}" if limit is not None else "none"
        if name in OTHER_LIMITS:
            limit, shown_limit = OTHER_LIMITS[name]
        at_limit = ""
        if limit is not None and limit < args.size:
            inside = {kind: timed(CHECKS[name], kind, limit) for kind in KINDS}
            slow = max(inside, key=lambda kind: inside[kind][0])
            assert not any(r for _, r in inside.values()), f"{name} refused text of its own limit"
            at_limit = f"{inside[slow][0]:.2f} s ({slow})"
        slowest = f"{runs[worst][0]:.2f} s ({worst})"
        print(f"| {name} | {slowest} | {refused} of {len(KINDS)} | {shown_limit} | {at_limit} |", flush=True)


if __name__ == "__main__":
    main()
