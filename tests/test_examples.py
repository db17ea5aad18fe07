"""The JSON, grounding and custom-check examples, run for real on SmolLM2 the way the README runs them.

Their exact scores belong to this model on this machine, so the assertions hold to what each
example is for: every suite runs and is summarised, the custom metric is reported, and the
failure modes the examples exist to show are named in the ``-rx`` reasons.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parent.parent / "examples"

pytestmark = pytest.mark.slow


def test_the_json_grounding_and_custom_examples_run_and_name_what_failed(
    smollm2_gguf: Path, tmp_path: Path
) -> None:
    files = ("test_json_extraction.py", "test_grounded.py", "test_custom.py")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *(str(EXAMPLES / name) for name in files),
            "-rx",
            "-p",
            "no:cacheprovider",
            f"--llmeval-model={smollm2_gguf}",
            f"--llmeval-baselines={tmp_path / 'baselines'}",
            f"--llmeval-cache-dir={tmp_path / 'cache'}",
            f"--llmeval-history={tmp_path / 'history.jsonl'}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1800,
        env={k: v for k, v in os.environ.items() if k != "CI"},  # a first run records its baselines
    )
    out = run.stdout
    assert run.returncode == 0, out[-3000:] + run.stderr[-3000:]
    for suite, cases in (("extract_person", 12), ("grounded_explanation", 20), ("unit_conversion", 10)):
        assert re.search(rf"^{suite} +{cases} cases  pass \d\.\d{{3}} ", out, re.M), (suite, out[-3000:])
        assert (tmp_path / "baselines" / f"{suite}.json").is_file()
    assert re.search(r"^unit_conversion .* conciseness \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", out, re.M)
    reasons = [line for line in out.splitlines() if line.startswith("XFAIL ")]
    assert any("grounded_in: " in r and "not supported by the context" in r for r in reasons), out[-3000:]
    assert any("states_number_with_unit: " in r for r in reasons), out[-3000:]
    assert not re.search(r"errors [1-9]", out)
