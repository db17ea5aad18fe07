"""pytest-llmeval: LLM evaluations as pytest tests.

Importing this package is cheap: torch and the engines load only when a model is first used.
"""

from .cases import Case, CaseError, load_cases
from .checks.result import CheckResult
from .engine.types import (
    Engine,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
)
from .expect import CheckFailed, Expectation, counterfactual, expect
from .llm import LLM, Choice, CompleteSettingsWarning, Output
from .settings import Settings
from .suite import record_score

__all__ = [
    "LLM",
    "Case",
    "CaseError",
    "CheckFailed",
    "CheckResult",
    "Choice",
    "CompleteSettingsWarning",
    "Engine",
    "EngineError",
    "EngineInfo",
    "Expectation",
    "GenerationRequest",
    "GenerationResult",
    "GenerationSpec",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "ModelLoadError",
    "Output",
    "RollingResult",
    "Settings",
    "counterfactual",
    "expect",
    "load_cases",
    "record_score",
]
