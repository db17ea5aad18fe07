"""pytest entry point: options, fixtures and hooks. Glue only; the logic lives in plain modules."""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from . import xdist
from .gpus import GPUAssignmentError, pin_worker
from .items import case_key, decide_report, fail_unusable, mark_suite_items, prefetched_key, start_case
from .llm import LLM
from .prefetch import prefetch_session, prefetch_worker_queue
from .report.terminal import header_lines
from .session import LLMEvalSession, session_key
from .settings import OPTIONS, Option, Settings, SettingsError
from .sides import MODEL, REFERENCE
from .suite import running


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmeval", "LLM evaluation (pytest-llmeval)")
    for option in OPTIONS:
        action = "append" if option.repeatable else "store_const" if option.switch else "store"
        extra: dict[str, Any] = {"const": "true"} if option.switch else {}
        if option.bare is not None:
            extra = {"nargs": "?", "const": option.bare}
        group.addoption(
            option.flag,
            dest=option.ini_key,
            default=None,
            action=action,
            help=f"{option.help}. Also {option.env_var} or ini {option.ini_key}.",
            **extra,
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
        if ini and option.is_path and config.inipath is not None and not Path(ini).expanduser().is_absolute():
            # As pytest's own path settings: a run started in a subfolder finds the committed
            # baselines instead of recording new ones beside it.
            ini = str(config.inipath.parent / ini)
        return cli or os.environ.get(option.env_var) or ini or None

    try:
        settings = Settings.from_lookup(lookup)
        # Before any engine exists, so CUDA is first initialised with this worker's GPUs only.
        pin_worker(settings.gpus_per_worker, planned_workers=xdist.planned_workers(config))
    except (SettingsError, GPUAssignmentError) as exc:
        raise pytest.UsageError(str(exc)) from None
    session = LLMEvalSession(
        settings,
        project_folder(config),
        is_worker=xdist.is_worker(config),
        partial=_selects_cases(config),
        all_suites=_collects_everything(config),
    )
    config.stash[session_key] = session
    config.pluginmanager.register(session, "llmeval-session")
    config.addinivalue_line(
        "markers",
        "llmeval(**settings): an eval suite over Case parameters. Generation: max_tokens, temperature, "
        "top_p, seed, stop, samples. Suite: name, min_pass_rate, min={metric: value}, metrics.",
    )


def project_folder(config: pytest.Config) -> Path:
    """Where the cache, baselines and history live: the folder of the ini file when there is one,
    else the folder pytest was started from. Never pytest's rootdir guess, which without an ini
    file is the common ancestor of the arguments: ``/`` for ``--llmeval-model /abs/model`` (with
    a space, the path is an argument too), or the model's own folder."""
    return config.inipath.parent if config.inipath is not None else config.invocation_params.dir


def _rootdir_notes(config: pytest.Config) -> list[str]:
    """Say so when pytest's rootdir is not the project folder: pytest's own .pytest_cache goes there."""
    rootdir, start = config.rootpath, config.invocation_params.dir
    if config.inipath is not None or rootdir == start:
        return []
    model = config.stash[session_key].settings.model
    if rootdir in start.parents or (model is not None and rootdir in (Path(model), *Path(model).parents)):
        return [
            f"llmeval: pytest chose rootdir {rootdir} from the arguments (no ini file); llmeval's "
            f"files go under {start}. Write --llmeval-model=PATH (with '='), or add a pytest.ini"
        ]
    return []


def _collects_everything(config: pytest.Config) -> bool:
    """No test file or node was named: every suite is collected, so a baseline without a suite
    in the run belongs to no suite."""
    return all(Path(str(arg).split("::", 1)[0]).is_dir() for arg in config.args)


def _selects_cases(config: pytest.Config) -> bool:
    """Whether the run may hold only some of a suite's cases before collection says more: node ids
    always may. A controller of xdist workers collects nothing and so sees no deselection: there
    the options that can deselect (-k, -m, --lf, --sw, --deselect) count as selecting, whether or
    not they did. In one process ``pytest_deselected`` says it exactly (an ``addopts = -m "not
    slow"`` that deselected nothing once switched every suite's thresholds off)."""
    option = config.option
    if any("::" in str(arg) for arg in config.args):
        return True
    return xdist.planned_workers(config) > 0 and bool(
        getattr(option, "keyword", "")
        or getattr(option, "markexpr", "")
        or getattr(option, "lf", False)
        or getattr(option, "stepwise", False)
        or getattr(option, "deselect", None)
    )


@pytest.hookimpl(trylast=True)
def pytest_deselected(items: list[pytest.Item]) -> None:
    """A suite case left out by -k, -m, --lf, --sw or --deselect: the run holds only part of its
    suite, so its thresholds are not enforced and an update keeps the cases that did not run."""
    if not items or not any(item.get_closest_marker("llmeval") is not None for item in items):
        return
    session = items[0].config.stash.get(session_key, None)
    if session is not None:
        session.run.partial = True


def pytest_unconfigure(config: pytest.Config) -> None:
    if session_key in config.stash:
        session = config.stash[session_key]
        session.pool.close()
        config.pluginmanager.unregister(session)
        del config.stash[session_key]
        if session.run.interrupted:
            _end_quickly()


def _end_quickly() -> None:
    """After Ctrl-C the process is about to end, and its last garbage collection would walk every
    object torch, transformers and vLLM made: 2-3 s that a user waits for. Frozen objects are left
    to the operating system. Extension modules built with nanobind (triton) then report at exit
    the objects nobody freed, 30 lines that say nothing about the run: stderr is closed for that
    last step, after everything else has been written."""
    gc.freeze()

    def quiet_exit() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)

    atexit.register(quiet_exit)


