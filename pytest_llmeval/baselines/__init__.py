"""Baselines: the versioned per-suite files under ``baselines/`` and the regression gate over them."""

from .gate import GateOptions, RunGate, SuiteGate, build_baseline, compare_runs, compare_suite, run_gate
from .schema import SCHEMA_VERSION, Baseline, CaseEntry, Fingerprint, MetricEntry
from .store import BaselineError, baseline_path, dump_baseline, read_baseline, write_baseline

__all__ = [
    "SCHEMA_VERSION",
    "Baseline",
    "BaselineError",
    "CaseEntry",
    "Fingerprint",
    "GateOptions",
    "MetricEntry",
    "RunGate",
    "SuiteGate",
    "baseline_path",
    "build_baseline",
    "compare_runs",
    "compare_suite",
    "dump_baseline",
    "read_baseline",
    "run_gate",
    "write_baseline",
]
