"""Reading and writing baseline files: atomic writes, and a clear error for a file we cannot trust.

A baseline that cannot be read (broken JSON, wrong shape, a newer schema than this version
knows) is never rewritten: it is reported with its path and left exactly as it is, because
overwriting it would silently throw away what the team committed.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from pydantic import ValidationError

from .schema import SCHEMA_VERSION, Baseline


class BaselineError(ValueError):
    """A baseline file that exists but cannot be used; the message names the file."""


def baseline_path(directory: Path, suite: str) -> Path:
    """``<directory>/<suite>.json``, with characters that are not safe in file names replaced."""
    return directory / (re.sub(r"[^A-Za-z0-9._-]", "_", suite) + ".json")


def read_baseline(path: Path) -> Baseline | None:
    """The baseline at ``path``, or None when there is none; BaselineError when it is unusable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BaselineError(f"baseline {path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise BaselineError(
            f"baseline {path} has schema version {version}, newer than this pytest-llmeval's "
            f"{SCHEMA_VERSION}: upgrade pytest-llmeval to read it"
        )
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise BaselineError(f"baseline {path} is malformed at {where}: {first['msg']}") from None


def dump_baseline(baseline: Baseline) -> str:
    """Stable text: sorted keys, two-space indent, a final newline, so git diffs read well."""
    data = baseline.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_baseline(path: Path, baseline: Baseline) -> None:
    """Write through a temporary file and a rename: an interrupted write never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_baseline(baseline)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); a baseline is a file of the repository like any other.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask
