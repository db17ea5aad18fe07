"""The JSON documents the plugin keeps (baselines, reports, history lines): each carries a schema
version, and reading one applies the same rule everywhere. A document written by a newer
pytest-llmeval is refused with the advice to upgrade, never half-read; a malformed one names the
first place that is wrong."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError

Document = TypeVar("Document", bound=BaseModel)


def validated(
    data: object, model: type[Document], *, place: str, newest: int, error: type[Exception]
) -> Document:
    """``data`` (parsed JSON) as ``model``, or ``error`` saying what is wrong at ``place``."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > newest:
        raise error(
            f"{place} has schema version {version}, newer than this pytest-llmeval's "
            f"{newest}: upgrade pytest-llmeval to read it"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{place} is malformed at {validation_place(exc)}") from None


def validation_place(exc: ValidationError) -> str:
    """Where the first problem is and what it is, e.g. ``suites.0.passed: Field required``."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{where}: {first['msg']}"
