"""Backends by name: the built-in ones, a third-party engine found by its entry point, clear errors."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from pytest_llmeval.engine import ModelLoadError, create_engine, registry
from pytest_llmeval.engine.factories import openai_engine, transformers_engine, vllm_engine
from pytest_llmeval.settings import Settings, SettingsError

ROOT = Path(__file__).parent.parent.parent
PLUGIN = Path(__file__).parent.parent / "data" / "engine_plugin"


def with_entry_points(monkeypatch: pytest.MonkeyPatch, *entries: tuple[str, str]) -> None:
    """Make ``entries`` (name, value) the only installed entry points of the group."""
    found = [importlib.metadata.EntryPoint(name, value, registry.GROUP) for name, value in entries]
    monkeypatch.setattr(registry, "_declared", lambda: found)


# ----- the built-in engines -----


def test_builtin_engines_are_declared_as_entry_points() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"][registry.GROUP] == registry.BUILTIN


def test_builtin_engines_work_when_the_metadata_predates_their_entry_points(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_entry_points(monkeypatch)  # an editable install made before they were declared
    assert registry.engine_names() == ("transformers", "vllm", "openai")
    assert registry.engine_factory("transformers") is transformers_engine
    assert registry.engine_factory("vllm") is vllm_engine
    assert registry.engine_factory("openai") is openai_engine
    assert Settings().replace(backend="vllm", judge_backend="openai").backend == "vllm"


def test_a_builtin_name_cannot_be_taken_by_another_package(monkeypatch: pytest.MonkeyPatch) -> None:
    with_entry_points(monkeypatch, ("transformers", "elsewhere:make"), ("auto", "elsewhere:make"))
    assert registry.engine_names() == ("transformers", "vllm", "openai")
    assert registry.engine_factory("transformers") is transformers_engine


def test_importing_the_factories_loads_no_backend(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pytest_llmeval.engine import registry\n"
        "for name in registry.engine_names():\n"
        "    registry.engine_factory(name)\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = sorted(roots & {'torch', 'vllm', 'transformers', 'httpx'})\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=120)


# ----- errors -----


def test_an_unknown_backend_names_the_installed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    with_entry_points(monkeypatch, ("echo", "llmeval_echo_engine:make"))
    message = "'ecko' is not one of auto, transformers, vllm, openai, echo"
    with pytest.raises(SettingsError, match=f"^--llmeval-backend: {message}$"):
        Settings.from_strings({"backend": "ecko"})
    with pytest.raises(SettingsError, match=f"^--llmeval-judge-backend: {message}$"):
        Settings().replace(judge_backend="ecko")
    with pytest.raises(
        ModelLoadError, match="unknown backend 'ecko'; installed: transformers, vllm, openai, echo"
    ):
        create_engine(Settings(model="m", backend="ecko"))  # built without the check


def test_a_backend_that_cannot_load_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with_entry_points(
        monkeypatch, ("broken", "llmeval_no_such_module:make"), ("odd", "pytest_llmeval.engine:__all__")
    )
    with pytest.raises(ModelLoadError) as broken:
        create_engine(Settings(model="m").replace(backend="broken"))
    assert str(broken.value) == (
        "backend 'broken' (llmeval_no_such_module:make) cannot be loaded: "
        "ModuleNotFoundError: No module named 'llmeval_no_such_module'"
    )
    with pytest.raises(ModelLoadError, match=r"^backend 'odd' \(pytest_llmeval.engine:__all__\) is not a"):
        create_engine(Settings(model="m", backend="odd"))


def test_a_factory_must_make_an_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    with_entry_points(monkeypatch, ("text", "builtins:str"))
    with pytest.raises(ModelLoadError, match=r"^backend 'text' made a str, which is not an Engine$"):
        create_engine(Settings(model="m", backend="text"))


def test_a_factory_that_raises_its_own_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but ModelLoadError from a backend's factory once ended the run in INTERNALERROR."""
    with_entry_points(monkeypatch, ("missing", "pathlib:Path.read_text"))
    with pytest.raises(ModelLoadError, match=r"^backend 'missing' could not load the model: \w+Error: "):
        create_engine(Settings(model="m", backend="missing"))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(backend="transformers"), "no model configured: pass --llmeval-model"),
        (Settings(backend="vllm"), "no model configured: pass --llmeval-model"),
        (
            Settings(model="m", backend="transformers", engine_args=(("enforce_eager", True),)),
            "--llmeval-engine-arg configures vLLM; the transformers backend takes none",
        ),
        (Settings(model="m", backend="openai"), "the openai backend needs --llmeval-base-url"),
        (
            Settings(model="m", backend="openai", base_url="http://127.0.0.1:9/v1", lora="a"),
            "--llmeval-lora applies an adapter in this process",
        ),
    ],
)
def test_builtin_factories_refuse_settings_they_cannot_use(settings: Settings, message: str) -> None:
    with pytest.raises(ModelLoadError, match=f"^{message}"):
        create_engine(settings)


# ----- a third-party engine, installed for one pytest run -----


def install_for_run(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the engine_plugin package importable and findable by importlib.metadata in pytest
    subprocesses only: its module and a ``.dist-info`` folder (from its pyproject.toml) in
    ``folder``, on PYTHONPATH. Nothing is installed into this environment."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    shutil.copy(PLUGIN / "llmeval_echo_engine.py", folder)
    info = folder / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
            for group, entries in project["entry-points"].items()
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("PYTHONPATH", str(folder))


SUITE = """
def test_echo(llm):
    out = llm.chat("hello there")
    print(f"ANSWER {str(out)!r} {out.finish_reason}")
    assert out == "echo: hello there"
    assert llm.engine.info.backend == "echo"


def test_choose(llm):
    assert llm.choose("Pick", ["a b c", "a", "a b"]).choice == "a"
"""


def test_a_third_party_engine_runs_a_suite(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_for_run(tmp_path, monkeypatch)
    pytester.makepyfile(SUITE)
    result = pytester.runpytest_subprocess("-s", "--llmeval-backend", "echo", "--llmeval-model", "whatever")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["llmeval: model=whatever backend=echo (asked for) *", "*ANSWER 'echo: hello there' stop*"]
    )


def test_an_unknown_backend_is_a_usage_error_listing_installed_ones(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_for_run(tmp_path, monkeypatch)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("--llmeval-backend=ecko")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --llmeval-backend: 'ecko' is not one of auto, transformers, vllm, openai, echo"]
    )
    assert "Traceback" not in result.stderr.str()
