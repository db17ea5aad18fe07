"""The fine-tuning example for real: SmolLM2 against itself passes the gate, a damaged copy fails it.

Every run is a real pytest process on the real model, as a user would start it, with its own
baselines folder and response cache in a temporary directory. The cache is shared by the runs,
which is what keeps this test affordable: the compare-model run at the end asks the same
seeded requests as two earlier runs, so it generates nothing.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parents[1] / "examples" / "finetune"
SUITE = EXAMPLE / "test_fluency.py"

pytestmark = pytest.mark.slow


def _make_bad_finetune(output: Path, source: Path) -> Path:
    # examples/ is no package: load the script as a module, as the README runs it as a script.
    spec = importlib.util.spec_from_file_location("make_bad_finetune", EXAMPLE / "make_bad_finetune.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder: Path = module.make_bad_finetune(output, source=source)
    return folder


@pytest.fixture(scope="module")
def damaged(smollm2_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's "bad fine-tune" of SmolLM2, made once for the module."""
    return _make_bad_finetune(tmp_path_factory.mktemp("bad-finetune"), smollm2_folder)


def run_suite(
    tmp_path: Path, name: str, model: Path, seed: int, *args: str
) -> subprocess.CompletedProcess[str]:
    """One run of the example suite; its output is also kept in ``tmp_path/<name>.txt``, since an
    assertion message shows only its end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMEVAL_") and k != "CI"}
    env |= {"LLMEVAL_EXAMPLE_SEED": str(seed), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(SUITE),
        "-p",
        "no:cacheprovider",
        f"--llmeval-model={model}",
        f"--llmeval-baselines={tmp_path / 'baselines'}",
        f"--llmeval-cache-dir={tmp_path / 'cache'}",
        f"--llmeval-history={tmp_path / 'history.jsonl'}",  # not the repository's .llmeval/
        *args,
    ]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800)
    (tmp_path / f"{name}.txt").write_text(result.stdout + result.stderr)
    return result


def gate_line(result: subprocess.CompletedProcess[str]) -> str:
    """The suite's comparison line: ``fluency  pass 0.900 -> 0.875  d -2.5pt [...]  p=...  OK ...``."""
    lines = [line for line in result.stdout.splitlines() if re.match(r"fluency  pass \d\.\d{3} -> ", line)]
    assert len(lines) == 1, result.stdout[-3000:]
    return lines[0]


def test_smollm2_passes_against_itself_and_a_bad_finetune_fails(
    smollm2_gguf: Path, damaged: Path, tmp_path: Path
) -> None:
    record = run_suite(tmp_path, "record", smollm2_gguf, seed=0)
    assert record.returncode == 0, record.stdout[-3000:]
    assert re.search(r"^fluency  note: baseline recorded: .*fluency\.json$", record.stdout, re.M)

    # Sampling noise alone: another seed, compared with seed 0's baseline, passes. One seed shows the
    # example works end to end; how often noise alone fails the gate is measured over thousands of
    # simulated runs in test_regression_simulation.py (each more seed here cost CI 30 s or more).
    rerun = run_suite(tmp_path, "rerun", smollm2_gguf, seed=1)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert re.search(r"  (OK|WARNING|IMPROVED)  \d+ flipped pass->fail$", gate_line(rerun))
    assert "run FAILED" not in rerun.stdout

    bad = run_suite(tmp_path, "damaged", damaged, seed=1)
    assert bad.returncode == 1, bad.stdout[-3000:]
    assert re.search(r"  p[<=]\S+  REGRESSED  \d+ flipped pass->fail$", gate_line(bad))
    assert re.search(
        r"^llmeval: run FAILED: suite fluency: pass REGRESSED \d\.\d{3} -> \d\.\d{3} \(p=\S+, \d+ flipped",
        bad.stdout,
        re.M,
    ), bad.stdout[-3000:]

    # The same verdict in one session, against the model itself instead of a stored baseline.
    compared = run_suite(tmp_path, "compared", damaged, 1, f"--llmeval-compare-model={smollm2_gguf}")
    assert compared.returncode == 1, compared.stdout[-3000:]
    assert re.search(r"  REGRESSED  \d+ flipped pass->fail$", gate_line(compared))
    assert "llmeval: run FAILED: suite fluency: pass REGRESSED" in compared.stdout
