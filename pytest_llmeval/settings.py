"""One frozen, validated settings object, built once from the command line, environment and ini file.

Each option has three spellings: ``--llmeval-max-batch-tokens`` on the command line,
``LLMEVAL_MAX_BATCH_TOKENS`` in the environment and ``llmeval_max_batch_tokens`` in the ini
file, looked up in that order. Values arrive as strings and are checked here, so a bad value is
one clear line for the user instead of a traceback from deep inside an engine.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine.model_files import default_cache_root
from .engine.types import DEFAULT_MAX_ANSWER_CHARS

BACKENDS = ("auto", "transformers", "vllm", "openai")
DTYPES = ("auto", "float32", "bfloat16", "float16")


EngineArgValue = int | float | bool | str

# vLLM engine arguments users commonly set, with the check each value must pass. Others are
# passed through as given and checked by vLLM itself when the engine starts.
_ENGINE_ARG_CHECKS: dict[str, tuple[type, Callable[[Any], bool], str]] = {
    "tensor_parallel_size": (int, lambda v: v >= 1, "a whole number of at least 1"),
    "pipeline_parallel_size": (int, lambda v: v >= 1, "a whole number of at least 1"),
    "data_parallel_size": (int, lambda v: v >= 1, "a whole number of at least 1"),
    "max_model_len": (int, lambda v: v >= 1, "a whole number of at least 1"),
    "gpu_memory_utilization": (float, lambda v: 0 < v <= 1, "a fraction in (0, 1]"),
    "enable_prefix_caching": (bool, lambda v: True, "true or false"),
    "enforce_eager": (bool, lambda v: True, "true or false"),
    "quantization": (str, lambda v: bool(v), "a quantization method name"),
    "distributed_executor_backend": (
        str,
        lambda v: v in ("ray", "mp", "uni", "external_launcher"),
        "one of ray, mp, uni, external_launcher",
    ),
}


class SettingsError(ValueError):
    """A setting has a value that cannot work; the message names the option and the value."""


@dataclass(frozen=True)
class Option:
    """One user-facing setting: its name derives the flag, the ini key and the environment variable."""

    name: str
    help: str
    default: str | None = None
    repeatable: bool = False  # given once per value on the command line, one per line in the ini file
    switch: bool = False  # a flag without a value on the command line; true/false elsewhere
    bare: str | None = None  # the value of the flag given without one (``--flag`` means ``--flag=bare``)

    @property
    def flag(self) -> str:
        # A repeatable flag names one item: --llmeval-engine-arg for the engine_args setting.
        stem = self.name.removesuffix("s") if self.repeatable else self.name
        return "--llmeval-" + stem.replace("_", "-")

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
    Option(
        "threads",
        "torch threads of the transformers backend on the CPU (default: the cores this process may "
        "use, shared out among pytest-xdist workers)",
    ),
    Option("max_length", "override the model's maximum sequence length in tokens (default: from the model)"),
    Option("lora", "peft LoRA adapter folder to apply to the model (transformers and vllm backends)"),
    Option(
        "engine_args",
        "extra vLLM engine argument as KEY=VALUE (repeatable; ini: one per line), e.g. "
        "tensor_parallel_size=2, gpu_memory_utilization=0.8, max_model_len=4096, enable_prefix_caching=true, "
        "quantization=awq, distributed_executor_backend=ray",
        repeatable=True,
    ),
    Option(
        "base_url", "URL of an OpenAI-compatible server for the openai backend, e.g. http://127.0.0.1:8000/v1"
    ),
    Option(
        "api_key_env",
        "environment variable holding the server's API key (default: OPENAI_API_KEY)",
        "OPENAI_API_KEY",
    ),
    Option("concurrency", "requests in flight at once on the openai backend (default: 8)", "8"),
    Option(
        "timeout", "seconds one request to the server may take before it is retried (default: 120)", "120"
    ),
    Option(
        "retries", "retries of a request after 429, 5xx, a timeout or a dropped connection (default: 4)", "4"
    ),
    Option(
        "max_answer_chars",
        "characters one answer may have: a longer one is cut, with a warning in its case, before it is "
        f"cached or checked (0: no cap; default: {DEFAULT_MAX_ANSWER_CHARS})",
        str(DEFAULT_MAX_ANSWER_CHARS),
    ),
    Option("judge_model", "model for the judge fixture: a folder, a .gguf file, a hub id or a served name"),
    Option("judge_backend", f"judge's backend, one of {', '.join(BACKENDS)} (default: the run's backend)"),
    Option("judge_base_url", "server URL for an openai-backend judge (default: --llmeval-base-url)"),
    Option(
        "gpus_per_worker",
        "under pytest-xdist, give each worker its own N GPUs by setting CUDA_VISIBLE_DEVICES from its id",
    ),
    Option("cache_dir", "folder of the response cache (default: .llmeval/cache under the rootdir)"),
    Option("no_cache", "neither read nor write the response cache", switch=True),
    Option("strict", "a case whose checks fail fails its test, instead of showing as x", switch=True),
    Option("baselines", "folder of the suites' baseline files (default: baselines under the rootdir)"),
    Option(
        "update_baselines",
        "record the suites that ran as their baselines (and pass the gate); =new records only suites "
        "that have none. Without it, a missing baseline is recorded, except when CI is set",
        bare="all",
    ),
    Option(
        "margin",
        "points (of 100) a metric must drop by, besides being significant, to count as a regression "
        "(default: 2)",
        "2",
    ),
    Option(
        "alpha",
        "significance level of the regression gate, Holm-corrected across metrics (default: 0.05)",
        "0.05",
    ),
    Option(
        "baseline_outputs", "store each case's output text in its baseline, not only its hash", switch=True
    ),
    Option(
        "compare_model",
        "reference model to run every suite on as well, compared case by case with the model under test "
        "instead of the stored baselines (e.g. the base model of a fine-tune)",
    ),
    Option("compare_lora", "LoRA adapter for the reference model (--llmeval-compare-model; default: none)"),
    Option("report_json", "write the whole run (every case, check, metric and verdict) as JSON to this path"),
    Option("report_html", "write a self-contained HTML report of the run to this path"),
    Option("history", "file each run appends its suite metrics to (default: .llmeval/history.jsonl)"),
    Option("mlflow", "log each suite's metrics to MLflow (needs mlflow installed)", switch=True),
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
    threads: int | None = None
    lora: str | None = None
    engine_args: tuple[tuple[str, EngineArgValue], ...] = ()
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    timeout: float = 120.0
    retries: int = 4
    max_answer_chars: int = DEFAULT_MAX_ANSWER_CHARS
    judge_model: str | None = None
    judge_backend: str | None = None
    judge_base_url: str | None = None
    gpus_per_worker: int | None = None
    cache_dir: Path | None = None
    no_cache: bool = False
    strict: bool = False
    baselines: Path | None = None
    update_baselines: str | None = None  # "all" or "new"
    margin: float = 2.0  # in points
    alpha: float = 0.05
    baseline_outputs: bool = False
    compare_model: str | None = None
    compare_lora: str | None = None
    report_json: Path | None = None
    report_html: Path | None = None
    history: Path | None = None
    mlflow: bool = False
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
            if isinstance(value, Mapping):  # engine_args given as a dict
                value = "\n".join(f"{k}={v}" for k, v in value.items())
            checked[name] = (
                _PARSERS.get(name, _text)(by_name[name], str(value)) if value is not None else None
            )
        return dataclasses.replace(self, **checked)

    def for_reference(self) -> Settings | None:
        """The reference model's settings (--llmeval-compare-model): the run's own otherwise."""
        if self.compare_model is None:
            return None
        return dataclasses.replace(self, model=self.compare_model, lora=self.compare_lora)

    def for_judge(self) -> Settings | None:
        """The judge's settings: the run's own, with the judge's model, backend and server.

        The adapter under test never applies to the judge, and vLLM engine arguments carry
        over only when the judge runs on the same backend as the model under test.
        """
        if self.judge_model is None:
            return None
        backend = self.judge_backend or self.backend
        return dataclasses.replace(
            self,
            model=self.judge_model,
            backend=backend,
            base_url=self.judge_base_url or self.base_url,
            lora=None,
            engine_args=self.engine_args if backend == self.backend else (),
        )


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


def _engine_args(option: Option, value: str) -> tuple[tuple[str, EngineArgValue], ...]:
    """``KEY=VALUE`` items separated by newlines or commas, values typed as int, float, bool or str."""
    parsed: dict[str, EngineArgValue] = {}
    for item in re.split(r"[\n,]", value):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            raise SettingsError(
                f"{option.flag}: expected KEY=VALUE with a lowercase key, got {item.strip()!r}"
            )
        parsed[key] = _engine_arg_value(option, key, raw)
    return tuple(sorted(parsed.items()))


def _engine_arg_value(option: Option, key: str, raw: str) -> EngineArgValue:
    value: EngineArgValue
    if raw.lower() in ("true", "false"):
        value = raw.lower() == "true"
    else:
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                value = raw
    if key in _ENGINE_ARG_CHECKS:
        kind, check, expected = _ENGINE_ARG_CHECKS[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind or not check(value):
            raise SettingsError(f"{option.flag}: {key} must be {expected}, got {raw!r}")
    return value


def _url(option: Option, value: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise SettingsError(f"{option.flag}: expected an http:// or https:// URL, got {value!r}")
    return value


def _seconds(option: Option, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise SettingsError(f"{option.flag}: expected a number of seconds above 0, got {value!r}")
    return number


def _count(option: Option, value: str) -> int:
    if not value.isdigit():
        raise SettingsError(f"{option.flag}: expected a whole number of at least 0, got {value!r}")
    return int(value)


def _switch(option: Option, value: str) -> bool:
    text = value.strip().lower()
    if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise SettingsError(f"{option.flag}: expected true or false, got {value!r}")
    return text in ("1", "true", "yes", "on")


def _update(option: Option, value: str) -> str | None:
    text = value.strip().lower()
    if text in ("all", "1", "true", "yes", "on"):
        return "all"
    if text == "new":
        return "new"
    if text in ("0", "false", "no", "off"):
        return None
    raise SettingsError(f"{option.flag}: expected no value, =new or =all, got {value!r}")


def _points(option: Option, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < 100:
        raise SettingsError(f"{option.flag}: expected points in [0, 100), e.g. 2 for 2 points, got {value!r}")
    return number


def _fraction(option: Option, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 1:
        raise SettingsError(f"{option.flag}: expected a number between 0 and 1, e.g. 0.05, got {value!r}")
    return number


def _path(option: Option, value: str) -> Path:
    return Path(value).expanduser()


_PARSERS: dict[str, Callable[[Option, str], Any]] = {
    "backend": _choice(BACKENDS),
    "dtype": _choice(DTYPES),
    "device": _device,
    "max_batch_tokens": _positive_int,
    "max_length": _positive_int,
    "threads": _positive_int,
    "lora": _text,
    "engine_args": _engine_args,
    "base_url": _url,
    "concurrency": _positive_int,
    "timeout": _seconds,
    "retries": _count,
    "max_answer_chars": _count,
    "judge_backend": _choice(BACKENDS),
    "judge_base_url": _url,
    "gpus_per_worker": _positive_int,
    "cache_dir": _path,
    "no_cache": _switch,
    "strict": _switch,
    "baselines": _path,
    "update_baselines": _update,
    "margin": _points,
    "alpha": _fraction,
    "baseline_outputs": _switch,
    "report_json": _path,
    "report_html": _path,
    "history": _path,
    "mlflow": _switch,
    "home": _path,
}
