"""pytest entry point: options, fixtures and hooks. Glue only; the logic lives in plain modules."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from .gpus import GPUAssignmentError, pin_worker
from .llm import LLM
from .session import LLMEvalSession
from .settings import OPTIONS, Option, Settings, SettingsError

session_key = pytest.StashKey[LLMEvalSession]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmeval", "LLM evaluation (pytest-llmeval)")
    for option in OPTIONS:
        group.addoption(
            option.flag,
            dest=option.ini_key,
            default=None,
            action="append" if option.repeatable else "store",
            help=f"{option.help}. Also {option.env_var} or ini {option.ini_key}.",
        )
        if option.repeatable:
            parser.addini(option.ini_key, option.help, type="linelist")
        else:
            parser.addini(option.ini_key, option.help, type="string")


def pytest_configure(config: pytest.Config) -> None:
    def lookup(option: Option) -> str | None:
        def text(value: Any) -> str | None:  # repeatable options arrive as lists
            return "\n".join(value) if isinstance(value, list) else value

        cli, ini = text(config.getoption(option.ini_key)), text(config.getini(option.ini_key))
        return cli or os.environ.get(option.env_var) or ini or None

    try:
        settings = Settings.from_lookup(lookup)
        # Before any engine exists, so CUDA is first initialised with this worker's GPUs only.
        # xdist has already turned -n into one --tx entry per worker when this hook runs.
        pin_worker(settings.gpus_per_worker, planned_workers=len(config.getoption("tx", None) or []))
    except (SettingsError, GPUAssignmentError) as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[session_key] = LLMEvalSession(settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    if session_key in config.stash:
        config.stash[session_key].close()
        del config.stash[session_key]


def pytest_report_header(config: pytest.Config) -> list[str]:
    return config.stash[session_key].header_lines()


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """The model under test, loaded once per session from the llmeval settings."""
    return pytestconfig.stash[session_key].default_llm()


@pytest.fixture(scope="session")
def judge(pytestconfig: pytest.Config) -> LLM:
    """A second model for checks that need one, from --llmeval-judge-model; skips when none is set."""
    return pytestconfig.stash[session_key].judge_llm()


@pytest.fixture(scope="session")
def llm_factory(pytestconfig: pytest.Config) -> Callable[..., LLM]:
    """Build other models (a judge, a second checkpoint): ``llm_factory(model=..., dtype=...)``.

    Keyword arguments override the run's settings; the same settings give the same loaded model.
    """
    session = pytestconfig.stash[session_key]

    def make(**overrides: Any) -> LLM:
        return session.llm(session.settings.replace(**overrides))

    return make
