"""The README's first command as a new user meets it: cold, warm, and beside a busy process.

Each side runs the command's pytest part in a fresh process, ``pytest examples/`` on SmolLM2 with
the transformers backend, against a copy of the repository's examples and baselines in a temporary
folder (so the repository's own ``.llmeval/`` is left alone):

1. cold: an empty model home (the test model is fetched from the package registry and converted,
   as on a new machine) and an empty response cache;
2. warm: the same folders again, every answer from the cache;
3. cold beside one CPU-bound process (a user's other job).

Targets (issue 15): cold at most 3 minutes on a quiet 2-core machine, at most 2x that beside a busy
process, and a warm rerun within 5 s.

Run: ``.venv/bin/python bench/bench_first_run.py``
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUSY = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"


def first_command(work: Path, home: Path) -> tuple[float, str]:
    """Wall seconds and the last lines of ``python -m pytest_llmeval.testmodel`` + ``pytest examples/``."""
    env = {**os.environ, "LLMEVAL_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop("CI", None)
    started = time.perf_counter()
    model = subprocess.run(
        [sys.executable, "-m", "pytest_llmeval.testmodel"], cwd=work, env=env, capture_output=True, text=True
    )
    if model.returncode != 0:
        sys.exit(f"testmodel failed:\n{model.stderr[-2000:]}")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "examples/", f"--llmeval-model={model.stdout.strip()}", "-q"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        sys.exit(f"examples failed ({run.returncode}):\n{run.stdout[-4000:]}\n{run.stderr[-2000:]}")
    tail = [line for line in run.stdout.splitlines() if line.startswith("llmeval: pre-generated")]
    return seconds, "\n    ".join([*tail, run.stdout.strip().splitlines()[-1]])


def fresh_copy(base: Path, name: str) -> Path:
    work = base / name
    work.mkdir()
    for part in ("examples", "baselines", "pyproject.toml"):
        source = ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / part)
    return work


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="llmeval-bench-first-"))
    print(f"the README's first command, pytest part; {len(os.sched_getaffinity(0))} cores, load average "
          f"{os.getloadavg()[0]:.2f}\n")  # fmt: skip
    quiet = fresh_copy(base, "quiet")
    cold, cold_tail = first_command(quiet, base / "home-quiet")
    warm, warm_tail = first_command(quiet, base / "home-quiet")
    busy_work = fresh_copy(base, "busy")
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(2)
        crowded, crowded_tail = first_command(busy_work, base / "home-busy")
    finally:
        busy.kill()
    print(f"{'':62}{'seconds':>9}{'ratio':>9}")
    print(f"  {'cold, quiet (model fetched and converted, empty cache)':60}{cold:9.1f}{1.0:8.2f}x")
    print(f"  {'warm, quiet (every answer from the cache)':60}{warm:9.1f}{warm / cold:8.3f}x")
    print(f"  {'cold, beside one CPU-bound process':60}{crowded:9.1f}{crowded / cold:8.2f}x")
    print(f"\ncold:\n    {cold_tail}\nwarm:\n    {warm_tail}\nbusy:\n    {crowded_tail}")


if __name__ == "__main__":
    main()
