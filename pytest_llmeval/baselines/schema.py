"""The baseline file: what one suite scored, case by case, on the model it was recorded with.

One JSON file per suite under ``baselines/``, meant to be committed: keys are sorted and the
layout is fixed, so a pull request's diff shows which cases changed. Nothing in it depends on
the time of the run, so re-recording an unchanged suite leaves the file byte-for-byte the same.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class _Strict(BaseModel):
    # NaN and infinity are refused: json reads them, but no mean or paired test can use them.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Fingerprint(_Strict):
    """What produced the scores. A change is shown next to the comparison: a new model or
    adapter is the point of a fine-tuning check; a new dataset, prompt or decoding is a warning."""

    model: str | None = None
    weights_hash: str | None = None
    lora: str | None = None
    backend: str | None = None
    dtype: str | None = None
    generation: dict[str, Any] = Field(default_factory=dict)
    dataset_hash: str = ""  # over every case's id and input hash


class MetricEntry(_Strict):
    value: float
    low: float | None = None
    high: float | None = None


class CaseEntry(_Strict):
    passed: bool
    samples: list[bool] | None = None  # each sample's pass/fail with samples=K
    scores: dict[str, float] = Field(default_factory=dict)
    critical: bool = False
    input_hash: str = ""
    output_hash: str | None = None
    output: str | None = None  # kept only with --llmeval-baseline-outputs


class Baseline(_Strict):
    schema_version: int = SCHEMA_VERSION
    suite: str
    fingerprint: Fingerprint
    pass_rate: float
    metrics: dict[str, MetricEntry] = Field(default_factory=dict)
    cases: dict[str, CaseEntry]
