from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_llmeval.engine.model_files import (
    looks_like_path,
    merge_lora,
    resolve_lora,
    resolve_model,
    sha256_file,
)
from pytest_llmeval.engine.types import ModelLoadError


def test_hub_ids_and_paths_are_told_apart(tmp_path: Path) -> None:
    assert not looks_like_path("HuggingFaceTB/SmolLM2-135M-Instruct")
    assert looks_like_path("./ckpt")
    assert looks_like_path("/models/x")
    assert looks_like_path("model.gguf")
    assert looks_like_path(str(tmp_path))


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"model path does not exist: .*nowhere\.gguf"):
        resolve_model(str(tmp_path / "nowhere.gguf"), tmp_path)


def test_a_file_that_is_not_a_model(tmp_path: Path) -> None:
    notes = tmp_path / "notes.gguf"
    notes.write_text("just some notes")
    with pytest.raises(ModelLoadError, match=r"is not a model: expected a GGUF file .* b'just'"):
        resolve_model(str(notes), tmp_path)


def test_a_folder_without_config(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"folder without config\.json"):
        resolve_model(str(tmp_path), tmp_path)


@pytest.mark.slow
def test_a_truncated_gguf_is_reported_and_not_cached(smollm2_gguf: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    with smollm2_gguf.open("rb") as source, broken.open("wb") as target:
        target.write(source.read(4 << 20))  # the header and a few tensors of a 98 MB file
    with pytest.raises(ModelLoadError, match="looks truncated or corrupt"):
        resolve_model(str(broken), tmp_path / "cache")
    assert not list((tmp_path / "cache" / "gguf").glob("*/config.json"))


@pytest.mark.slow
def test_gguf_conversion_is_cached_by_content(
    smollm2_gguf: Path, smollm2_folder: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "renamed.gguf"
    shutil.copy(smollm2_gguf, copy)
    # The first conversion lives in the default cache; a copy under another name hits the same entry.
    source = resolve_model(str(copy), smollm2_folder.parent.parent)
    assert Path(source.load_path) == smollm2_folder
    assert source.weights_hash == sha256_file(smollm2_gguf)


def test_hashes_are_memoized_by_path_size_and_mtime(tmp_path: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"a" * 10)
    first = sha256_file(weights, tmp_path / "memo")
    assert sha256_file(weights, tmp_path / "memo") == first
    weights.write_bytes(b"b" * 11)
    assert sha256_file(weights, tmp_path / "memo") != first


def test_lora_folders_are_checked_before_any_engine_starts(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"LoRA adapter folder does not exist: .*nowhere"):
        resolve_lora(str(tmp_path / "nowhere"), tmp_path)
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    with pytest.raises(ModelLoadError, match=r"no adapter_config\.json"):
        resolve_lora(str(adapter), tmp_path)
    (adapter / "adapter_config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match=r"adapter_config\.json is not valid JSON"):
        resolve_lora(str(adapter), tmp_path)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "PROMPT_TUNING"}))
    with pytest.raises(ModelLoadError, match=r"PROMPT_TUNING adapter; only LoRA"):
        resolve_lora(str(adapter), tmp_path)
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    with pytest.raises(ModelLoadError, match=r"no adapter_model\.safetensors"):
        resolve_lora(str(adapter), tmp_path)


def test_lora_identity_follows_the_adapter_weights(tmp_path: Path) -> None:
    adapter = tmp_path / "my-adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}))
    weights = adapter / "adapter_model.safetensors"
    weights.write_bytes(b"first weights")
    first = resolve_lora(str(adapter), tmp_path)
    assert first.identity.startswith("my-adapter@") and first.path == str(adapter.resolve())
    assert resolve_lora(str(adapter), tmp_path) == first
    weights.write_bytes(b"trained more")
    assert resolve_lora(str(adapter), tmp_path).identity != first.identity


def test_merged_lora_weights_are_saved_once_per_base_and_adapter(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    from ..helpers import make_lora_adapter

    base = resolve_model(str(tiny_model_dir), tmp_path)
    first = resolve_lora(str(make_lora_adapter(tiny_model_dir, tmp_path / "a", seed=1)), tmp_path)
    second = resolve_lora(str(make_lora_adapter(tiny_model_dir, tmp_path / "b", seed=2)), tmp_path)
    merged = merge_lora(base, first, tmp_path)
    assert (merged / "config.json").is_file() and (merged / "tokenizer.json").is_file()
    stamp = (merged / "model.safetensors").stat().st_mtime_ns
    assert merge_lora(base, first, tmp_path) == merged
    assert (merged / "model.safetensors").stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert merge_lora(base, second, tmp_path) != merged
    assert not [p for p in (tmp_path / "merged").iterdir() if p.name.startswith(".")]  # no staging left


def test_a_hub_model_is_known_by_the_revision_its_ref_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hub repo that moves to new weights must get a new fingerprint: "hub:owner/name" alone let
    the response cache serve the old revision's answers. Read offline from a local hub cache."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    repo = tmp_path / "hub" / "models--acme--tiny"
    for commit in ("a" * 40, "b" * 40):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text("{}")
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(commit)
        source = resolve_model("acme/tiny", tmp_path / "home")
        assert source.weights_hash == f"hub:acme/tiny@{commit}" and source.load_path == "acme/tiny"
    with pytest.raises(ModelLoadError, match="'acme/missing' is no local file or folder, and the hub cannot"):
        resolve_model("acme/missing", tmp_path / "home")
