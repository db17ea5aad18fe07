"""Writing a file so that a reader sees the old file or the new one, whole, and nothing else.

Every file the plugin writes at the end of a run (baselines, reports) goes through
:func:`write_atomically`: a temporary file created exclusively (``O_EXCL``, an unpredictable
name, so a symlink placed in advance is never followed) in the target's own folder, then a rename
over the target. A failed write removes its temporary file; a temporary file left by a killed
process (its pid is in the name) is removed by the next write to the same target.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, durable: bool = False) -> None:
    """Write ``text`` (UTF-8) to ``path``; ``durable`` also syncs it to disk before the rename.

    The file gets the permissions the umask gives a new file (``mkstemp`` alone would make it
    private): a baseline or a report is a file of the project like any other.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{path.name}.{os.getpid()}."
    _remove_leftovers(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            if durable:
                file.flush()
                os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_leftovers(path: Path) -> None:
    """Temporary files of ``path`` whose writer is gone (killed mid-write): ``.<name>.<pid>.*.tmp``."""
    for leftover in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = leftover.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask
