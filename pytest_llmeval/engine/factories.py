"""The built-in engines' factories: ``Settings`` in, a loaded ``Engine`` out.

Each is registered by name under the entry-point group ``pytest_llmeval.engines`` (see
``registry``). Importing this module is cheap: each factory imports its backend, and with it
torch, vLLM or httpx, only when it is called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import Engine, ModelLoadError

if TYPE_CHECKING:
    from ..settings import Settings


def transformers_engine(settings: Settings) -> Engine:
    model = _model(settings)
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
        model,
        dtype=settings.dtype,
        device=settings.device,
        max_batch_tokens=settings.max_batch_tokens,
        max_length=settings.max_length,
        cache_root=settings.home,
        lora=settings.lora,
        threads=settings.threads,
    )


def vllm_engine(settings: Settings) -> Engine:
    model = _model(settings)
    from .vllm import VLLMEngine

    return VLLMEngine(
        model,
        dtype=settings.dtype,
        max_length=settings.max_length,
        cache_root=settings.home,
        engine_args=dict(settings.engine_args),
        lora=settings.lora,
    )


def openai_engine(settings: Settings) -> Engine:
    # No model is fine here: a server that serves exactly one model answers with that one.
    if settings.lora:
        raise ModelLoadError(
            "--llmeval-lora applies an adapter in this process; on a server, serve it "
            "(vllm serve BASE --enable-lora --lora-modules NAME=PATH) and pass --llmeval-model NAME"
        )
    if not settings.base_url:
        raise ModelLoadError("the openai backend needs --llmeval-base-url (the server's /v1 URL)")
    from .openai import OpenAIEngine

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


def _model(settings: Settings) -> str:
    if settings.model is None:
        raise ModelLoadError(
            "no model configured: pass --llmeval-model (a folder, a .gguf file or a hub id), "
            "set LLMEVAL_MODEL, or set llmeval_model in the ini file"
        )
    return settings.model
