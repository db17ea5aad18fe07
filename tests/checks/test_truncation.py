"""not_truncated: the finish reason decides when known; otherwise how the text ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval.checks.truncation import not_truncated, truncation_reason
from pytest_llmeval.engine.types import Completion, GenerationResult
from pytest_llmeval.llm import Output

DATA = Path(__file__).parent.parent / "data" / "safety"


def output_with(text: str, finish_reason: Any) -> Output:
    return Output(GenerationResult((Completion(text, finish_reason, 10),), prompt_tokens=5))


def test_not_truncated_reads_the_finish_reason_of_an_output() -> None:
    cut = not_truncated(output_with("A complete sentence.", "length"))
    assert not cut.passed and cut.reason == "generation stopped at the token limit (finish_reason='length')"
    assert cut.evidence == ("A complete sentence.",)
    done = not_truncated(output_with("ends without a period but the model stopped", "stop"))
    assert done.passed and done.reason == "generation ended by itself (finish_reason='stop')"


def test_not_truncated_takes_the_argument_for_plain_text() -> None:
    assert not not_truncated("Fine.", finish_reason="length").passed
    assert not_truncated("Fine", finish_reason="stop").passed
    with pytest.raises(ValueError, match="finish_reason must be a string"):
        not_truncated("Fine.", finish_reason=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Here is the code:\n```python\ndef f():\n    return 1\n", "a ``` code block is never closed"),
        ('{"name": "Ana", "tags": ["a", "b"', "a bracket opened at char 0 is never closed"),
        ("The three main causes were the debt, the famine and", "it ends mid-sentence on 'and'"),
        ("Steps:\n1. Open the box.\n2. Remove the cover and", "it ends mid-sentence on 'and'"),
        ("Steps:\n1. Open the box.\n2.", "it ends on an empty list item"),
        ("Options:\n1. **Using a Virtual", "a **bold** span is never closed"),
        ("It is about the family and the whole community. It is a never-", "it ends on a hyphen, mid-word"),
        ("Dear team, the release is delayed because the tests, the docs,", "it ends on a comma"),
        (
            "Plants turn light, water and carbon dioxide into sugar, releasing oxygen as",
            "it ends mid-sentence on 'as'",
        ),
        (
            "He eats 4 carrots on weekdays and 5 on weekends, so he eats 4 + 5 =",
            "it ends on '=', before what must follow it",
        ),
        ("The two ties cost a total of $", "it ends on '$', before what must follow it"),
        (
            "To get the width of each window, we divide the total by 3:",
            "it ends on ':', before what must follow it",
        ),
        ("| Planet | Moon |\n| --- | --- |\n| Mars | Phobos |\n| Jupiter | Europa", "a table row is cut off"),
        (
            "Waves roll in the night\nThe keeper lights the lamp\nA beacon shining over the",
            "a line of verse ends mid-phrase on 'the'",
        ),
        (
            "Exercise improves your mood, strengthens the heart and lungs, and helps you sleep better"
            " at night because it tires the body in a healthy way",
            "it ends mid-sentence, without final punctuation",
        ),
    ],
)
def test_not_truncated_sees_text_that_stops_midway(text: str, why: str) -> None:
    result = not_truncated(text)
    assert not result.passed and result.reason == f"the output looks cut off: {why}"
    assert result.evidence == (text[-80:],)


@pytest.mark.parametrize(
    "text",
    [
        "Paris.",
        "The answer is 42",  # short: no evidence it was cut
        "Fruits:\n- apple\n- pear",
        "Autumn moonlight falls\nA worm digs silently into\nThe chestnut on the ground\nAnd the night goes on",  # noqa: E501
        "Best regards,\nJohn Smith",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "Done :(",
        "The interval [0, 1) is half-open.",
        "So f(x) = x**2 + 8 for every x (see [1]).",
        "Code:\n```\nx = 1\n```",
        "Hope this helps! 😊",
        "That is the end of part one.\n\n* * *",
        "Let it snow\nLet the fire glow\nLet the sunshine in",
        "",
    ],
)
def test_not_truncated_accepts_complete_text(text: str) -> None:
    result = not_truncated(text)
    assert result.passed and result.reason == "the output ends cleanly" and result.evidence == ()
    assert truncation_reason(text) is None


def test_truncation_on_real_smollm2_outputs() -> None:
    # 120 SmolLM2 answers whose finish reason is known (tests/data/safety/README.md).
    rows = [json.loads(line) for line in (DATA / "smollm2_finish.jsonl").read_text("utf-8").splitlines()]
    cut = [r["text"] for r in rows if r["finish_reason"] == "length"]
    complete = [r["text"] for r in rows if r["finish_reason"] == "stop"]
    assert [t for t in complete if truncation_reason(t)] == []
    assert sum(truncation_reason(t) is not None for t in cut) >= 0.75 * len(cut)


@pytest.mark.parametrize(("split", "caught", "flagged"), [("dev", 53, 2), ("test", 36, 0)])
def test_truncation_on_a_second_set_of_real_outputs(split: str, caught: int, flagged: int) -> None:
    # 160 SmolLM2 answers made after the rules were tuned on the first set (tests/data/safety/README.md):
    # 119 cut at max_tokens, 41 ended by the model. The rules were then fixed on the dev half; the
    # test half was scored once after that. Each half's figures hold: losing any of them fails here.
    lines = (DATA / "smollm2_finish2.jsonl").read_text("utf-8").splitlines()
    rows = [r for r in map(json.loads, lines) if r["split"] == split]
    cut = [r["text"] for r in rows if r["finish_reason"] == "length"]
    complete = [r["text"] for r in rows if r["finish_reason"] == "stop"]
    assert (len(cut), len(complete)) == ({"dev": (68, 16), "test": (51, 25)}[split])
    assert sum(truncation_reason(t) is not None for t in cut) >= caught
    assert sum(truncation_reason(t) is not None for t in complete) <= flagged