# ----- eval suites: which items are cases, and how a case's outcome is decided -----


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With --llmeval-compare-model, every suite case runs twice: on the model and the reference."""
    session = metafunc.config.stash.get(session_key, None)
    if session is None or session.settings.compare_model is None:
        return
    if metafunc.definition.get_closest_marker("llmeval") is not None:
        metafunc.parametrize("_llmeval_side", [MODEL, REFERENCE], indirect=True)


@pytest.fixture(autouse=True)
def _llmeval_side(request: pytest.FixtureRequest) -> str:
    """Which model a suite item runs on; a fixture only so that suites can be parametrized by it."""
    return str(getattr(request, "param", MODEL))


@pytest.hookimpl(trylast=True)  # after -k/-m deselection, so only what will run is looked at
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_suite_items(items, on_worker=xdist.is_worker(config))


def pytest_runtest_setup(item: pytest.Item) -> None:
    fail_unusable(item)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    config = session.config
    if not (config.option.collectonly or session.testsfailed or xdist.is_worker(config)):
        prefetch_session(session, config.stash[session_key].pool)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    if case_key not in item.stash:
        return (yield)
    if xdist.is_worker(item.config) and not item.stash.get(prefetched_key, False):
        prefetch_worker_queue(item, item.config.stash[session_key].pool)
    with running(start_case(item)):
        return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return xdist.make_scheduler(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    decide_report(item, call, report, item.config.stash[session_key].pool)
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    return header_lines(config.stash[session_key].settings) + _rootdir_notes(config)


@pytest.fixture(scope="session")
def llm(pytestconfig: pytest.Config) -> LLM:
    """The model under test, loaded once per session from the llmeval settings."""
    return pytestconfig.stash[session_key].pool.default_llm()


@pytest.fixture(scope="session")
def judge(pytestconfig: pytest.Config) -> LLM:
    """A second model for checks that need one, from --llmeval-judge-model; skips when none is set."""
    return pytestconfig.stash[session_key].pool.judge_llm()


@pytest.fixture(scope="session")
def llm_factory(pytestconfig: pytest.Config) -> Callable[..., LLM]:
    """Build other models (a judge, a second checkpoint): ``llm_factory(model=..., dtype=...)``.

    Keyword arguments override the run's settings; the same settings give the same loaded model.
    """
    pool = pytestconfig.stash[session_key].pool

    def make(**overrides: Any) -> LLM:
        return pool.llm(pool.settings.replace(**overrides))

    return make
