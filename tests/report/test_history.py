"""The history file: one compact line per run, read back exactly, and no bad line passed over."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pytest_llmeval.report import (
    HistoryError,
    HistoryRecord,
    MetricReport,
    append_history,
    history_record,
    read_history,
)

from .factory import COMMIT, CREATED, MATH, SUPPORT, Run


def test_a_record_holds_what_a_trend_needs(run: Run) -> None:
    record = history_record(run.report)
    assert (record.time, record.git_commit) == (CREATED, COMMIT)
    assert set(record.suites) == {SUPPORT.name, MATH.name}
    support, math_suite = record.suites[SUPPORT.name], record.suites[MATH.name]
    assert support.pass_rate == run.report.suites[0].pass_rate
    assert (support.cases, support.verdict) == (35, "REGRESSED")
    assert support.fingerprint == run.report.suites[0].fingerprint
    assert math_suite.metrics == {"exact_match": 0.75}


def test_append_then_read(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "history.jsonl"
    first = append_history(path, run.report)
    later = run.report.model_copy(update={"created": "2025-02-01T00:00:00+00:00", "git_commit": None})
    second = append_history(path, later)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)
    assert "\n" not in lines[0] and ": " not in lines[0][:40]  # compact
    assert read_history(path) == [first, second]
    assert second.time == "2025-02-01T00:00:00+00:00" and second.git_commit is None


def test_no_file_is_no_history(tmp_path: Path) -> None:
    assert read_history(tmp_path / "none.jsonl") == []


def test_metrics_without_a_value_are_left_out(run: Run) -> None:
    math_suite = run.report.suites[1]
    nan = MetricReport(name="tokens_per_s", value=math.nan)
    report = run.report.model_copy(
        update={"suites": (math_suite.model_copy(update={"metrics": (*math_suite.metrics, nan)}),)}
    )
    assert history_record(report).suites[MATH.name].metrics == {"exact_match": 0.75}


def write_lines(path: Path, run: Run, *bad: str) -> None:
    good = history_record(run.report).model_dump_json()
    path.write_text("\n".join([good, *bad, good]) + "\n", encoding="utf-8")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ('{"time": "t", "suites": ', "line 2 is not valid JSON"),
        ('{"time": "t"}', "line 2 is malformed at suites: Field required"),
        ('{"time": "t", "suites": {"s": {"cases": 1}}}', "line 2 is malformed at suites.s.fingerprint"),
        ('["not", "an", "object"]', "line 2 is malformed at (top level)"),
        ('{"schema_version": 9, "time": "t", "suites": {}}', "line 2 has schema version 9, newer than"),
    ],
    ids=["json", "missing", "nested", "not-object", "newer"],
)
def test_a_bad_line_is_an_error_naming_file_and_line(
    run: Run, tmp_path: Path, bad: str, message: str
) -> None:
    path = tmp_path / "history.jsonl"
    write_lines(path, run, bad)
    with pytest.raises(HistoryError) as caught:
        read_history(path)
    assert str(caught.value).startswith(f"history {path}, line 2 ")
    assert message in str(caught.value)


def test_empty_lines_hold_nothing_and_are_passed(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    write_lines(path, run, "")
    assert len(read_history(path)) == 2


def test_a_line_cut_short_stays_apart_from_the_next_append(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_history(path, run.report)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"time": "2025-01-03", "sui')  # an interrupted write: no newline
    append_history(path, run.report)
    with pytest.raises(HistoryError, match=r"line 2 is not valid JSON"):
        read_history(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert HistoryRecord.model_validate_json(lines[2]) == history_record(run.report)


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(HistoryError, match=r"history .*history\.jsonl cannot be read"):
        read_history(path)
