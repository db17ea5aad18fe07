"""The ``pytest-llmeval`` command: look at saved runs without running pytest.

``history`` prints the run history as a table, ``report`` renders a saved JSON report as HTML
again, and ``compare`` applies the regression gate's rule to two saved reports. Nothing here
imports pytest or torch: the commands read files and print, so they start fast anywhere.

Exit status: 0 when all is well, 1 when ``compare`` finds a change that fails a run (or
``history`` finds no file), 2 for input that cannot be used (a missing or malformed file, a bad
option). Every error is one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .baselines.compare import SuiteComparison, compare_cases
from .baselines.stats import DEFAULT_ALPHA, DEFAULT_MARGIN, gate
from .report.history import HistoryError, HistoryRecord, read_history
from .report.html import render_html
from .report.model import ReportError, RunReport, SuiteReport, load_report
from .settings import SettingsError, parse_fraction, parse_points

PROG = "pytest-llmeval"
DEFAULT_HISTORY = Path(".llmeval") / "history.jsonl"


class CliError(Exception):
    """A problem with the user's input; printed as one line, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed): a status, not an exit
        return exc.code if isinstance(exc.code, int) else 2
    try:
        status: int = args.run(args)
    except (CliError, ReportError, HistoryError) as exc:
        _error(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    # A reader that went away early (``| head``) changes nothing: with ``set -o pipefail`` a
    # regression must still fail the step (it once exited 0 when the pipe closed first).
    return status


# ----- arguments -----


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Look at saved pytest-llmeval runs: history, HTML reports, comparisons."
    )
    parser.set_defaults(run=lambda _args: _usage(parser))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    history = commands.add_parser(
        "history", help="print the run history as a table", description="Print the run history as a table."
    )
    history.add_argument(
        "--file",
        metavar="PATH",
        type=Path,
        default=DEFAULT_HISTORY,
        help=f"history file (default: {DEFAULT_HISTORY})",
    )
    history.add_argument("--suite", metavar="NAME", help="only this suite")
    history.add_argument("--last", metavar="N", type=_positive_int, help="only the last N runs")
    history.set_defaults(run=_history)

    report = commands.add_parser(
        "report",
        help="render a saved JSON report as HTML",
        description="Render a saved JSON report (--llmeval-report-json) as a self-contained HTML file.",
    )
    report.add_argument("report", metavar="REPORT.json", type=Path, help="the saved JSON report")
    report.add_argument("--history", metavar="PATH", type=Path, help="history file to plot trends from")
    report.add_argument(
        "-o", "--output", metavar="OUT.html", type=Path, help="where to write (default: REPORT.html)"
    )
    report.set_defaults(run=_report)

    compare = commands.add_parser(
        "compare",
        help="compare two saved runs by the regression gate's rule",
        description=(
            "Compare two saved JSON reports case by case, by the rule the regression gate applies "
            "to a run and its baseline. Exit 1 when a metric REGRESSED or a critical case flipped."
        ),
    )
    compare.add_argument("baseline", metavar="A.json", type=Path, help="the baseline run")
    compare.add_argument("candidate", metavar="B.json", type=Path, help="the candidate run")
    compare.add_argument(
        "--alpha",
        type=_checked(parse_fraction),  # --llmeval-alpha's rule
        default=DEFAULT_ALPHA,
        help=f"family-wise significance level (default: {DEFAULT_ALPHA:g})",
    )
    compare.add_argument(
        "--margin",
        type=_checked(parse_points),  # --llmeval-margin's rule
        default=100 * DEFAULT_MARGIN,
        metavar="POINTS",
        help=f"smallest drop that counts, in points (default: {100 * DEFAULT_MARGIN:g})",
    )
    compare.set_defaults(run=_compare)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _checked(parse: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type from a settings parser: the option's own rule and message, as in pytest."""

    def check(text: str) -> float:
        try:
            return parse(text)
        except SettingsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


# ----- history -----


def _history(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.exists():
        # Exit 1, not 0: a query that found nothing, as grep does. A script or CI step that
        # reads the table must be able to tell "no history here" (a wrong --file or directory,
        # or no run yet) from an empty table, and an exit status is how; it is not 2 because
        # nothing is broken. An existing file without runs is a valid, empty history: exit 0.
        _error(f"no history at {path}: a pytest run with pytest-llmeval appends one there")
        return 1
    records = read_history(path)
    if args.suite is not None:
        records = [r for r in records if args.suite in r.suites]
    if args.last is not None:
        records = records[-args.last :]
    if not records:
        which = f" of suite {args.suite}" if args.suite is not None else ""
        _say(f"no runs{which} in {path}")
        return 0
    _say(history_table(records, suite=args.suite))
    return 0


def history_table(records: Sequence[HistoryRecord], *, suite: str | None = None) -> str:
    """One row per run and suite, oldest first; a column per metric any shown row has."""
    rows = [(r, name, s) for r in records for name, s in r.suites.items() if suite in (None, name)]
    metrics = sorted({m for _, _, s in rows for m in s.metrics})
    header = ["time", "commit", "suite", "cases", "pass rate", *metrics, "verdict"]
    table = [header]
    for record, name, entry in rows:
        values = [f"{entry.metrics[m]:.3f}" if m in entry.metrics else "-" for m in metrics]
        commit = record.git_commit[:7] if record.git_commit else "-"
        table.append(
            [record.time, commit, name, str(entry.cases), f"{entry.pass_rate:.3f}", *values, entry.verdict]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    numeric = {i for i, title in enumerate(header) if title in ("cases", "pass rate", *metrics)}
    return "\n".join(
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in table
    )


# ----- report -----


def _report(args: argparse.Namespace) -> int:
    report = load_report(args.report)
    history: list[HistoryRecord] = []
    if args.history is not None:
        if not args.history.exists():
            raise CliError(f"history {args.history} does not exist")
        history = read_history(args.history)
    output: Path = args.output if args.output is not None else args.report.with_suffix(".html")
    page = render_html(report, history)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    _say(output)
    return 0


# ----- compare -----


def _compare(args: argparse.Namespace) -> int:
    baseline, candidate = load_report(args.baseline), load_report(args.candidate)
    _say(f"baseline  {_describe(args.baseline, baseline)}")
    _say(f"candidate {_describe(args.candidate, candidate)}")
    before = {s.name: s for s in baseline.suites}
    after = {s.name: s for s in candidate.suites}
    common = [name for name in after if name in before]
    found = [
        compare_suite_reports(before[name], after[name], alpha=args.alpha, margin=args.margin / 100)
        for name in common
    ]
    results = gate([c for suite in found for c in suite.comparisons])  # Holm across the run, as the gate
    for comparison in results:
        _say(comparison.summary_line())
        _say(f"  {comparison.detail_line()}")
    not_compared = [f"{s.suite}: {s.not_compared}" for s in found if s.not_compared is not None]
    for line in not_compared:
        _say(f"NOT COMPARED {line}")
    for warning in (f"{s.suite}: {w}" for s in found for w in s.warnings):
        _say(f"warning: {warning}")
    for side, ours, theirs in (("baseline", before, after), ("candidate", after, before)):
        alone = [n for n in ours if n not in theirs]
        if alone:
            _say(f"only in the {side}, not compared: {', '.join(alone)}")
    if not common:
        # Two runs with no suite in common are not two versions of one eval: most likely a
        # wrong file. Passing would let a gate built on this command pass on nothing.
        raise CliError(f"nothing to compare: no suite is in both {args.baseline} and {args.candidate}")
    failing = [f"{c.suite} {c.metric}" for c in results if c.fails_run]
    failing += [f"{s.suite} (not compared)" for s in found if s.not_compared is not None]
    summary = f"{len(results)} comparison(s) in {len(common)} suite(s)"
    if failing:
        _say(f"FAILED: {len(failing)} of {summary} fail the run: {', '.join(failing)}")
        return 1
    _say(f"OK: {summary}, none fails the run")
    return 0


def compare_suite_reports(
    baseline: SuiteReport, current: SuiteReport, *, alpha: float, margin: float
) -> SuiteComparison:
    """One suite of two saved runs, by the live gate's own comparison (``baselines.compare``)."""
    return compare_cases(
        current.name,
        {c.id: c.view() for c in baseline.cases},
        {c.id: c.view() for c in current.cases},
        alpha=alpha,
        margin=margin,
    )


def _describe(path: Path, report: RunReport) -> str:
    commit = f", commit {report.git_commit[:7]}" if report.git_commit else ""
    return f"{path} (created {report.created}{commit}, {len(report.suites)} suite(s))"


# ----- output -----


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    _error("a command is needed: history, report or compare (see --help)")
    return 2


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _say(text: object = "") -> None:
    """Print a line; once the reader has gone away (a closed pipe), print nothing more, quietly,
    so the command still finishes and returns its real status."""
    try:
        print(text)
    except BrokenPipeError:
        _silence_stdout()


def _silence_stdout() -> None:
    """Point stdout at devnull, so the flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (captured in-process): nothing to do
        pass


if __name__ == "__main__":
    sys.exit(main())
