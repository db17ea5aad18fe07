"""One frozen, validated settings object, built once from the command line, environment and ini file.

Each option has three spellings: ``--llmeval-max-batch-tokens`` on the command line,
``LLMEVAL_MAX_BATCH_TOKENS`` in the environment and ``llmeval_max_batch_tokens`` in the ini
file, looked up in that order. Values arrive as strings and are checked here, so a bad value is
one clear line for the user instead of a traceback from deep inside an engine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine.model_files import default_cache_root

BACKENDS = ("auto", "transformers")
DTYPES = ("auto", "float32", "bfloat16", "float16")


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the option and the value."""


@dataclass(frozen=True)
class Option:
    """One user-facing setting: its name derives the flag, the ini key and the environment variable."""

    name: str
    help: str
    default: str | None = None

    @property
    def flag(self) -> str:
        return "--llmeval-" + self.name.replace("_", "-")

    @property
    def ini_key(self) -> str:
        return "llmeval_" + self.name

    @property
    def env_var(self) -> str:
        return "LLMEVAL_" + self.name.upper()


OPTIONS = (
    Option("model", "model to evaluate: a model folder, a .gguf file or a hub id"),
    Option("backend", f"engine backend, one of {', '.join(BACKENDS)} (default: auto)", "auto"),
    Option("dtype", f"weights dtype, one of {', '.join(DTYPES)} (default: auto = float32 on CPU)", "auto"),
    Option("device", "torch device: auto, cpu, cuda, cuda:N or mps (default: auto)", "auto"),
    Option(
        "max_batch_tokens",
        "token budget of one engine batch, padding included; lower it if memory runs out (default: 8192)",
        "8192",
    ),
    Option("max_length", "override the model's maximum sequence length in tokens (default: from the model)"),
    Option(
        "home",
        "folder for downloaded test models and GGUF conversions (default: ~/.cache/pytest-llmeval)",
    ),
)


@dataclass(frozen=True)
class Settings:
    model: str | None = None
    backend: str = "auto"
    dtype: str = "auto"
    device: str = "auto"
    max_batch_tokens: int = 8192
    max_length: int | None = None
    home: Path = dataclasses.field(default_factory=default_cache_root)

    @classmethod
    def from_lookup(cls, lookup: Callable[[Option], str | None]) -> Settings:
        """Build settings from ``lookup``, which returns the raw string a user gave for an option."""
        raw = {option.name: _first_set(lookup(option), option.default) for option in OPTIONS}
        return cls.from_strings(raw)

    @classmethod
    def from_strings(cls, raw: Mapping[str, str | None]) -> Settings:
        by_name = {option.name: option for option in OPTIONS}
        values: dict[str, Any] = {}
        for name, value in raw.items():
            if value is None:
                continue
            values[name] = _PARSERS.get(name, _text)(by_name[name], value)
        return cls(**values)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated like the user's own values."""
        by_name = {option.name: option for option in OPTIONS}
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in by_name:
                raise SettingsError(f"unknown llmeval setting {name!r}; known: {', '.join(by_name)}")
            checked[name] = (
                _PARSERS.get(name, _text)(by_name[name], str(value)) if value is not None else None
            )
        return dataclasses.replace(self, **checked)


def _first_set(*values: str | None) -> str | None:
    return next((v for v in values if v not in (None, "")), None)


def _text(option: Option, value: str) -> str:
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[Option, str], str]:
    def parse(option: Option, value: str) -> str:
        if value not in choices:
            raise SettingsError(f"{option.flag}: {value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def _positive_int(option: Option, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SettingsError(f"{option.flag}: expected a whole number of at least 1, got {value!r}")
    return number


def _device(option: Option, value: str) -> str:
    kind = value.split(":", 1)[0]
    if kind not in ("auto", "cpu", "cuda", "mps") or (kind != "cuda" and ":" in value):
        raise SettingsError(f"{option.flag}: expected auto, cpu, cuda, cuda:N or mps, got {value!r}")
    if kind == "cuda" and ":" in value and not value.split(":", 1)[1].isdigit():
        raise SettingsError(f"{option.flag}: expected cuda:N with a GPU number, got {value!r}")
    return value


def _path(option: Option, value: str) -> Path:
    return Path(value).expanduser()


_PARSERS: dict[str, Callable[[Option, str], Any]] = {
    "backend": _choice(BACKENDS),
    "dtype": _choice(DTYPES),
    "device": _device,
    "max_batch_tokens": _positive_int,
    "max_length": _positive_int,
    "home": _path,
}
