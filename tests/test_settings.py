from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_llmeval.settings import OPTIONS, Option, Settings, SettingsError


def lookup_from(values: dict[str, str]) -> object:
    return lambda option: values.get(option.name)


def test_defaults() -> None:
    settings = Settings.from_lookup(lambda option: None)
    assert settings.model is None
    assert (settings.backend, settings.dtype, settings.device) == ("auto", "auto", "auto")
    assert settings.max_batch_tokens == 8192
    assert settings.max_length is None


def test_values_are_parsed_and_typed() -> None:
    settings = Settings.from_lookup(
        lookup_from({"model": "m.gguf", "max_batch_tokens": "512", "device": "cuda:1", "home": "~/x"})
    )
    assert settings.model == "m.gguf"
    assert settings.max_batch_tokens == 512
    assert settings.device == "cuda:1"
    assert settings.home == Path("~/x").expanduser()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "backend",
            "tensorflow",
            "--llmeval-backend: 'tensorflow' is not one of auto, transformers, vllm, openai",
        ),
        ("dtype", "fp8", "--llmeval-dtype: 'fp8' is not one of"),
        ("max_batch_tokens", "lots", "--llmeval-max-batch-tokens: expected a whole number of at least 1"),
        ("max_length", "0", "--llmeval-max-length: expected a whole number"),
        ("device", "tpu", "--llmeval-device: expected auto, cpu, cuda, cuda:N or mps"),
        ("device", "cuda:first", "--llmeval-device: expected cuda:N"),
    ],
)
def test_bad_values_name_the_option(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_lookup(lookup_from({name: value}))


def test_engine_args_are_typed_and_checked() -> None:
    settings = Settings.from_lookup(
        lookup_from({"engine_args": "tensor_parallel_size=2\ngpu_memory_utilization=0.8, enforce_eager=true"})
    )
    assert dict(settings.engine_args) == {
        "tensor_parallel_size": 2,
        "gpu_memory_utilization": 0.8,
        "enforce_eager": True,
    }
    assert Settings().replace(engine_args={"quantization": "awq"}).engine_args == (("quantization", "awq"),)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("tensor_parallel_size=0", "tensor_parallel_size must be a whole number of at least 1, got '0'"),
        ("gpu_memory_utilization=1.5", r"gpu_memory_utilization must be a fraction in \(0, 1\]"),
        ("enable_prefix_caching=maybe", "enable_prefix_caching must be true or false"),
        (
            "distributed_executor_backend=slurm",
            "distributed_executor_backend must be one of ray, mp, uni, external_launcher",
        ),
        ("tensor_parallel_size", "expected KEY=VALUE with a lowercase key"),
    ],
)
def test_bad_engine_args_name_the_flag(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match="--llmeval-engine-arg: " + message):
        Settings.from_lookup(lookup_from({"engine_args": value}))


def test_replace_validates_like_user_input() -> None:
    settings = Settings()
    assert settings.replace(dtype="bfloat16").dtype == "bfloat16"
    assert settings.replace(max_batch_tokens=64).max_batch_tokens == 64
    with pytest.raises(SettingsError, match="unknown llmeval setting 'temperature'"):
        settings.replace(temperature=1)
    with pytest.raises(SettingsError, match="--llmeval-dtype"):
        settings.replace(dtype="int3")


def test_every_option_has_three_spellings() -> None:
    option = Option("max_batch_tokens", "help")
    assert (option.flag, option.env_var, option.ini_key) == (
        "--llmeval-max-batch-tokens",
        "LLMEVAL_MAX_BATCH_TOKENS",
        "llmeval_max_batch_tokens",
    )
    assert [o.name for o in OPTIONS] == [f.name for f in dataclasses.fields(Settings)]
    engine_args = next(o for o in OPTIONS if o.name == "engine_args")
    assert (engine_args.flag, engine_args.env_var) == ("--llmeval-engine-arg", "LLMEVAL_ENGINE_ARGS")


def test_options_are_the_settings_fields() -> None:
    """Each option is declared once, on its Settings field: defaults and help come from there."""
    assert Settings.from_lookup(lambda option: None) == Settings()
    by_name = {o.name: o for o in OPTIONS}
    assert all("{" not in o.help for o in OPTIONS)
    assert by_name["max_batch_tokens"].help.endswith("(default: 8192)")
    assert by_name["timeout"].help.endswith("(default: 120)")
    assert by_name["alpha"].help.endswith("(default: 0.05)")
    assert by_name["dtype"].help.endswith("(default: auto = float32 on CPU)")
    assert (by_name["no_cache"].switch, by_name["update_baselines"].bare) == (True, "all")
    assert by_name["backend"].help.startswith("engine backend: auto, transformers, vllm, openai or an")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("alpha", "1", "--llmeval-alpha: expected a number between 0 and 1, e.g. 0.05, got '1'"),
        ("alpha", "nan", "--llmeval-alpha: expected a number between 0 and 1"),
        ("margin", "100", r"--llmeval-margin: expected points in \[0, 100\), e.g. 2 for 2 points, got '100'"),
        ("margin", "inf", "--llmeval-margin: expected points"),
        ("timeout", "0", "--llmeval-timeout: expected a number of seconds above 0"),
        ("retries", "-1", "--llmeval-retries: expected a whole number of at least 0"),
        ("base_url", "localhost:8000", "--llmeval-base-url: expected an http:// or https:// URL"),
        ("no_cache", "maybe", "--llmeval-no-cache: expected true or false"),
        ("update_baselines", "old", "--llmeval-update-baselines: expected no value, =new or =all"),
    ],
)
def test_more_bad_values_name_the_option(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_strings({name: value})


def test_unset_and_empty_values_keep_the_default() -> None:
    settings = Settings.from_lookup(lookup_from({"backend": "", "margin": "", "alpha": "0.01"}))
    assert (settings.backend, settings.margin, settings.alpha) == ("auto", 2.0, 0.01)
    assert Settings.from_strings({"strict": "yes", "update_baselines": "new"}).strict is True


def test_judge_settings_derive_from_the_run() -> None:
    run = Settings.from_strings(
        {"model": "tuned", "lora": "/adapters/a", "backend": "vllm", "engine_args": "max_model_len=2048"}
    )
    assert run.for_judge() is None
    same_backend = run.replace(judge_model="judge-7b").for_judge()
    assert same_backend is not None
    assert (same_backend.model, same_backend.backend, same_backend.lora) == ("judge-7b", "vllm", None)
    assert dict(same_backend.engine_args) == {"max_model_len": 2048}
    served = run.replace(
        judge_model="judge", judge_backend="openai", judge_base_url="http://127.0.0.1:9/v1"
    ).for_judge()
    assert served is not None
    assert (served.backend, served.base_url, served.engine_args) == ("openai", "http://127.0.0.1:9/v1", ())
    with pytest.raises(SettingsError, match="--llmeval-judge-backend: 'gpt' is not one of"):
        run.replace(judge_backend="gpt")
    with pytest.raises(SettingsError, match="--llmeval-gpus-per-worker: expected a whole number"):
        run.replace(gpus_per_worker="0")
