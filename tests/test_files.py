"""write_atomically: whole files or nothing, no symlink followed, no temporary file left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_llmeval.files import write_atomically


def test_writes_and_replaces_whole(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "report.json"
    write_atomically(target, "one")
    write_atomically(target, "two", durable=True)
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    target = tmp_path / "report.html"
    target.symlink_to(precious)
    write_atomically(target, "report")
    assert precious.read_text() == "keep me"
    assert not target.is_symlink() and target.read_text() == "report"


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.mkdir()  # a folder where the file should be
    with pytest.raises(OSError):
        write_atomically(target, "report")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_leftovers_of_a_killed_writer_are_removed_and_a_live_writers_are_kept(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)  # that process has exited
    live_pid = os.getppid()  # the process that started this test: alive
    target = tmp_path / "a[1].json"  # glob characters in the name must not matter
    stale = tmp_path / f".a[1].json.{dead_pid}.x9k2.tmp"
    running = tmp_path / f".a[1].json.{live_pid}.q7w1.tmp"
    other = tmp_path / f".b.json.{dead_pid}.zz.tmp"
    for path in (stale, running, other):
        path.write_text("half a file")
    write_atomically(target, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, running.name, other.name])


def test_the_file_gets_the_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomically(tmp_path / "b.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "b.json").stat().st_mode & 0o777 == 0o644
