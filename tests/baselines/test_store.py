"""Baseline files: stable text, atomic writes, and clear errors for files that cannot be trusted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.baselines import (
    Baseline,
    BaselineError,
    CaseEntry,
    Fingerprint,
    baseline_path,
    colliding_suites,
    dump_baseline,
    read_baseline,
    write_baseline,
)


def sample() -> Baseline:
    return Baseline(
        suite="qa",
        fingerprint=Fingerprint(model="m", generation={"max_tokens": 8}),
        pass_rate=0.5,
        cases={"b": CaseEntry(passed=False), "a": CaseEntry(passed=True, scores={"acc": 1.0})},
    )


def test_the_text_is_stable_sorted_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "qa.json"
    write_baseline(path, sample())
    text = path.read_text()
    assert text.endswith("}\n") and text == dump_baseline(sample())
    assert list(json.loads(text)["cases"]) == ["a", "b"]  # sorted keys, whatever the order given
    assert read_baseline(path) == sample()


def test_a_missing_file_is_no_baseline(tmp_path: Path) -> None:
    assert read_baseline(tmp_path / "none.json") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON (line 1: "),
        ("[1, 2]", "is malformed at (top level): "),
        (
            '{"schema_version": 1, "suite": "qa", "pass_rate": 1, "fingerprint": {}, "cases": {"a": {}}}',
            "is malformed at cases.a.passed: Field required",
        ),
        ('{"schema_version": 2}', "has schema version 2, newer than this pytest-llmeval's 1"),
        (  # json reads NaN, but no paired test can use it: once a raw ValueError at every run
            '{"schema_version": 1, "suite": "qa", "pass_rate": 1, "fingerprint": {}, '
            '"cases": {"a": {"passed": true, "scores": {"s": NaN}}}}',
            "is malformed at cases.a.scores.s: ",
        ),
    ],
)
def test_unusable_files_name_themselves_and_why(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "qa.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=r"baseline .*qa\.json") as error:
        read_baseline(path)
    assert message in str(error.value)
    assert path.read_text() == text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "qa.json"
    write_baseline(path, sample())
    before = path.read_bytes()

    def broken(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_baseline(path, sample().model_copy(update={"pass_rate": 0.1}))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["qa.json"]


def test_suite_names_map_to_file_names_one_to_one(tmp_path: Path) -> None:
    assert baseline_path(tmp_path, "support_answers-v2.1") == tmp_path / "support_answers-v2.1.json"
    escaped = baseline_path(tmp_path, "support/answers v2").name
    assert escaped.startswith("support_answers_v2~") and escaped.endswith(".json")
    # Names that used to share a file no longer do, and nothing escapes the folder.
    names = ["问答", "翻译", "qa/v1", "qa_v1", "qa v1", "..", ".hidden", "a" * 300, "qa_v1~0", "x/../../y"]
    paths = [baseline_path(tmp_path, name) for name in names]
    assert len(set(paths)) == len(names)
    assert all(p.parent == tmp_path and not p.name.startswith(".") and len(p.name) < 120 for p in paths)


def test_random_names_never_share_a_file(tmp_path: Path) -> None:
    import random

    rng = random.Random(0)
    alphabet = "aA_-.~/ 1é问"
    names = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6))) for _ in range(20000)}
    assert len({baseline_path(tmp_path, n) for n in names}) == len(names)


def test_names_equal_up_to_case_are_reported_as_colliding(tmp_path: Path) -> None:
    assert colliding_suites(tmp_path, ["QA", "qa", "other"]) == [("QA", "qa")]
    assert colliding_suites(tmp_path, ["qa/v1", "qa_v1"]) == []


def test_a_written_file_has_the_umask_permissions_not_private_ones(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_baseline(tmp_path / "qa.json", sample())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "qa.json").stat().st_mode) == 0o644
