# ruff: noqa: RUF009  (setting() returns a dataclasses.field, which ruff does not know)
"""One frozen, validated settings object, built once from the command line, environment and ini file.

Each option has three spellings: ``--llmeval-max-batch-tokens`` on the command line,
``LLMEVAL_MAX_BATCH_TOKENS`` in the environment and ``llmeval_max_batch_tokens`` in the ini
file, looked up in that order. Values arrive as strings and are checked here, so a bad value is
one clear line for the user instead of a traceback from deep inside an engine.

Each option is declared once, as a field of ``Settings``: its type, typed default, help text and
parser (``setting(...)``). ``OPTIONS``, which the plugin registers with pytest, is derived from
those fields. A parser turns the user's string into the typed value or raises ``SettingsError``
with what is wrong; ``Option.parse`` puts the flag in front.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, overload

from .engine.model_files import default_cache_root
from .engine.registry import AUTO, engine_names, is_engine_name
from .engine.types import DEFAULT_MAX_ANSWER_CHARS
from .gate_defaults import DEFAULT_ALPHA, DEFAULT_MARGIN

DTYPES = ("auto", "float32", "bfloat16", "float16")

T = TypeVar("T")

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


# ----- parsers: the user's string in, the typed value out, or a SettingsError saying what is wrong -----


def parse_text(value: str) -> str:
    return value


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in choices:
            raise SettingsError(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return parse


def parse_backend(value: str) -> str:
    """``auto`` or the name of an installed engine (``engine.registry``)."""
    if value != AUTO and not is_engine_name(value):
        raise SettingsError(f"{value!r} is not one of {', '.join((AUTO, *engine_names()))}")
    return value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise SettingsError(f"expected a whole number of at least 1, got {value!r}")
    return number


def _device(value: str) -> str:
    kind = value.split(":", 1)[0]
    if kind not in ("auto", "cpu", "cuda", "mps") or (kind != "cuda" and ":" in value):
        raise SettingsError(f"expected auto, cpu, cuda, cuda:N or mps, got {value!r}")
    if kind == "cuda" and ":" in value and not value.split(":", 1)[1].isdigit():
        raise SettingsError(f"expected cuda:N with a GPU number, got {value!r}")
    return value


def _engine_args(value: str) -> tuple[tuple[str, EngineArgValue], ...]:
    """``KEY=VALUE`` items separated by newlines or commas, values typed as int, float, bool or str."""
    parsed: dict[str, EngineArgValue] = {}
    for item in re.split(r"[\n,]", value):
        if not item.strip():
            continue
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            raise SettingsError(f"expected KEY=VALUE with a lowercase key, got {item.strip()!r}")
        parsed[key] = _engine_arg_value(key, raw)
    return tuple(sorted(parsed.items()))


def _engine_arg_value(key: str, raw: str) -> EngineArgValue:
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
            raise SettingsError(f"{key} must be {expected}, got {raw!r}")
    return value


def _url(value: str) -> str:
    if not re.match(r"https?://[^/\s]+", value):
        raise SettingsError(f"expected an http:// or https:// URL, got {value!r}")
    return value


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise SettingsError(f"expected a number of seconds above 0, got {value!r}")
    return number


def _count(value: str) -> int:
    if not value.isdigit():
        raise SettingsError(f"expected a whole number of at least 0, got {value!r}")
    return int(value)


def _switch(value: str) -> bool:
    text = value.strip().lower()
    if text not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise SettingsError(f"expected true or false, got {value!r}")
    return text in ("1", "true", "yes", "on")


def _update(value: str) -> str | None:
    text = value.strip().lower()
    if text in ("all", "1", "true", "yes", "on"):
        return "all"
    if text == "new":
        return "new"
    if text in ("0", "false", "no", "off"):
        return None
    raise SettingsError(f"expected no value, =new or =all, got {value!r}")


def parse_points(value: str) -> float:
    """The gate's margin, in points of 100 (``--llmeval-margin``, ``pytest-llmeval compare --margin``)."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number < 100:  # NaN fails too
        raise SettingsError(f"expected points in [0, 100), e.g. 2 for 2 points, got {value!r}")
    return number


