"""Rebuild the calibration corpus of the ``not_garbled`` check: ``corpus.jsonl`` in this folder.

The corpus joins four parts:

1. model outputs generated here, deterministically (fixed seeds, greedy or seeded sampling):
   a tiny random-weight model (the recipe of ``tests/conftest.py``, three weight seeds) and
   SmolLM2-135M-Instruct, sampled at temperature 1.5-3.0 with top_p 1.0, and greedy long answers;
2. the labels of those outputs, written by a person who read each one (``labels.jsonl``): a
   generated text without a label is left out and written to ``unlabeled.jsonl`` for reading;
3. damaged copies of fluent sentences, made the way broken pipelines damage text: UTF-8 bytes
   decoded as cp1252 or latin-1 (mojibake), and control characters or U+FFFD inserted;
4. fluent text that is not generated: GSM8K reference solutions, BBH targets, and hand-written
   hard negatives (``written.jsonl``: code, tables, lists, math, other languages, short answers).

Every item gets a split (dev or test) from a hash of its id, so the split does not move when
items are added. Run: ``.venv/bin/python tests/data/garbled/make_corpus.py [--cache FILE]``; the
model part takes about half an hour on two CPU cores, ``--cache`` keeps it between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
GSM8K = Path("/work/shared/data/gsm8k_test.jsonl")  # falls back to the GSM8K rows already in the corpus
BBH = REPO / "tests" / "data" / "bbh"

# Varied requests: questions, instructions, creative writing, code, lists, other languages.
PROMPTS = [
    "What is the capital of France?",
    "Explain photosynthesis in two sentences.",
    "Write a short poem about the sea.",
    "Give me three tips for sleeping better.",
    "What is 17 times 23?",
    "Write a Python function that reverses a string.",
    "Describe your favourite season and why.",
    "How does a bicycle stay upright?",
    "Summarize the plot of Romeo and Juliet.",
    "What are the main causes of inflation?",
    "Translate 'good morning' into Spanish and French.",
    "Write a haiku about autumn leaves.",
    "List five fruits that are rich in vitamin C.",
    "Why is the sky blue?",
    "Write an email asking my manager for a day off.",
    "What is the difference between a virus and a bacterium?",
    "Explain what a black hole is to a child.",
    "Give me a recipe for pancakes.",
    "What happened in 1969?",
    "Write a SQL query that counts the rows of a table named users.",
    "How do I make a cup of tea?",
    "Tell me a joke about computers.",
    "What is the boiling point of water in Fahrenheit?",
    "Describe the water cycle.",
    "Why do cats purr?",
    "What should I pack for a weekend hiking trip?",
    "Write the opening line of a mystery novel.",
    "How many legs does a spider have?",
    "Explain the rules of chess briefly.",
    "What is machine learning?",
    "Write a JSON object describing a book.",
    "What is the largest planet in the solar system?",
    "Give me advice for a job interview.",
    "Describe a busy market in the morning.",
    "How do vaccines work?",
    "Write a limerick about a dog.",
    "What is the Pythagorean theorem?",
    "Name three famous painters and one work by each.",
    "How can I save money on groceries?",
    "What does a compiler do?",
]

# Requests for long answers: a small model answering greedily often falls into a loop on these.
LONG_PROMPTS = [
    "Write a long story about a dragon who wants to learn to read.",
    "List 60 animals, one per line.",
    "Write a 500-word essay about the history of the internet.",
    "Write a detailed guide to growing tomatoes at home.",
    "Continue this list of countries and their capitals for as long as you can: "
    "France - Paris, Germany - Berlin,",
    "Write a long poem about the moon with many verses.",
    "Explain in great detail how a car engine works.",
    "Write a dialogue between a teacher and a student about homework.",
    "Describe every planet of the solar system in detail.",
    "Write a long list of tips for learning a new language.",
    "Tell me everything you know about the Roman Empire.",
    "Write a long letter to a friend describing your holiday.",
    "Count from 1 to 100 in words.",
    "Write a recipe book chapter about soups with many recipes.",
    "Write a product description for a new smartphone, as long as possible.",
    "Explain the French Revolution step by step.",
    "Write a long motivational speech for a sports team.",
    "List as many programming languages as you can with a sentence about each.",
    "Write a story that never ends.",
    "Describe a walk through a forest, in as much detail as possible.",
    "Write the rules of a new board game in detail.",
    "Write a long FAQ about owning a dog.",
    "Write a weekly meal plan with breakfast, lunch and dinner for every day.",
    "Explain the causes of the First World War in detail.",
    "Write a long conversation between two robots.",
    "Write twenty sentences that start with 'I love'.",
    "Write a long summary of the book Moby Dick.",
    "Give a detailed history of mathematics.",
    "Write a travel guide to Japan.",
    "Write a biography of a fictional inventor.",
    *PROMPTS[:30],
]

# More requests, for short greedy answers and warm samples: many ask for code, tables, lists,
# numbers or other languages, the fluent outputs the check must leave alone.
PROMPTS_2 = [
    "Write a markdown table of three countries with their capitals and populations.",
    "Write a bash command that counts the files in a folder.",
    "Give me the first ten prime numbers.",
    "Translate 'thank you very much' into German.",
    "What is the square root of 144?",
    "Write a Python list comprehension that squares the numbers from 1 to 10.",
    "How do you say 'hello' in Japanese?",
    "Write a regular expression that matches an email address.",
    "What year did the Second World War end?",
    "List the days of the week.",
    "Write a JavaScript function that adds two numbers.",
    "Convert 100 degrees Celsius to Fahrenheit.",
    "Name the seven continents.",
    "Write a short thank-you note to a teacher.",
    "What is the chemical formula of table salt?",
    "Explain what an API is in one paragraph.",
    "Write a SQL query that selects the ten most recent orders.",
    "What are the primary colors?",
    "Give me a packing list for a beach holiday.",
    "What is the speed of light?",
    "Write a haiku about the city at night.",
    "Explain recursion to a beginner programmer.",
    "What is the plural of 'mouse'?",
    "Describe a cat in three sentences.",
    "What is 15% of 80?",
    "Write a YAML config with a name, a version and a list of two dependencies.",
    "Who wrote 'Pride and Prejudice'?",
    "Give me five synonyms for 'happy'.",
    "What is the difference between weather and climate?",
    "Write a short story about a lost key in three sentences.",
    "How many minutes are there in a day?",
    "Write the HTML for a link to example.com.",
    "Why do leaves change color in autumn?",
    "What does CPU stand for?",
    "Write a two-line rhyme about coffee.",
    "Solve for x: 2x + 6 = 14.",
    "Recommend three classic novels.",
    "What is the tallest mountain in the world?",
    "Write a git command to create a new branch called feature.",
    "Describe the taste of a lemon.",
]

# Written after the thresholds were set, and all in the test split: a held-out check that the
# calibration did not just fit the outputs of the prompts above.
HELDOUT_PROMPTS = [
    "What causes the seasons on Earth?",
    "Write a short review of a pizza restaurant.",
    "How do I center a div in CSS?",
    "Give me four ideas for a rainy afternoon.",
    "What is the difference between RAM and storage?",
    "Write a limerick about a forgetful wizard.",
    "Explain how a refrigerator keeps food cold.",
    "Write a function in Python that checks if a number is even.",
    "What is the population of Canada roughly?",
    "Describe the smell of rain.",
]
HELDOUT_LONG_PROMPTS = [
    "Write a long story about a lighthouse keeper and a storm.",
    "Write a detailed history of the bicycle.",
    "List 50 vegetables, one per line.",
    "Write a long essay about why people love music.",
    "Explain in detail how airplanes fly.",
    "Write a long description of a medieval castle.",
    "Write a very long poem about the ocean and the wind.",
    "Describe a day in the life of a honeybee in great detail.",
    "Write a long guide to training for a marathon.",
    "Write a long speech about the importance of friendship.",
    "Give a detailed explanation of how the stock market works.",
    "Write a long fairy tale about a talking fox.",
]

TEMPERATURES = (1.5, 2.0, 2.5, 3.0)
WARM_TEMPERATURES = (1.0, 1.2)
TINY_SEEDS = (0, 1, 2)
TINY_SOURCE = "tiny random-weight llama (tests/conftest.py recipe), weight seed"


def item_id_hash(item_id: str) -> int:
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16)


def split_of(item_id: str) -> str:
    if item_id.startswith("heldout-"):
        return "test"  # made after the thresholds were calibrated: never seen by the calibration
    return "dev" if item_id_hash(item_id) % 2 == 0 else "test"


def chat(prompt: str) -> Any:
    return ({"role": "user", "content": prompt},)


def _smollm2() -> Any:
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.testmodel import smollm2_path

    return TransformersEngine(str(smollm2_path()), dtype="float32", device="cpu")


def _sampled(
    engine: Any, prompts: list[str], temperatures: tuple[float, ...], tag: str
) -> list[dict[str, Any]]:
    """Two seeded samples a prompt, one request at a time (so a sample does not depend on batching)."""
    from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec

    planned = []
    for index, prompt in enumerate(prompts):
        temperature = temperatures[index % len(temperatures)]
        for seed in (index, index + 1000):
            spec = GenerationSpec(max_tokens=160, temperature=temperature, top_p=1.0, seed=seed)
            planned.append((f"smollm2-{tag}t{temperature}-p{index:02d}-s{seed}", prompt, spec))
    results = engine.generate([GenerationRequest(messages=chat(p), spec=s) for _, p, s in planned])
    return [
        {
            "id": item_id,
            "text": result.completions[0].text,
            "source": f"SmolLM2-135M-Instruct T={spec.temperature} top_p=1.0 seed={spec.seed}",
            "prompt": prompt,
        }
        for (item_id, prompt, spec), result in zip(planned, results, strict=True)
    ]


def _greedy(engine: Any, prompts: list[str], max_tokens: int, tag: str) -> list[dict[str, Any]]:
    from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec

    spec = GenerationSpec(max_tokens=max_tokens, temperature=0.0)
    results = engine.generate([GenerationRequest(messages=chat(p), spec=spec) for p in prompts])
    return [
        {
            "id": f"smollm2-greedy-{tag}{index:02d}",
            "text": result.completions[0].text,
            "source": f"SmolLM2-135M-Instruct greedy, max_tokens={max_tokens}",
            "prompt": prompt,
        }
        for index, (prompt, result) in enumerate(zip(prompts, results, strict=True))
    ]


def smollm2_hot() -> list[dict[str, Any]]:
    """Sampled at temperature 1.5-3.0 with top_p 1.0: mostly token soup."""
    return _sampled(_smollm2(), PROMPTS, TEMPERATURES, "")


def smollm2_long() -> list[dict[str, Any]]:
    """Greedy long answers: a 135M model answering greedily often falls into a loop."""
    return _greedy(_smollm2(), LONG_PROMPTS, 400, "l")


def smollm2_short() -> list[dict[str, Any]]:
    """Greedy short answers: mostly fluent, often code, lists, numbers or other languages."""
    return _greedy(_smollm2(), PROMPTS_2, 200, "s")


def smollm2_warm() -> list[dict[str, Any]]:
    """Sampled at temperature 1.0-1.2: the border between fluent and soup, labeled by reading."""
    return _sampled(_smollm2(), PROMPTS_2, WARM_TEMPERATURES, "w")


def heldout_hot() -> list[dict[str, Any]]:
    return [
        {**item, "id": "heldout-" + item["id"]}
        for item in _sampled(_smollm2(), HELDOUT_PROMPTS, TEMPERATURES, "h")
    ]


def heldout_long() -> list[dict[str, Any]]:
    return [
        {**item, "id": "heldout-" + item["id"]}
        for item in _greedy(_smollm2(), HELDOUT_LONG_PROMPTS, 400, "h")
    ]


def tiny_outputs() -> list[dict[str, Any]]:
    """The random-weight model of tests/conftest.py, with three weight seeds, greedy and sampled."""
    import tempfile

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model
    from pytest_llmeval.engine.transformers import TransformersEngine
    from pytest_llmeval.engine.types import GenerationRequest, GenerationSpec
    from pytest_llmeval.testmodel import smollm2_path

    folder = resolve_model(str(smollm2_path()), default_cache_root()).load_path
    tokenizer = AutoTokenizer.from_pretrained(folder)
    items: list[dict[str, Any]] = []
    for weight_seed in TINY_SEEDS:
        with tempfile.TemporaryDirectory() as tmp:
            config = LlamaConfig(
                vocab_size=len(tokenizer),
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                max_position_embeddings=256,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
                tie_word_embeddings=True,
            )
            torch.manual_seed(weight_seed)
            LlamaForCausalLM(config).save_pretrained(tmp)  # type: ignore[no-untyped-call]
            tokenizer.save_pretrained(tmp)
            engine = TransformersEngine(tmp, dtype="float32", device="cpu")
            prompts = PROMPTS[weight_seed::3][:10]
            # Greedy decoding of a random model ignores the prompt: three greedy answers are enough.
            requests = [
                GenerationRequest(messages=chat(p), spec=GenerationSpec(max_tokens=96)) for p in prompts[:3]
            ]
            requests += [
                GenerationRequest(
                    messages=chat(p),
                    spec=GenerationSpec(max_tokens=96, temperature=1.0, seed=weight_seed * 100 + i),
                )
                for i, p in enumerate(prompts)
            ]
            numbers = [*range(3), *range(10, 20)]
            for i, request, result in zip(numbers, requests, engine.generate(requests), strict=True):
                mode = "greedy" if request.spec.greedy else f"T=1.0 seed={request.spec.seed}"
                items.append(
                    {
                        "id": f"tiny-w{weight_seed}-{i:02d}",
                        "text": result.completions[0].text,
                        "source": f"{TINY_SOURCE} {weight_seed}, {mode}",
                        "prompt": request.messages[0]["content"] if request.messages else "",
                    }
                )
            engine.close()
    return items


PARTS = {
    "tiny": tiny_outputs,
    "smollm2_hot": smollm2_hot,
    "smollm2_long": smollm2_long,
    "smollm2_short": smollm2_short,
    "smollm2_warm": smollm2_warm,
    "heldout_hot": heldout_hot,
    "heldout_long": heldout_long,
}


def generated(cache: Path | None) -> list[dict[str, Any]]:
    """Every model output, from ``cache`` where it has the part, else generated (and added to it)."""
    stored = read_jsonl(cache) if cache is not None else []
    items = []
    for part, make in PARTS.items():
        have = [item for item in stored if item.get("part") == part]
        if not have:
            import torch

            torch.set_num_threads(1)
            have = [{**item, "part": part} for item in make()]
            if cache is not None:
                with cache.open("a", encoding="utf-8") as out:
                    out.writelines(json.dumps(item, ensure_ascii=False) + "\n" for item in have)
        items += have
    return items


# ----- damaged text: what broken pipelines do to fluent text -----


def sloppy_cp1252(data: bytes) -> str:
    """Decode as Windows-1252, passing its five undefined bytes through as latin-1 (as browsers do)."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in data)


