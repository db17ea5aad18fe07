"""Our loglikelihoods against lm-evaluation-harness's HF backend on real BBH multiple-choice requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmeval.engine.transformers import TransformersEngine

from ..helpers import bbh_requests


@pytest.mark.slow
def test_matches_lm_eval_hf_backend_on_bbh(smollm2: TransformersEngine, smollm2_folder: Path) -> None:
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    requests = bbh_requests(per_task=4)  # 7 tasks: 76 requests
    assert len(requests) >= 70
    harness = HFLM(pretrained=str(smollm2_folder), dtype="float32", device="cpu", batch_size=16)
    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=(r.context, r.continuation), idx=i)
        for i, r in enumerate(requests)
    ]
    expected = harness.loglikelihood(instances, disable_tqdm=True)
    ours = smollm2.loglikelihood(requests)
    worst = max(abs(o.logprob - e[0]) for o, e in zip(ours, expected, strict=True))
    assert worst < 1e-3, f"largest difference from lm-eval: {worst}"
    assert [o.is_greedy for o in ours] == [bool(e[1]) for e in expected]
