"""Baselines: the versioned per-suite files under ``baselines/`` and the regression gate over them."""

from .compare import CaseView, SuiteComparison, compare_cases
from .gate import GateOptions, RunGate, SuiteGate, build_baseline, compare_runs, run_gate
from .schema import SCHEMA_VERSION, Baseline, CaseEntry, Fingerprint, MetricEntry
from .store import (
    BaselineError,
    baseline_path,
    colliding_suites,
    dump_baseline,
    locked,
    read_baseline,
    write_baseline,
)

__all__ = [
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineError",
    "CaseEntry",
    "CaseView",
    "Fingerprint",
    "GateOptions",
    "MetricEntry",
    "RunGate",
    "SuiteComparison",
    "SuiteGate",
    "baseline_path",
    "build_baseline",
    "colliding_suites",
    "compare_cases",
    "compare_runs",
    "dump_baseline",
    "locked",
    "read_baseline",
    "run_gate",
    "write_baseline",
]
