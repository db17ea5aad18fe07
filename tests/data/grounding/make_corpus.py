"""Build the labeled calibration corpus for ``grounded_in``: ``corpus.jsonl`` beside this file.

Each item is ``{"context", "output", "label", "kind", "split", "source"}``: ``label`` is "grounded"
(the output states only what the context gives or what follows from it by arithmetic) or
"unsupported" (it states a number, name, date or quote the context does not back).

From GSM8K (MIT; the rows used are copied to ``gsm8k_used.jsonl``), per problem:
- one grounded answer: the reference solution without its ``<<...>>`` calculator notes, or (every
  other problem) a faithful rewrite of it, the hard negatives: ``number_words`` (16 -> "sixteen"),
  ``arithmetic_words`` ("16 minus 3 is 13"), ``units`` ("$18" -> "18 dollars", "%" -> "percent"),
  ``reordered`` (the lines in another order) and ``implicit_step`` (one two-operand computation
  left unshown: "She makes $18" for "She makes 9 * 2 = $18");
- one unsupported answer: the reference with ``operand`` (an operand replaced by a number not in
  the problem), ``result`` (a computed result changed), ``added_number`` (a new sentence stating
  a number), ``entity`` (a person or place added), ``date`` or ``quote`` added.
Plus ``handwritten.jsonl``: short factual contexts written for this corpus, each with a faithful
and an unsupported summary.

Problems are split by problem into dev and test halves, so no test context was seen in tuning.
The generator knows nothing of the check: it edits text by its own simple rules, seeded.

Run: ``python tests/data/grounding/make_corpus.py [--gsm8k /path/to/gsm8k_test.jsonl]``; with
``--gsm8k`` it first picks the problems from the full file and rewrites ``gsm8k_used.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
USED = HERE / "gsm8k_used.jsonl"
HANDWRITTEN = HERE / "handwritten.jsonl"
CORPUS = HERE / "corpus.jsonl"
SEED = 20241125
PROBLEMS = 180

ANNOTATION = re.compile(r"<<([^<>=]*)=([^<>]*)>>")
DISPLAYED = re.compile(
    r"(?P<expr>\$?\d[\d,]*(?:\.\d+)?%?(?:\s*[-+*/x\u00d7]\s*\$?\d[\d,]*(?:\.\d+)?%?)+)\s*=\s*(?P<dollar>\$?)<<"
)
NUMBER = re.compile(r"(?<![\w.,])\d+(?:,\d{3})*(?:\.\d+)?(?![\w,]|\.\d)")
WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
OP_WORDS = {"+": "plus", "-": "minus", "*": "times", "x": "times", "\u00d7": "times", "/": "divided by"}
EQ_WORDS = ("is", "makes", "gives", "equals")
GROUNDED_HARD = ("number_words", "arithmetic_words", "units", "reordered", "implicit_step")
UNSUPPORTED = ("operand", "result", "added_number", "entity", "date", "quote")
PEOPLE = (
    "Dr. Okafor", "Mr. Lindqvist", "Priya Raman", "Tomas Ortega", "Mrs. Halvorsen", "Coach Brennan",
    "Aunt Rosalind", "Professor Ibarra", "Mr. Castellanos", "Nadia Petrova",
)  # fmt: skip
PLACES = (
    "Riverside Market", "Maple Street", "Lakeview Mall", "Cedar Falls", "Port Alder", "Harbor Point",
    "the Greenway Depot", "Elm Grove School", "Sunnyvale Plaza", "North Bend",
)  # fmt: skip
SOLO_NAMES = ("Marcus", "Ingrid", "Tobias", "Yuki", "Fernando", "Beatrix")
PHRASES = (
    "fresh every morning", "best value in town", "limited offer", "handle with care", "always on time",
    "made by hand", "no refunds", "family recipe", "while supplies last", "premium quality",
)  # fmt: skip
DATES = (
    "on March 14, 2019", "every Tuesday", "in July", "on 5 October 2021", "since January 2, 2020",
    "each Saturday", "on 2022-04-09", "in late November", "on August 3rd",
)  # fmt: skip
ADDED = (
    "That takes about {n} minutes.", "There were {n} of them at the start.", "This happens {n} times a year.",
    "It all fits in {n} boxes.", "The shop is {n} miles away.", "About {n} people saw it.",
)  # fmt: skip


def number_word(n: int) -> str:
    if n < 20:
        return WORDS[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return TENS[tens - 2] + ("-" + WORDS[units] if units else "")
    return "one hundred" if n == 100 else str(n)


def strip(answer: str) -> str:
    return ANNOTATION.sub("", answer)


def numbers_in(text: str) -> set[float]:
    return {float(m.group(0).replace(",", "")) for m in NUMBER.finditer(text)}


def consistent(answer: str) -> bool:
    """Every calculator note is right and matches the number written after it (GSM8K has a few slips)."""
    notes = list(ANNOTATION.finditer(answer))
    if len(notes) < 2:
        return False
    for note in notes:
        expr, result = note.group(1), note.group(2)
        if not re.fullmatch(r"[\d.+\-*/() ]+", expr):
            return False
        try:
            value = eval(expr, {"__builtins__": {}})
            stated = float(result)
        except (SyntaxError, ZeroDivisionError, ValueError):
            return False
        shown = re.match(r"\s*\$?(\d[\d,]*(?:\.\d+)?)", answer[note.end() :])
        if (
            abs(value - stated) > 1e-6
            or shown is None
            or abs(float(shown.group(1).replace(",", "")) - stated) > 1e-6
        ):
            return False
    return True


def fresh_number(rng: random.Random, near: float, taken: set[float]) -> int:
    """A whole number near ``near`` that the problem and its answer never use."""
    for _ in range(100):
        candidate = int(near) + rng.choice([-1, 1]) * rng.randint(1, 9) if near > 10 else rng.randint(3, 19)
        if candidate > 2 and float(candidate) not in taken:
            return candidate
    return int(max(taken)) * 7 + 13


# ---------------------------------------------------------------------------------------------
# Grounded rewrites (return None when the rewrite does not apply to this answer)


def to_number_words(rng: random.Random, answer: str) -> str | None:
    text = strip(answer)
    lines = text.split("\n")
    changed = False
    for i, line in enumerate(lines[:-1]):  # the "#### 18" line stays as GSM8K writes it

        def spell(m: re.Match[str], line: str = line) -> str:
            nonlocal changed
            before, after = line[: m.start()].rstrip()[-1:], line[m.end() :].lstrip()[:1]
            if (
                (before in "+-*/x\u00d7=$" and before)
                or (after in "+-*/x\u00d7=%" and after)
                or rng.random() < 0.3
            ):
                return m.group(0)
            changed = True
            return number_word(int(m.group(0)))

        lines[i] = re.sub(r"(?<![\w.,$])(?:100|\d{1,2})(?![\w.,%/]|\.\d)", spell, line)
    return "\n".join(lines) if changed else None


def to_arithmetic_words(rng: random.Random, answer: str) -> str | None:
    text = strip(answer)

    def say(m: re.Match[str]) -> str:
        expr = re.sub(r"\s*([-+*/x\u00d7])\s*", lambda o: f" {OP_WORDS[o.group(1)]} ", m.group(1))
        return f"{expr} {rng.choice(EQ_WORDS)} "

    simple = r"((?:\$?\d[\d,]*(?:\.\d+)?)(?:\s*[-+*/x\u00d7]\s*\$?\d[\d,]*(?:\.\d+)?)+)\s*=\s*"
    rewritten = re.sub(simple, say, text)
    return rewritten if rewritten != text else None


def to_units(rng: random.Random, answer: str) -> str | None:
    text = strip(answer)
    rewritten = re.sub(r"\$(\d[\d,]*(?:\.\d+)?)(?!\d|\.\d)", r"\1 dollars", text)
    rewritten = re.sub(r"(\d)%", r"\1 percent", rewritten)
    rewritten = re.sub(r"(\d),(\d{3})", r"\1\2", rewritten)
    return rewritten if rewritten != text else None


def to_reordered(rng: random.Random, answer: str) -> str | None:
    lines = strip(answer).split("\n")
    body, final = lines[:-1], lines[-1]
    if len(body) < 2:
        return None
    order = list(range(len(body)))
    while order == sorted(order):
        rng.shuffle(order)
    return "\n".join([body[i] for i in order] + [final])


def to_implicit_step(rng: random.Random, answer: str) -> str | None:
    """Leave one two-operand computation unshown: "makes 9 * 2 = $<<...>>18" -> "makes $18"."""
    candidates = [
        m for m in DISPLAYED.finditer(answer) if len(re.findall(r"\d[\d,]*(?:\.\d+)?", m["expr"])) == 2
    ]
    if not candidates:
        return None
    m = rng.choice(candidates)
    return strip(answer[: m.start()] + m["dollar"] + answer[m.end() - 2 :])


# ---------------------------------------------------------------------------------------------
# Unsupported edits


def with_wrong_operand(rng: random.Random, question: str, answer: str) -> str | None:
    taken = numbers_in(question) | numbers_in(strip(answer))
    options = []
    for m in DISPLAYED.finditer(answer):
        for operand in re.finditer(r"\d[\d,]*(?:\.\d+)?", m["expr"]):
            if float(operand.group(0).replace(",", "")) in numbers_in(question):
                options.append((m.start("expr") + operand.start(), m.start("expr") + operand.end()))
    if not options:
        return None
    start, end = rng.choice(options)
    old = float(answer[start:end].replace(",", ""))
    return strip(answer[:start] + str(fresh_number(rng, old, taken)) + answer[end:])


def with_wrong_result(rng: random.Random, question: str, answer: str) -> str | None:
    notes = list(ANNOTATION.finditer(answer))
    note = rng.choice(notes)
    shown = re.match(r"\d[\d,]*(?:\.\d+)?", answer[note.end() :])
    if shown is None:
        return None
    taken = numbers_in(question) | numbers_in(strip(answer))
    old = float(shown.group(0).replace(",", ""))
    start = note.end()
    return strip(answer[:start] + str(fresh_number(rng, old, taken)) + answer[start + shown.end() :])


def insert_sentence(rng: random.Random, answer: str, sentence: str) -> str:
    lines = strip(answer).split("\n")
    at = rng.randrange(0, len(lines) - 1) if len(lines) > 1 else 0
    lines[at] = lines[at].rstrip() + (" " if lines[at].rstrip().endswith(".") else ". ") + sentence
    return "\n".join(lines)


def append_to_line(rng: random.Random, answer: str, phrase: str) -> str:
    """Add ``phrase`` at the end of one line, before its final period."""
    lines = strip(answer).split("\n")
    at = rng.randrange(0, len(lines) - 1) if len(lines) > 1 else 0
    line = lines[at].rstrip()
    lines[at] = (line[:-1] + " " + phrase + ".") if line.endswith(".") else (line + " " + phrase)
    return "\n".join(lines)


def unused(rng: random.Random, pool: tuple[str, ...], question: str) -> str:
    options = [
        p for p in pool if not any(w.casefold() in question.casefold() for w in re.findall(r"\w{3,}", p))
    ]
    return rng.choice(options or list(pool))


def with_added_number(rng: random.Random, question: str, answer: str) -> str | None:
    taken = numbers_in(question) | numbers_in(strip(answer))
    n = fresh_number(rng, rng.randint(11, 97), taken)
    return insert_sentence(rng, answer, rng.choice(ADDED).format(n=n))


def with_entity(rng: random.Random, question: str, answer: str) -> str | None:
    style = rng.randrange(5)
    if style == 0:
        return insert_sentence(rng, answer, f"{unused(rng, SOLO_NAMES, question)} checked this.")
    if style == 1:
        return append_to_line(rng, answer, f"at {unused(rng, PLACES, question)}")
    if style == 2:
        return append_to_line(rng, answer, f"according to {unused(rng, PEOPLE, question)}")
    if style == 3:
        return insert_sentence(rng, answer, f"{unused(rng, PEOPLE, question)} confirmed the count.")
    return append_to_line(rng, answer, f"with help from {unused(rng, PEOPLE, question)}")


def with_date(rng: random.Random, question: str, answer: str) -> str | None:
    return append_to_line(rng, answer, unused(rng, DATES, question))


def with_quote(rng: random.Random, question: str, answer: str) -> str | None:
    phrase = unused(rng, PHRASES, question)
    if rng.random() < 0.5:
        return append_to_line(rng, answer, f'(the sign says "{phrase}")')
    return insert_sentence(rng, answer, f'The label reads "{phrase}".')


GROUNDED_REWRITES = {
    "number_words": to_number_words,
    "arithmetic_words": to_arithmetic_words,
    "units": to_units,
    "reordered": to_reordered,
    "implicit_step": to_implicit_step,
}
UNSUPPORTED_EDITS = {
    "operand": with_wrong_operand,
    "result": with_wrong_result,
    "added_number": with_added_number,
    "entity": with_entity,
    "date": with_date,
    "quote": with_quote,
}


def select(gsm8k: Path) -> None:
    rows = [json.loads(line) for line in gsm8k.read_text(encoding="utf-8").splitlines() if line.strip()]
    indices = [i for i, row in enumerate(rows) if consistent(row["answer"])]
    random.Random(SEED).shuffle(indices)
    with USED.open("w", encoding="utf-8") as out:
        for i in indices[:PROBLEMS]:
            out.write(json.dumps({"index": i, **rows[i]}, ensure_ascii=False) + "\n")


def build() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    rows = [json.loads(line) for line in USED.read_text(encoding="utf-8").splitlines() if line.strip()]
    items: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        split = "dev" if position % 2 == 0 else "test"
        question, answer, source = row["question"], row["answer"], f"gsm8k:{row['index']}"
        grounded, kind = strip(answer), "reference"
        if position % 4 in (1, 2):  # every other problem of each split gets a hard rewrite
            for offset in range(len(GROUNDED_HARD)):
                name = GROUNDED_HARD[(position // 4 + offset) % len(GROUNDED_HARD)]
                rewritten = GROUNDED_REWRITES[name](rng, answer)
                if rewritten is not None:
                    grounded, kind = rewritten, name
                    break
        items.append(item(question, grounded, "grounded", kind, split, source))
        for offset in range(len(UNSUPPORTED)):
            name = UNSUPPORTED[(position // 2 + offset) % len(UNSUPPORTED)]
            edited = UNSUPPORTED_EDITS[name](rng, question, answer)
            if edited is not None:
                items.append(item(question, edited, "unsupported", name, split, source))
                break
    for position, row in enumerate(
        json.loads(line) for line in HANDWRITTEN.read_text(encoding="utf-8").splitlines()
    ):
        split = "dev" if position % 2 == 0 else "test"
        source = f"handwritten:{position}"
        items.append(item(row["context"], row["grounded"], "grounded", "factual", split, source))
        items.append(item(row["context"], row["unsupported"], "unsupported", row["kind"], split, source))
    return relabel(items)


# Read by a person under the default rule (a number must be stated or derived by shown arithmetic):
# the grounded outputs that state something neither the context nor shown arithmetic gives, most
# often one unshown step. Their label becomes "unsupported", with "one_step" saying whether the
# lenient one_step=True rule accepts them (every unsupported number one step from known ones).
STRICT = HERE / "strict_labels.json"
# Two readings counted a unit constant as unstated that the rule lists (365 days a year, 4 weeks a
# month: see the README); they stay grounded.
STATED_CONSTANTS = {"gsm8k:76|reference", "gsm8k:572|reordered"}


def relabel(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    strict = json.loads(STRICT.read_text(encoding="utf-8"))
    for row in items:
        key = f"{row['source']}|{row['kind']}"
        entry = strict.get(key)
        if row["label"] != "grounded" or entry is None or key in STATED_CONSTANTS:
            continue
        if entry.get("unsure") and entry.get("lean") == "grounded":
            continue
        row["label"] = "unsupported"
        row["one_step"] = entry["one_step"]
        row["note"] = entry["why"]
    return items


def item(context: str, output: str, label: str, kind: str, split: str, source: str) -> dict[str, Any]:
    return {
        "context": context,
        "output": output,
        "label": label,
        "kind": kind,
        "split": split,
        "source": source,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--gsm8k", type=Path, help="the full GSM8K test jsonl, to pick the problems anew")
    args = parser.parse_args()
    if args.gsm8k:
        select(args.gsm8k)
    items = build()
    with CORPUS.open("w", encoding="utf-8") as out:
        for row in items:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(items)} items to {CORPUS}")


if __name__ == "__main__":
    main()
