"""Engines: one protocol, several backends, each imported only when it is used."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import Engine, EngineError, ModelLoadError

if TYPE_CHECKING:
    from ..settings import Settings


def resolve_backend(settings: Settings) -> str:
    """The backend ``auto`` stands for. Only transformers is built in so far."""
    return "transformers" if settings.backend == "auto" else settings.backend


def create_engine(settings: Settings) -> Engine:
    """Load the model that ``settings`` names. Raises ModelLoadError with a one-line reason."""
    backend = resolve_backend(settings)
    if settings.model is None:
        raise ModelLoadError(
            "no model configured: pass --llmeval-model (a folder, a .gguf file or a hub id), "
            "set LLMEVAL_MODEL, or set llmeval_model in the ini file"
        )
    if backend == "transformers":
        try:
            from .transformers import TransformersEngine
        except ImportError as exc:  # torch or transformers missing from this environment
            raise ModelLoadError(
                f"the transformers backend needs torch and transformers ({exc}); "
                "install them with: pip install torch==2.13.0 pytest-llmeval"
            ) from exc
        return TransformersEngine(
            settings.model,
            dtype=settings.dtype,
            device=settings.device,
            max_batch_tokens=settings.max_batch_tokens,
            max_length=settings.max_length,
            cache_root=settings.home,
        )
    raise ModelLoadError(f"unknown backend {backend!r}")


__all__ = ["Engine", "EngineError", "ModelLoadError", "create_engine", "resolve_backend"]
