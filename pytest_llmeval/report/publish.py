"""Where a finished run's report goes: the JSON and HTML files asked for, the run history, the
GitHub step summary and MLflow. The session calls this once, on the xdist controller."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..files import write_atomically
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
    then drawn without it: one bad line must not cost the user this run's report. An output
    that cannot be written (a read-only folder, a folder where the file should be) is one line,
    and the others are still written.
    """
    lines = []
    if json_path is not None:
        lines.append(
            _attempt(lambda: write_atomically(json_path, report.to_json()), "JSON report", json_path)
            or f"llmeval: JSON report written to {json_path}"
        )
    failed = None
    if report.subset:  # 1 case of 10 at 0.000 between full runs would draw a drop that never was
        lines.append("llmeval: history: this run ran a subset of the cases, so it is no point of the trend")
    else:
        failed = _attempt(lambda: append_history(history_path, report), "history", history_path)
    try:
        history = read_history(history_path)
    except (HistoryError, OSError) as exc:
        history = []
        lines.append(f"llmeval: history not plotted: {exc}")
    if failed:
        lines.append(failed)
    if html_path is not None:
        page = render_html(report, history)
        lines.append(
            _attempt(lambda: write_atomically(html_path, page), "HTML report", html_path)
            or f"llmeval: HTML report written to {html_path.resolve()}"
        )
    if step_summary:
        summary = Path(step_summary)
        lines.append(
            _attempt(lambda: _append(summary, render_markdown(report) + "\n"), "step summary", summary)
            or "llmeval: summary added to GITHUB_STEP_SUMMARY"
        )
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


def _attempt(write: Callable[[], object], what: str, path: Path) -> str | None:
    """Run one write; None when it worked, else the one line that says why it did not."""
    try:
        write()
    except OSError as exc:
        return f"llmeval: {what} not written to {path}: {exc.strerror or exc}"
    except ValueError as exc:  # text that cannot be written (a lone surrogate...): said, never raised
        return f"llmeval: {what} not written to {path}: {str(exc).splitlines()[0][:300]}"
    return None


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as file:
        file.write(text)
