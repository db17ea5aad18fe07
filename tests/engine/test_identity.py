"""engine_identity: what the response cache may use to skip loading a model, computed from files."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.engine import engine_identity
from pytest_llmeval.settings import Settings


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    (model / "model.safetensors").write_bytes(b"weights" * 1000)
    (model / "tokenizer_config.json").write_text('{"chat_template": "{{ messages }}"}')
    return model


def identity(folder: Path, tmp_path: Path, **changes: object) -> str | None:
    settings = Settings(model=str(folder), backend="transformers", home=tmp_path / "home")
    return engine_identity(settings.replace(**changes) if changes else settings)


def test_the_same_files_and_settings_give_the_same_identity(folder: Path, tmp_path: Path) -> None:
    first = identity(folder, tmp_path)
    assert first is not None and first == identity(folder, tmp_path)
    assert identity(folder, tmp_path, cache_dir=tmp_path / "elsewhere", strict=True) == first


@pytest.mark.parametrize(
    "change",
    [
        lambda f: (f / "tokenizer_config.json").write_text('{"chat_template": "{{ other }}"}'),
        lambda f: (f / "model.safetensors").write_bytes(b"retrained" * 1000),
        lambda f: (f / "chat_template.jinja").write_text("{{ new }}"),
    ],
    ids=["chat-template", "weights", "new-file"],
)
def test_changed_files_change_the_identity(folder: Path, tmp_path: Path, change: object) -> None:
    before = identity(folder, tmp_path)
    change(folder)  # type: ignore[operator]
    assert identity(folder, tmp_path) != before


def test_settings_that_change_answers_change_the_identity(folder: Path, tmp_path: Path) -> None:
    before = identity(folder, tmp_path)
    assert identity(folder, tmp_path, dtype="bfloat16") != before
    assert identity(folder, tmp_path, max_length=64) != before


def test_the_same_files_under_another_name_have_their_own_identity(folder: Path, tmp_path: Path) -> None:
    # The remembered info names the model, so a symlinked copy must not reuse it.
    link = tmp_path / "judge-model"
    link.symlink_to(folder, target_is_directory=True)
    assert identity(folder, tmp_path) != identity(folder, tmp_path, model=str(link))


def test_hub_models_servers_and_missing_files_have_no_identity(folder: Path, tmp_path: Path) -> None:
    assert identity(folder, tmp_path, model="HuggingFaceTB/SmolLM2-135M-Instruct") is None
    assert identity(folder, tmp_path, backend="openai", base_url="http://127.0.0.1:1/v1") is None
    assert identity(folder, tmp_path, model=str(tmp_path / "gone")) is None
