"""A run-by-run history of suite metrics: one compact JSON line per run, appended to one file.

A line per run keeps appends cheap and merges in git painless, and lets a broken line be named
by its number. Reading is strict: a history that silently dropped a bad line would draw a trend
through runs that are not there.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..documents import validated
from .model import RunReport, _Model

HISTORY_VERSION = 1


class HistoryError(ValueError):
    """A history file that cannot be used; the message names the file and the line."""


class HistorySuite(_Model):
    fingerprint: dict[str, Any]
    cases: int
    pass_rate: float
    metrics: dict[str, float]  # finite values only
    verdict: str = "OK"


class HistoryRecord(_Model):
    schema_version: int = HISTORY_VERSION
    time: str  # the report's created time
    git_commit: str | None = None
    suites: dict[str, HistorySuite]


def history_record(report: RunReport) -> HistoryRecord:
    return HistoryRecord(
        time=report.created,
        git_commit=report.git_commit,
        suites={
            suite.name: HistorySuite(
                fingerprint=suite.fingerprint,
                cases=suite.total,
                pass_rate=suite.pass_rate,
                # NaN (a metric with no data this run) has no place on a trend line.
                metrics={m.name: m.value for m in suite.metrics if math.isfinite(m.value)},
                verdict=suite.verdict,
            )
            for suite in report.suites
        },
    )


def append_history(path: str | os.PathLike[str], report: RunReport) -> HistoryRecord:
    """Append the report's record as one line; returns the record written."""
    record = history_record(report)
    line = record.model_dump_json() + "\n"
    where = Path(path)
    where.parent.mkdir(parents=True, exist_ok=True)
    # A line cut short by an interrupted write must stay its own (malformed, reported) line,
    # not be glued to the front of this one.
    prefix = "\n" if _ends_mid_line(where) else ""
    with where.open("a", encoding="utf-8") as file:
        file.write(prefix + line)  # one write: O_APPEND keeps concurrent runs' lines whole
    return record


def read_history(path: str | os.PathLike[str]) -> list[HistoryRecord]:
    """Every record in the file, oldest first; an empty list when there is no file yet.
    HistoryError, naming the file and line, for any line that is not a record."""
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"history {where} cannot be read: {exc}") from None
    return [_parse_line(where, number, line) for number, line in enumerate(text.split("\n"), start=1) if line]


def _parse_line(path: Path, number: int, line: str) -> HistoryRecord:
    place = f"history {path}, line {number}"
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"{place} is not valid JSON ({exc.msg} at column {exc.colno})") from None
    return validated(data, HistoryRecord, place=place, newest=HISTORY_VERSION, error=HistoryError)


def _ends_mid_line(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            file.seek(0, os.SEEK_END)
            if file.tell() == 0:
                return False
            file.seek(-1, os.SEEK_END)
            return file.read(1) != b"\n"
    except FileNotFoundError:
        return False
