"""Where a finished run's report goes: the JSON and HTML files asked for, the run history, the
GitHub step summary and MLflow. The session calls this once, on the xdist controller."""

from __future__ import annotations

import os
from pathlib import Path

from .history import HistoryError, append_history, read_history
from .html import render_html
from .markdown import render_markdown
from .model import RunReport


def publish(
    report: RunReport,
    *,
    json_path: Path | None,
    html_path: Path | None,
    history_path: Path,
    step_summary: str | None = None,
    mlflow: bool = False,
) -> list[str]:
    """Write every output the settings ask for; returns one line per output for the terminal.

    A history file that cannot be read is reported, never rewritten, and the HTML report is
    then drawn without it: one bad line must not cost the user this run's report.
    """
    lines = []
    if json_path is not None:
        _write(json_path, report.to_json())
        lines.append(f"llmeval: JSON report written to {json_path}")
    append_history(history_path, report)
    try:
        history = read_history(history_path)
    except HistoryError as exc:
        history = []
        lines.append(f"llmeval: history not plotted: {exc}")
    if html_path is not None:
        _write(html_path, render_html(report, history))
        lines.append(f"llmeval: HTML report written to {html_path.resolve()}")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as file:
            file.write(render_markdown(report) + "\n")
        lines.append("llmeval: summary added to GITHUB_STEP_SUMMARY")
    if mlflow:
        lines.append(log_to_mlflow(report))
    return lines


def log_to_mlflow(report: RunReport) -> str:
    """Each suite's pass rate and metrics as MLflow metrics of one run (``llmeval.<suite>.<name>``)."""
    try:
        import mlflow  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return "llmeval: --llmeval-mlflow: mlflow is not installed (pip install mlflow); nothing logged"
    metrics: dict[str, float] = {}
    for suite in report.suites:
        metrics[f"llmeval.{suite.name}.pass_rate"] = suite.pass_rate
        for metric in suite.metrics:
            metrics[f"llmeval.{suite.name}.{metric.name}"] = metric.value
    try:
        with mlflow.start_run(run_name="pytest-llmeval", nested=mlflow.active_run() is not None):
            mlflow.log_metrics(metrics)
            if report.git_commit:
                mlflow.set_tag("git_commit", report.git_commit)
    except Exception as exc:  # a tracking server or store that refuses: say so, the run's verdict stands
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"llmeval: --llmeval-mlflow: MLflow refused the metrics ({reason[:300]}); nothing logged"
    return f"llmeval: {len(metrics)} metrics logged to MLflow"


def _write(path: Path, text: str) -> None:
    """Through a temporary file and a rename, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
