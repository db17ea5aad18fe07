"""Which GPUs each pytest-xdist worker pins itself to."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.gpus import GPUAssignmentError, pin_worker, visible_gpus, worker_gpus


def test_workers_take_consecutive_runs_of_gpus() -> None:
    visible = [str(i) for i in range(8)]
    assert worker_gpus("gw0", 1, visible) == ["0"]
    assert worker_gpus("gw3", 1, visible) == ["3"]
    assert worker_gpus("gw0", 2, visible) == ["0", "1"]
    assert worker_gpus("gw3", 2, visible) == ["6", "7"]


def test_an_inherited_restriction_is_respected() -> None:
    # A scheduler gave the job GPUs 4-7: worker 1 with 2 GPUs each gets the job's third and fourth.
    assert worker_gpus("gw1", 2, ["4", "5", "6", "7"]) == ["6", "7"]


def test_too_many_workers_is_a_clear_error() -> None:
    with pytest.raises(GPUAssignmentError, match=r"worker gw2 needs GPUs 4\.\.5 .* only 4 are visible"):
        worker_gpus("gw2", 2, ["0", "1", "2", "3"])
    with pytest.raises(GPUAssignmentError, match="not a pytest-xdist worker id"):
        worker_gpus("master", 1, ["0"])


def test_visible_gpus_from_the_environment_or_device_files(tmp_path: Path) -> None:
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 3"}, tmp_path) == ["2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, tmp_path) == []
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    assert visible_gpus({}, tmp_path) == ["0", "1"]


def test_pin_worker_sets_the_variable_only_in_a_worker() -> None:
    env = {"CUDA_VISIBLE_DEVICES": "0,1,2,3"}
    assert pin_worker(2, planned_workers=2, environ=env) is None
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    env["PYTEST_XDIST_WORKER"] = "gw1"
    assert pin_worker(None, environ=env) is None and env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    assert pin_worker(2, environ=env) == "2,3" and env["CUDA_VISIBLE_DEVICES"] == "2,3"


def test_the_controller_refuses_a_worker_count_that_does_not_fit() -> None:
    with pytest.raises(GPUAssignmentError, match=r"worker gw2 needs GPUs 2\.\.2 .* only 2 are visible"):
        pin_worker(1, planned_workers=3, environ={"CUDA_VISIBLE_DEVICES": "0,1"})
