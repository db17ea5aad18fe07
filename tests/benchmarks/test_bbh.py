from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.benchmarks.bbh import load_bbh

from ..helpers import DATA


def test_lettered_options_become_the_choices() -> None:
    questions = load_bbh(DATA / "bbh" / "date_understanding.json", limit=3)
    first = questions[0]
    assert first.id == "date_understanding/1"
    assert first.prompt.startswith("Q: Today is Christmas Eve of 1937.") and first.prompt.endswith("\nA:")
    assert first.choices == ("(A)", "(B)", "(C)", "(D)", "(E)", "(F)")
    assert first.choices[first.answer] == "(B)"


@pytest.mark.parametrize(
    ("task", "labels"),
    [
        ("web_of_lies", ("Yes", "No")),
        ("sports_understanding", ("yes", "no")),
        ("boolean_expressions", ("True", "False")),
    ],
)
def test_label_tasks_use_their_label_set(task: str, labels: tuple[str, ...]) -> None:
    questions = load_bbh(DATA / "bbh" / f"{task}.json")
    assert len(questions) == 250
    assert {q.choices for q in questions} == {labels}


def test_bad_files_name_the_file_and_example(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match=r"broken\.json: not a BBH task file"):
        load_bbh(broken)
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"examples": [{"input": "Options:\n(A) x\n(B) y", "target": "(C)"}]}))
    with pytest.raises(ValueError, match=r"odd.json: example 1 has target '\(C\)' outside"):
        load_bbh(odd)