def damaged(fluent: list[dict[str, Any]], seed: int, prefix: str, scale: float = 1.0) -> list[dict[str, Any]]:
    """Mojibake, U+FFFD, control characters and lone surrogates, each made from a fluent item.

    ``scale`` shrinks the counts, so that damaged text stays a minority of the garbled items.
    """
    rng = random.Random(seed)
    non_ascii = [item for item in fluent if not item["text"].isascii() and len(item["text"]) > 40]
    plain = [item for item in fluent if len(item["text"]) > 80]
    items: list[dict[str, Any]] = []

    def pick(pool: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
        return rng.sample(pool, min(round(count * scale), len(pool)))

    def add(kind: str, base: dict[str, Any], text: str, how: str) -> None:
        source = f"{how} applied to {base['id']}"
        items.append(
            {
                "id": f"{prefix}{kind}-{len(items):03d}",
                "text": text,
                "kind": kind,
                "label": "garbled",
                "source": source,
            }
        )

    for base in pick(non_ascii, 24):
        add(
            "mojibake",
            base,
            sloppy_cp1252(base["text"].encode("utf-8")),
            "UTF-8 bytes decoded as Windows-1252",
        )
    for base in pick(non_ascii, 8):
        add(
            "mojibake", base, base["text"].encode("utf-8").decode("latin-1"), "UTF-8 bytes decoded as latin-1"
        )
    for base in pick(non_ascii, 8):
        # Only one sentence broken: a pipeline that joins text from two differently decoded sources.
        sentences = base["text"].split(". ")
        at = rng.choice([k for k, sentence in enumerate(sentences) if not sentence.isascii()])
        sentences[at] = sloppy_cp1252(sentences[at].encode("utf-8"))
        add("mojibake", base, ". ".join(sentences), "one sentence's UTF-8 decoded as Windows-1252")
    for base in pick(plain, 10):
        data = bytearray(base["text"].encode("utf-8"))
        for _ in range(rng.randint(1, 4)):  # bytes lost in transit, then decoded leniently
            at = rng.randrange(len(data))
            data[at : at + 1] = bytes([rng.choice([0xC3, 0xE2, 0x80, 0xFF, 0x9F])])
        how = "corrupted bytes decoded with errors='replace'"
        add("replacement_char", base, data.decode("utf-8", errors="replace"), how)
    for base in pick(plain, 8):
        text = base["text"]
        at = rng.randrange(len(text))
        junk = rng.choice(
            ["\x00" * rng.randint(1, 8), "\x08\x08\x08", "\x1b", "\x07", "\x1a", "\x00\x00\x01\x02"]
        )
        how = "control characters inserted (NUL padding, BEL, BS, ESC, SUB)"
        add("control_chars", base, text[:at] + junk + text[at:], how)
    for base in pick(non_ascii, 6):
        data = bytearray(base["text"].encode("utf-8"))
        at = rng.randrange(len(data))
        data[at : at + 1] = b"\xc3"
        how = "bad bytes decoded with surrogateescape"
        add("surrogates", base, data.decode("utf-8", errors="surrogateescape"), how)
    return items


# ----- fluent text that is not generated -----


def gsm8k_items(count: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in GSM8K.read_text(encoding="utf-8").splitlines()]
    picked = random.Random(8).sample(range(len(rows)), count)
    return [
        {
            "id": f"gsm8k-{i:04d}",
            "text": rows[i]["answer"],
            "kind": "gsm8k_solution",
            "label": "fluent",
            "source": f"GSM8K test split row {i} (openai/grade-school-math, MIT), reference solution",
        }
        for i in sorted(picked)
    ]


def bbh_items(per_task: int) -> list[dict[str, Any]]:
    items = []
    for path in sorted(BBH.glob("*.json")):
        examples = json.loads(path.read_text(encoding="utf-8"))["examples"]
        rng = random.Random(path.stem)
        for i in sorted(rng.sample(range(len(examples)), per_task)):
            items.append(
                {
                    "id": f"bbh-{path.stem}-{i:03d}",
                    "text": examples[i]["target"],
                    "kind": "bbh_target",
                    "label": "fluent",
                    "source": f"BIG-Bench Hard {path.stem} example {i} target (MIT)",
                }
            )
    return items


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def build(cache: Path | None) -> list[dict[str, Any]]:
    labels = {row["id"]: row for row in read_jsonl(HERE / "labels.jsonl")}
    corpus: list[dict[str, Any]] = []
    unlabeled = []
    for item in generated(cache):
        row = labels.get(item["id"])
        if row is None:
            unlabeled.append(item)
        elif row["label"] in ("garbled", "fluent"):  # "unclear" items stay out of the corpus
            kind = row.get("kind") or ("model_garbled" if row["label"] == "garbled" else "model_fluent")
            corpus.append({**item, "label": row["label"], "kind": kind})
    (HERE / "unlabeled.jsonl").unlink(missing_ok=True)
    if unlabeled:
        (HERE / "unlabeled.jsonl").write_text(
            "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in unlabeled), encoding="utf-8"
        )
    if GSM8K.is_file():
        corpus += gsm8k_items(90)
    else:
        corpus += [r for r in read_jsonl(HERE / "corpus.jsonl") if r["kind"] == "gsm8k_solution"]
    corpus += bbh_items(3)
    corpus += read_jsonl(HERE / "written.jsonl") + read_jsonl(HERE / "written_heldout.jsonl")
    fluent = sorted(
        (i for i in corpus if i["label"] == "fluent" and i["kind"] != "bbh_target"), key=lambda i: i["id"]
    )
    corpus += damaged([i for i in fluent if not i["id"].startswith("heldout-")], seed=1234, prefix="")
    corpus += damaged(
        [i for i in fluent if i["id"].startswith("heldout-")], seed=4321, prefix="heldout-", scale=0.4
    )
    for item in corpus:
        item.pop("prompt", None)
        item["split"] = item.get("split") or split_of(item["id"])
    print(f"{len(corpus)} items; {len(unlabeled)} generated texts have no label yet (unlabeled.jsonl)")
    print(Counter((i["split"], i["label"]) for i in corpus))
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, help="keep the model outputs in this file between runs")
    args = parser.parse_args()
    corpus = build(args.cache)
    keys = ("id", "text", "label", "kind", "source", "split")
    (HERE / "corpus.jsonl").write_text(
        "".join(json_line({k: item[k] for k in keys}) for item in corpus), encoding="utf-8"
    )


def json_line(item: dict[str, Any]) -> str:
    """One JSON line, readable UTF-8 where it can be; lone surrogates need ASCII escapes."""
    line = json.dumps(item, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(item)
    # Characters str.splitlines() breaks lines at, escaped so that any line reader sees one item a line.
    for char in "\x85\u2028\u2029":
        line = line.replace(char, f"\\u{ord(char):04x}")
    return line + "\n"


if __name__ == "__main__":
    main()
