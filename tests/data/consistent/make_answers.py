"""Generate ``answers.jsonl``: SmolLM2's answer to each question of ``questions.jsonl``, and 5 samples.

Run from the repository root (CPU only, no hub; a few minutes):

    .venv/bin/python tests/data/consistent/make_answers.py

What ``consistent`` is measured on: does it flag the answers that are wrong? The questions (80,
written for this set: capitals, authors of novels, and school facts, with the accepted answers)
have one short right answer each, so an answer is labelled right when it names one of them and
wrong otherwise; no one labels by reading. Generated as a user of the plugin would: the embedded
transformers backend, SmolLM2-135M-Instruct in float32, the chat template, a greedy answer of at
most ``MAX_TOKENS`` tokens, then ``LLM.resample`` for ``SAMPLES`` more at each of
``TEMPERATURES`` (fixed seed): 1.0 is what ``expect(out).consistent()`` draws.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUESTIONS = HERE / "questions.jsonl"
OUT = HERE / "answers.jsonl"
MAX_TOKENS = 48
SAMPLES = 5
TEMPERATURES = (1.0, 0.7, 0.3)  # 1.0 is what expect(out).consistent() draws; the others for comparison


def is_right(answer: str, accepted: list[str]) -> bool:
    """The answer names one of the accepted answers (as a word, case aside)."""
    return any(re.search(rf"(?<!\w){re.escape(a)}(?!\w)", answer, re.IGNORECASE) for a in accepted)


def main() -> None:
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.llm import LLM
    from pytest_llmeval.testmodel import smollm2_path

    llm = LLM(TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu"))
    rows = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines()]
    answers = llm.chat([[{"role": "user", "content": r["question"]}] for r in rows], max_tokens=MAX_TOKENS)
    with OUT.open("w", encoding="utf-8") as out:
        for row, answer in zip(rows, answers, strict=True):
            record = {
                "split": "dev" if hashlib.sha256(row["id"].encode()).digest()[0] % 2 == 0 else "test",
                "id": row["id"],
                "question": row["question"],
                "accepted": row["answers"],
                "answer": str(answer),
                "right": is_right(str(answer), row["answers"]),
                "samples": {str(t): list(llm.resample(answer, SAMPLES, temperature=t)) for t in TEMPERATURES},
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} answers with {SAMPLES} samples at each of {TEMPERATURES} to {OUT}")


if __name__ == "__main__":
    main()
