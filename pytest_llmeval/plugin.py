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

from .cases import Case
from .engine.types import EngineError
from .gpus import GPUAssignmentError, pin_worker
from .llm import LLM
from .progress import PrefetchProgress
from .session import LLMEvalSession
from .settings import OPTIONS, Option, Settings, SettingsError
from .sides import MODEL, REFERENCE
from .suite import ActiveCase, SuiteError, SuiteSpec, decide, running

session_key = pytest.StashKey[LLMEvalSession]()
case_key = pytest.StashKey[tuple[SuiteSpec, Case]]()
side_key = pytest.StashKey[str]()
active_key = pytest.StashKey[ActiveCase]()
prefetched_key = pytest.StashKey[bool]()


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
        return cli or os.environ.get(option.env_var) or ini or None

    try:
        settings = Settings.from_lookup(lookup)
        # Before any engine exists, so CUDA is first initialised with this worker's GPUs only.
        # xdist has already turned -n into one --tx entry per worker when this hook runs.
        pin_worker(settings.gpus_per_worker, planned_workers=len(config.getoption("tx", None) or []))
    except (SettingsError, GPUAssignmentError) as exc:
        raise pytest.UsageError(str(exc)) from None
    session = LLMEvalSession(
        settings,
        project_folder(config),
        is_worker=hasattr(config, "workerinput"),
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
    """Whether the command line picks some tests out of the files it names (-k, -m, --lf, node ids):
    then a suite may run only some of its cases, and missing cases are not stale."""
    option = config.option
    return bool(
        getattr(option, "keyword", "")
        or getattr(option, "markexpr", "")
        or getattr(option, "lf", False)
        or getattr(option, "deselect", None)
        or any("::" in str(arg) for arg in config.args)
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    if session_key in config.stash:
        session = config.stash[session_key]
        session.close()
        config.pluginmanager.unregister(session)
        del config.stash[session_key]
        if session.interrupted:
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
    owners: dict[str, str] = {}
    case_items: dict[tuple[str, str, str], str] = {}  # (suite, side, case id) -> node id
    for item in items:
        marker = item.get_closest_marker("llmeval")
        if marker is None or not isinstance(item, pytest.Function):
            continue
        params = getattr(item, "callspec", None)
        cases = [v for v in (params.params.values() if params else ()) if isinstance(v, Case)]
        if len(cases) != 1:
            raise pytest.UsageError(
                f"{item.nodeid}: @pytest.mark.llmeval marks an eval suite, which needs the test "
                "parametrized over Case objects: @pytest.mark.parametrize('case', load_cases(...), ids=str)"
            )
        try:
            spec = SuiteSpec.from_marker(item.originalname.removeprefix("test_"), marker.kwargs)
        except SuiteError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        owner = f"{item.path}::{item.originalname}"
        if owners.setdefault(spec.name, owner) != owner:
            raise pytest.UsageError(
                f"two eval suites are named {spec.name!r} ({owners[spec.name]} and {owner}): "
                "give one a name with @pytest.mark.llmeval(name=...)"
            )
        side = str(params.params.get("_llmeval_side", MODEL)) if params else MODEL
        first = case_items.setdefault((spec.name, side, cases[0].id), item.nodeid)
        if first != item.nodeid:
            raise pytest.UsageError(
                f"suite {spec.name!r} has two cases with the id {cases[0].id!r} ({first} and {item.nodeid}): "
                "a baseline keeps one entry per id, so give each case its own id"
            )
        item.stash[case_key] = (spec, cases[0])
        item.stash[side_key] = side


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or session.testsfailed or hasattr(config, "workerinput"):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    llmeval = config.stash[session_key]
    for side in (MODEL, REFERENCE):
        cases = [item.stash[case_key] for item in session.items if item.stash.get(side_key, None) == side]
        write = (lambda text: reporter.write(text, flush=True)) if reporter else (lambda text: None)
        # Without a reporter there is nowhere to write: "terminal" then starts no logging thread.
        terminal = reporter.isatty() if reporter else True
        with PrefetchProgress(write, len(cases), terminal=terminal) as progress:
            note = llmeval.prefetch(cases, progress.advance, llmeval.side_settings(side))
        if note and reporter is not None:
            reporter.write_line(note if side == MODEL else note.replace("llmeval:", "llmeval: reference:", 1))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None]:
    if case_key not in item.stash:
        return (yield)
    if hasattr(item.config, "workerinput") and not item.stash.get(prefetched_key, False):
        _prefetch_worker_queue(item)
    spec, case = item.stash[case_key]
    active = item.stash[active_key] = ActiveCase(spec, case, side=item.stash[side_key])
    with running(active):
        return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Use work stealing where the user left xdist's default (``-n N`` means ``--dist load``).

    ``load`` hands tests out a few at a time, so a worker could only batch a handful of cases;
    ``worksteal`` gives each worker an equal contiguous block up front (whole suites stay
    together, and each worker pre-generates its block in one batch) and still rebalances by
    stealing from busy workers.
    """
    if config.getoption("dist", None) != "load":
        return None
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


def _prefetch_worker_queue(item: pytest.Item) -> None:
    """On an xdist worker: pre-generate this case and every suite case queued behind it.

    A worker learns its tests from the controller while the run goes on, so it cannot pre-generate
    at the start; instead, the first case it has no answer for triggers one batch over the cases
    queued for it. Only what this worker will run is generated.
    """
    queued: list[pytest.Item] = [item]
    interactor = next(
        (p for p in item.config.pluginmanager.get_plugins() if type(p).__name__ == "WorkerInteractor"), None
    )
    torun = getattr(interactor, "torun", None)
    if torun is not None and item.session.items:  # xdist internals: the indices queued for this worker
        with torun.lock() as indices:
            queued += [item.session.items[i] for i in indices if isinstance(i, int)]
    pending = [q for q in queued if case_key in q.stash and not q.stash.get(prefetched_key, False)]
    # Work stealing takes the back half of a busy worker's queue, so only the front half (or 64
    # cases, a full engine batch) is generated now: stolen cases are then rarely generated twice.
    pending = pending[: max(64, len(pending) // 2)]
    for other in pending:
        other.stash[prefetched_key] = True
    session = item.config.stash[session_key]
    for side in (MODEL, REFERENCE):
        cases = [q.stash[case_key] for q in pending if q.stash[side_key] == side]
        session.prefetch(cases, settings=session.side_settings(side))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when == "call" and call.excinfo is not None and isinstance(call.excinfo.value, EngineError):
        # The engine or server failed this request: the cause in one line, not a traceback
        # through the plugin (the request's text and the server's answer are in the message).
        report.longrepr = f"llmeval: {type(call.excinfo.value).__name__}: {call.excinfo.value}"
    if call.when != "call" or active_key not in item.stash:
        return report
    active = item.stash[active_key]
    error = call.excinfo.value if call.excinfo is not None else None
    strict = item.config.stash[session_key].settings.strict
    record, verdict = decide(active, error, strict=strict, duration=call.duration)
    if verdict.outcome == "xfailed":
        report.outcome = "skipped"
        report.wasxfail = verdict.reason
    elif verdict.outcome == "failed" and error is None:
        report.outcome = "failed"
        report.longrepr = verdict.reason
    # Plain JSON-able attributes: xdist copies them from the worker's report to the controller's.
    report.llmeval_record = record.to_json()  # type: ignore[attr-defined]
    report.llmeval_suite = active.suite.to_json()  # type: ignore[attr-defined]
    session = item.config.stash[session_key]
    report.llmeval_engine = session.engine_info(session.side_settings(active.side))  # type: ignore[attr-defined]
    return report


def pytest_report_header(config: pytest.Config) -> list[str]:
    return config.stash[session_key].header_lines() + _rootdir_notes(config)


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
