"""Reading and writing baseline files: atomic writes, and a clear error for a file we cannot trust.

A baseline that cannot be read (broken JSON, wrong shape, a newer schema than this version
knows) is never rewritten: it is reported with its path and left exactly as it is, because
overwriting it would silently throw away what the team committed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..documents import validated
from ..files import write_atomically
from .schema import SCHEMA_VERSION, Baseline


class BaselineError(ValueError):
    """A baseline file that exists but cannot be used; the message names the file."""


_READABLE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}")


def baseline_path(directory: Path, suite: str) -> Path:
    """``<directory>/<suite>.json`` for a name of letters, digits, ``.``, ``_`` and ``-``.

    Any other name is made safe and given ``~`` and a hash of the whole name (``qa/v1`` ->
    ``qa_v1~5d41402abc4b.json``): ``~`` never occurs in a readable name, so two suites never
    share a file (``qa_v1`` keeps ``qa_v1.json``), whatever their names.
    """
    if _READABLE.fullmatch(suite):
        return directory / f"{suite}.json"
    digest = hashlib.sha256(suite.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", suite)[:60].lstrip(".")
    return directory / f"{safe}~{digest}.json"


def colliding_suites(directory: Path, suites: Iterable[str]) -> list[tuple[str, str]]:
    """Pairs of suites whose baseline files would be one file: the same name up to case, which
    a case-insensitive file system (macOS, Windows) cannot tell apart."""
    seen: dict[str, str] = {}
    pairs = []
    for suite in suites:
        key = baseline_path(directory, suite).name.casefold()
        if key in seen and seen[key] != suite:
            pairs.append((seen[key], suite))
        seen.setdefault(key, suite)
    return pairs


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold a lock on the baselines folder while a run reads, merges and writes its baselines, so
    two runs updating one file (two partial updates at once) never lose each other's cases.

    An advisory ``flock`` on the folder itself, so no lock file is left among the baselines;
    the kernel releases it when the process dies, so a killed run never leaves it locked.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent updates are not serialised there
        yield
        return
    handle = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing the last descriptor releases the lock


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
    return validated(data, Baseline, place=f"baseline {path}", newest=SCHEMA_VERSION, error=BaselineError)


def dump_baseline(baseline: Baseline) -> str:
    """Stable text: sorted keys, two-space indent, a final newline, so git diffs read well."""
    data = baseline.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_baseline(path: Path, baseline: Baseline) -> None:
    """Write through a temporary file and a rename: an interrupted write never leaves half a file."""
    write_atomically(path, dump_baseline(baseline), durable=True)
