"""pytest-llmeval: LLM evaluations as pytest tests.

Importing this package is cheap: torch and the engines load only when a model is first used.
"""

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
from .llm import LLM, Choice, Output
from .settings import Settings

__all__ = [
    "LLM",
    "Choice",
    "Engine",
    "EngineError",
    "EngineInfo",
    "GenerationRequest",
    "GenerationResult",
    "GenerationSpec",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "ModelLoadError",
    "Output",
    "RollingResult",
    "Settings",
]
