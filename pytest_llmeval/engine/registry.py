"""Engines by name: the built-in backends and any a package registers under an entry point.

A backend is a factory ``(settings: Settings) -> Engine`` registered under the entry-point group
``pytest_llmeval.engines``; ``--llmeval-backend NAME`` picks it. The built-in names
(transformers, vllm, openai) are declared there too, and are also known from the table below, so
they keep working when the installed metadata predates their entry points (an editable install
made before they were declared). Those names are taken: another package's entry point with one
of them, or with ``auto`` (which ``resolve_backend`` turns into a built-in name), is ignored.

Nothing here imports a backend: names come from the package metadata, and a factory's module is
imported only when an engine is made.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from .types import Engine, ModelLoadError

if TYPE_CHECKING:
    from ..settings import Settings

GROUP = "pytest_llmeval.engines"
AUTO = "auto"

EngineFactory = Callable[["Settings"], Engine]

BUILTIN: dict[str, str] = {
    "transformers": "pytest_llmeval.engine.factories:transformers_engine",
    "vllm": "pytest_llmeval.engine.factories:vllm_engine",
    "openai": "pytest_llmeval.engine.factories:openai_engine",
}


def engine_names() -> tuple[str, ...]:
    """Every backend name ``--llmeval-backend`` accepts besides ``auto``: built-in ones first."""
    return (*BUILTIN, *sorted(_installed()))


def is_engine_name(name: str) -> bool:
    return name in BUILTIN or name in _installed()


def engine_factory(name: str) -> EngineFactory:
    """The factory registered as ``name``. Raises ModelLoadError with a one-line reason."""
    if name in BUILTIN:
        entry = importlib.metadata.EntryPoint(name=name, value=BUILTIN[name], group=GROUP)
    elif (found := _installed().get(name)) is not None:
        entry = found
    else:
        raise ModelLoadError(f"unknown backend {name!r}; installed: {', '.join(engine_names())}")
    try:
        factory = entry.load()
    except Exception as exc:  # a plugin's import error, whatever it is, is one line for the user
        raise ModelLoadError(
            f"backend {name!r} ({entry.value}{_from(entry)}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(factory):
        raise ModelLoadError(f"backend {name!r} ({entry.value}{_from(entry)}) is not a callable factory")
    return cast(EngineFactory, factory)


def _installed() -> dict[str, importlib.metadata.EntryPoint]:
    """Entry points of the group not shadowed by a built-in name; the first one of a name wins."""
    found: dict[str, importlib.metadata.EntryPoint] = {}
    for entry in _declared():
        if entry.name not in BUILTIN and entry.name != AUTO:
            found.setdefault(entry.name, entry)
    return found


def _declared() -> Iterable[importlib.metadata.EntryPoint]:
    """The group's entry points in the installed packages' metadata."""
    return importlib.metadata.entry_points(group=GROUP)


def _from(entry: importlib.metadata.EntryPoint) -> str:
    dist = entry.dist
    return f", from {dist.name} {dist.version}" if dist is not None else ""