def parse_fraction(value: str) -> float:
    """The gate's significance level (``--llmeval-alpha``, ``pytest-llmeval compare --alpha``)."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not 0 < number < 1:  # NaN fails too
        raise SettingsError(f"expected a number between 0 and 1, e.g. 0.05, got {value!r}")
    return number


def _path(value: str) -> Path:
    return Path(value).expanduser()


# ----- the declaration of one option -----


@dataclass(frozen=True)
class Option:
    """One user-facing setting: its name derives the flag, the ini key and the environment variable."""

    name: str
    help: str
    parser: Callable[[str], Any] = parse_text
    repeatable: bool = False  # given once per value on the command line, one per line in the ini file
    switch: bool = False  # a flag without a value on the command line; true/false elsewhere
    bare: str | None = None  # the value of the flag given without one (``--flag`` means ``--flag=bare``)

    @property
    def is_path(self) -> bool:
        """A file or folder: relative in the ini file, it is relative to the ini file's folder."""
        return self.parser is _path

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

    def parse(self, value: str) -> Any:
        """The typed value of the user's ``value``; a bad one is a SettingsError naming the flag."""
        try:
            return self.parser(value)
        except SettingsError as exc:
            raise SettingsError(f"{self.flag}: {exc}") from None


_OPTION = "llmeval_option"  # the metadata key of a Settings field's Option


@overload
def setting(
    *,
    help: str,
    parse: Callable[[str], T] = ...,
    default: T,
    repeatable: bool = ...,
    switch: bool = ...,
    bare: str | None = ...,
) -> T: ...


@overload
def setting(*, help: str, parse: Callable[[str], T] = ..., default_factory: Callable[[], T]) -> T: ...


@overload
def setting(*, help: str, parse: Callable[[str], T] = ...) -> T | None: ...


def setting(
    *,
    help: str,
    parse: Callable[[str], Any] = parse_text,
    default: Any = None,
    default_factory: Callable[[], Any] | None = None,
    repeatable: bool = False,
    switch: bool = False,
    bare: str | None = None,
) -> Any:
    """A Settings field that is also a user-facing option (default: None).

    ``{default}`` in ``help`` shows the default, so the text cannot drift from the value.
    """
    if default_factory is None:
        help = help.replace("{default}", _shown(default))
    option = {"help": help, "parser": parse, "repeatable": repeatable, "switch": switch, "bare": bare}
    if default_factory is not None:
        return dataclasses.field(default_factory=default_factory, metadata={_OPTION: option})
    return dataclasses.field(default=default, metadata={_OPTION: option})


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ----- the settings -----

_ANY_BACKEND = "auto, transformers, vllm, openai or an installed engine's name"


