"""consistent() on real SmolLM2 answers: the default sample temperature is the one the dev half picks,
and the figures on both halves hold (tests/data/consistent/, bench/bench_consistent.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.checks import consistent
from pytest_llmeval.llm import RESAMPLE_TEMPERATURE

ROWS = [
    json.loads(line)
    for line in (Path(__file__).parent.parent / "data" / "consistent" / "answers.jsonl")
    .read_text("utf-8")
    .splitlines()
]


def measured(split: str, temperature: str) -> tuple[float, int, int]:
    """AUROC of the score (wrong below right), wrong answers flagged, right answers flagged."""
    results = [
        (r["right"], consistent(r["answer"], r["samples"][temperature])) for r in ROWS if r["split"] == split
    ]
    wrong = [result for right, result in results if not right]
    right = [result for is_right, result in results if is_right]
    pairs = [(w.score < r.score) + 0.5 * (w.score == r.score) for w in wrong for r in right]
    return sum(pairs) / len(pairs), sum(not w.passed for w in wrong), sum(not r.passed for r in right)


def test_the_default_temperature_is_the_best_on_the_dev_half() -> None:
    temperatures = list(ROWS[0]["samples"])
    assert len(ROWS) == 80 and temperatures == ["1.0", "0.7", "0.3"]
    best = max(temperatures, key=lambda t: measured("dev", t)[0])
    assert float(best) == RESAMPLE_TEMPERATURE


@pytest.mark.parametrize(
    ("split", "area", "wrong_flagged", "right_flagged"), [("dev", 0.74, 10, 10), ("test", 0.77, 21, 11)]
)
def test_figures_at_the_default_temperature(
    split: str, area: float, wrong_flagged: int, right_flagged: int
) -> None:
    found_area, flagged_wrong, flagged_right = measured(split, str(RESAMPLE_TEMPERATURE))
    assert found_area >= area and flagged_wrong >= wrong_flagged and flagged_right <= right_flagged
    # Hot samples back nothing: at 1.0 the check flags nearly every answer, right or wrong.
    assert measured(split, "1.0")[0] < found_area - 0.15
