from __future__ import annotations

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
    assert {o.name for o in OPTIONS} == set(Settings.__dataclass_fields__)


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