@dataclass(frozen=True)
class Settings:
    model: str | None = setting(help="model to evaluate: a model folder, a .gguf file or a hub id")
    backend: str = setting(
        help=f"engine backend: {_ANY_BACKEND} (default: {{default}})", parse=parse_backend, default="auto"
    )
    dtype: str = setting(
        help=f"weights dtype, one of {', '.join(DTYPES)} (default: {{default}} = float32 on CPU)",
        parse=_choice(DTYPES),
        default="auto",
    )
    device: str = setting(
        help="torch device: auto, cpu, cuda, cuda:N or mps (default: {default})",
        parse=_device,
        default="auto",
    )
    max_batch_tokens: int = setting(
        help="token budget of one engine batch, padding included; lower it if memory runs out "
        "(default: {default})",
        parse=_positive_int,
        default=8192,
    )
    max_length: int | None = setting(
        help="override the model's maximum sequence length in tokens (default: from the model)",
        parse=_positive_int,
    )
    threads: int | None = setting(
        help="torch threads of the transformers backend on the CPU (default: the cores this process may "
        "use, shared out among pytest-xdist workers)",
        parse=_positive_int,
    )
    lora: str | None = setting(
        help="peft LoRA adapter folder to apply to the model (transformers and vllm backends)"
    )
    engine_args: tuple[tuple[str, EngineArgValue], ...] = setting(
        help="extra vLLM engine argument as KEY=VALUE (repeatable; ini: one per line), e.g. "
        "tensor_parallel_size=2, gpu_memory_utilization=0.8, max_model_len=4096, enable_prefix_caching=true, "
        "quantization=awq, distributed_executor_backend=ray",
        parse=_engine_args,
        default=(),
        repeatable=True,
    )
    base_url: str | None = setting(
        help="URL of an OpenAI-compatible server for the openai backend, e.g. http://127.0.0.1:8000/v1",
        parse=_url,
    )
    api_key_env: str = setting(
        help="environment variable holding the server's API key (default: {default})",
        default="OPENAI_API_KEY",
    )
    concurrency: int = setting(
        help="requests in flight at once on the openai backend (default: {default})",
        parse=_positive_int,
        default=8,
    )
    timeout: float = setting(
        help="seconds one request to the server may take before it is retried (default: {default})",
        parse=_seconds,
        default=120.0,
    )
    retries: int = setting(
        help="retries of a request after 429, 5xx, a timeout or a dropped connection (default: {default})",
        parse=_count,
        default=4,
    )
    max_answer_chars: int = setting(
        help="characters one answer may have: a longer one is cut, with a warning in its case, before it "
        "is cached or checked (0: no cap; default: {default})",
        parse=_count,
        default=DEFAULT_MAX_ANSWER_CHARS,
    )
    judge_model: str | None = setting(
        help="model for the judge fixture: a folder, a .gguf file, a hub id or a served name"
    )
    judge_backend: str | None = setting(
        help=f"judge's backend: {_ANY_BACKEND} (default: the run's backend)", parse=parse_backend
    )
    judge_base_url: str | None = setting(
        help="server URL for an openai-backend judge (default: --llmeval-base-url)", parse=_url
    )
    gpus_per_worker: int | None = setting(
        help="under pytest-xdist, give each worker its own N GPUs by setting CUDA_VISIBLE_DEVICES from "
        "its id",
        parse=_positive_int,
    )
    cache_dir: Path | None = setting(
        help="folder of the response cache (default: .llmeval/cache under the rootdir)", parse=_path
    )
    no_cache: bool = setting(
        help="neither read nor write the response cache", parse=_switch, default=False, switch=True
    )
    strict: bool = setting(
        help="a case whose checks fail fails its test, instead of showing as x",
        parse=_switch,
        default=False,
        switch=True,
    )
    baselines: Path | None = setting(
        help="folder of the suites' baseline files (default: baselines under the rootdir)", parse=_path
    )
    update_baselines: str | None = setting(  # "all" or "new"
        help="record the suites that ran as their baselines (and pass the gate); =new records only suites "
        "that have none. Without it, a missing baseline is recorded, except when CI is set",
        parse=_update,
        default=None,
        bare="all",
    )
    margin: float = setting(  # in points
        help="points (of 100) a metric must drop by, besides being significant, to count as a regression "
        "(default: {default})",
        parse=parse_points,
        default=100 * DEFAULT_MARGIN,
    )
    alpha: float = setting(
        help="significance level of the regression gate, Holm-corrected across metrics (default: {default})",
        parse=parse_fraction,
        default=DEFAULT_ALPHA,
    )
    baseline_outputs: bool = setting(
        help="store each case's output text in its baseline, not only its hash",
        parse=_switch,
        default=False,
        switch=True,
    )
    compare_model: str | None = setting(
        help="reference model to run every suite on as well, compared case by case with the model under "
        "test instead of the stored baselines (e.g. the base model of a fine-tune)"
    )
    compare_lora: str | None = setting(
        help="LoRA adapter for the reference model (--llmeval-compare-model; default: none)"
    )
    report_json: Path | None = setting(
        help="write the whole run (every case, check, metric and verdict) as JSON to this path", parse=_path
    )
    report_html: Path | None = setting(
        help="write a self-contained HTML report of the run to this path", parse=_path
    )
    history: Path | None = setting(
        help="file each run appends its suite metrics to (default: .llmeval/history.jsonl)", parse=_path
    )
    mlflow: bool = setting(
        help="log each suite's metrics to MLflow (needs mlflow installed)",
        parse=_switch,
        default=False,
        switch=True,
    )
    home: Path = setting(
        help="folder for downloaded test models and GGUF conversions (default: ~/.cache/pytest-llmeval)",
        parse=_path,
        default_factory=default_cache_root,
    )

    @classmethod
    def from_lookup(cls, lookup: Callable[[Option], str | None]) -> Settings:
        """Build settings from ``lookup``, which returns the raw string a user gave for an option."""
        return cls.from_strings({option.name: lookup(option) or None for option in OPTIONS})

    @classmethod
    def from_strings(cls, raw: Mapping[str, str | None]) -> Settings:
        """Settings from the user's strings by option name; None leaves the default."""
        return cls(**{name: _BY_NAME[name].parse(value) for name, value in raw.items() if value is not None})

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed, validated like the user's own values."""
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in _BY_NAME:
                raise SettingsError(f"unknown llmeval setting {name!r}; known: {', '.join(_BY_NAME)}")
            if isinstance(value, Mapping):  # engine_args given as a dict
                value = "\n".join(f"{k}={v}" for k, v in value.items())
            checked[name] = _BY_NAME[name].parse(str(value)) if value is not None else None
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


OPTIONS: tuple[Option, ...] = tuple(
    Option(field.name, **field.metadata[_OPTION]) for field in dataclasses.fields(Settings)
)
_BY_NAME = {option.name: option for option in OPTIONS}
