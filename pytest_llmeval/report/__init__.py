"""Reports of a run: pure functions from the run's records to a JSON model, HTML and Markdown.

Nothing here imports pytest: the session builds a :class:`RunReport` once and writes what the
renderers return; the CLI can render a saved report again.
"""

from __future__ import annotations

from .build import build_report, git_commit
from .history import HistoryError, HistoryRecord, HistorySuite, append_history, history_record, read_history
from .html import render_html
from .markdown import render_markdown
from .model import (
    SCHEMA_VERSION,
    CaseReport,
    CheckReport,
    MetricReport,
    ReportError,
    RunReport,
    SuiteReport,
    load_report,
    parse_report,
)

__all__ = [
    "SCHEMA_VERSION",
    "CaseReport",
    "CheckReport",
    "HistoryError",
    "HistoryRecord",
    "HistorySuite",
    "MetricReport",
    "ReportError",
    "RunReport",
    "SuiteReport",
    "append_history",
    "build_report",
    "git_commit",
    "history_record",
    "load_report",
    "parse_report",
    "read_history",
    "render_html",
    "render_markdown",
]
