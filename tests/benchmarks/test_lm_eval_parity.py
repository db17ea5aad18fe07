"""Multiple choice: the plugin's acc and acc_norm equal those lm-evaluation-harness computes itself.

BBH (continuations scored after one prompt) and WinoGrande (partial scoring: one continuation
scored after each filled-in prompt).

lm-eval gets the same examples as a ``multiple_choice`` task built from a config dict (zero-shot
BBH prompt ``Q: {input}\\nA:``, continuations ``" " + choice``, choices from the task's labels
or the input's lettered options) and runs it through ``simple_evaluate`` on its HF backend with
the same SmolLM2 weights. Equal requests and equal fractions on three tasks show that
``load_bbh`` + ``llm.choose`` ask lm-eval's questions and score them by its acc (argmax
logprob) and acc_norm (argmax logprob per character) rules. Each request's own loglikelihood and
is-greedy flag are compared too, so the engine's scoring, not only the ranking, is lm-eval's.
The harness (lm-eval's HF backend on SmolLM2) is loaded once for the module.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_llmeval import LLM
from pytest_llmeval.benchmarks.bbh import load_bbh
from pytest_llmeval.benchmarks.standard import winogrande_cases
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.engine.types import LoglikelihoodRequest
from pytest_llmeval.suite import choice_requests

from ..helpers import DATA

PER_TASK = 10
TASKS: dict[str, list[str] | None] = {  # None: the lettered options (A)..(F) listed in each input
    "date_understanding": None,
    "sports_understanding": ["yes", "no"],
    "web_of_lies": ["Yes", "No"],
}


def _letters(doc: dict[str, str]) -> list[str]:
    return [f"({letter})" for letter in re.findall(r"^\(([A-Z])\) ", doc["input"], re.MULTILINE)]


def _task_config(name: str, labels: list[str] | None, tmp_path: Path) -> dict[str, Any]:
    examples = json.loads((DATA / "bbh" / f"{name}.json").read_text())["examples"][:PER_TASK]
    data = tmp_path / f"{name}.jsonl"
    data.write_text("".join(json.dumps(e) + "\n" for e in examples))
    return {
        "task": f"bbh_mc_{name}",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": str(tmp_path / "hf")},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": "Q: {{input}}\nA:",
        "doc_to_choice": labels if labels is not None else _letters,
        "doc_to_target": "target",
        "target_delimiter": " ",
        "num_fewshot": 0,
        "metric_list": [
            {"metric": m, "aggregation": "mean", "higher_is_better": True} for m in ("acc", "acc_norm")
        ],
    }


@pytest.fixture(scope="module")
def harness(smollm2_folder: Path) -> Iterator[Any]:
    """lm-eval's own HF backend on the same SmolLM2 weights."""
    from lm_eval.models.huggingface import HFLM

    yield HFLM(pretrained=str(smollm2_folder), dtype="float32", device="cpu", batch_size=16)


@pytest.mark.slow
def test_bbh_acc_and_acc_norm_match_lm_eval(
    smollm2: TransformersEngine, harness: Any, tmp_path: Path
) -> None:
    from lm_eval.evaluator import simple_evaluate
    from lm_eval.tasks import TaskManager

    evaluated = simple_evaluate(
        model=harness,
        tasks=[_task_config(name, labels, tmp_path) for name, labels in TASKS.items()],
        task_manager=TaskManager(include_defaults=False),
        bootstrap_iters=0,
        log_samples=True,
    )
    assert evaluated is not None
    llm = LLM(smollm2)
    for name in TASKS:
        cases = load_bbh(DATA / "bbh" / f"{name}.json", limit=PER_TASK)
        samples = sorted(evaluated["samples"][f"bbh_mc_{name}"], key=lambda s: s["doc_id"])
        assert len(samples) == len(cases) == PER_TASK
        # Same requests: lm-eval's (context, continuation) pairs are the plugin's prompt and " " + choice.
        for case, sample in zip(cases, samples, strict=True):
            assert case.prompt is not None and case.choices is not None
            assert [tuple(a) for a in sample["arguments"]] == [(case.prompt, " " + c) for c in case.choices]
            # Same scores: each continuation's loglikelihood and whether greedy decoding gives it.
            scored = smollm2.loglikelihood([LoglikelihoodRequest(case.prompt, " " + c) for c in case.choices])
            expected = [(float(r[0][0]), bool(r[0][1])) for r in sample["resps"]]
            worst = max(abs(o.logprob - e[0]) for o, e in zip(scored, expected, strict=True))
            assert worst < 1e-3, f"{case.id}: largest difference from lm-eval {worst}"
            assert [o.is_greedy for o in scored] == [e[1] for e in expected], case.id
        picks = [llm.choose(case) for case in cases]
        acc = [float(p.index == c.answer) for p, c in zip(picks, cases, strict=True)]
        acc_norm = [float(p.index_norm == c.answer) for p, c in zip(picks, cases, strict=True)]
        ours = (sum(acc) / len(acc), sum(acc_norm) / len(acc_norm))
        theirs = tuple(evaluated["results"][f"bbh_mc_{name}"][f"{m},none"] for m in ("acc", "acc_norm"))
        print(f"{name}: plugin acc, acc_norm = {ours} | lm-eval = {theirs}")
        differing = [
            c.id
            for c, s, a, n in zip(cases, samples, acc, acc_norm, strict=True)
            if (a, n) != (s["acc"], s["acc_norm"])
        ]
        assert abs(ours[0] - theirs[0]) < 1e-9, f"{name} acc differs on {differing}"
        assert abs(ours[1] - theirs[1]) < 1e-9, f"{name} acc_norm differs on {differing}"
        assert not differing, f"{name}: equal fractions but different questions right: {differing}"


# WinoGrande-format rows written for this test (the dataset itself is not available offline).
WINOGRANDE_ROWS = [
    {
        "sentence": "The trophy did not fit in the suitcase because the _ was too big.",
        "option1": "trophy",
        "option2": "suitcase",
        "answer": "1",
    },
    {
        "sentence": "The trophy did not fit in the suitcase because the _ was too small.",
        "option1": "trophy",
        "option2": "suitcase",
        "answer": "2",
    },
    {
        "sentence": "Anna poured water from the jug into the cup until the _ was full.",
        "option1": "jug",
        "option2": "cup",
        "answer": "2",
    },
    {
        "sentence": "Anna poured water from the jug into the cup until the _ was empty.",
        "option1": "jug",
        "option2": "cup",
        "answer": "1",
    },
    {
        "sentence": "The lawyer asked the witness a question, but the _ was reluctant to answer it.",
        "option1": "lawyer",
        "option2": "witness",
        "answer": "2",
    },
    {
        "sentence": "Tom could not lift the box onto the shelf because the _ was too heavy.",
        "option1": "box",
        "option2": "shelf",
        "answer": "1",
    },
    {
        "sentence": "The sculpture rolled off the shelf because the _ was not level.",
        "option1": "sculpture",
        "option2": "shelf",
        "answer": "2",
    },
    {
        "sentence": "Maria taught Sam to cook, so _ now makes dinner every night.",
        "option1": "Maria",
        "option2": "Sam",
        "answer": "2",
    },
]


@pytest.mark.slow
def test_winogrande_partial_scoring_matches_lm_eval(
    smollm2: TransformersEngine, harness: Any, tmp_path: Path
) -> None:
    from lm_eval.evaluator import simple_evaluate
    from lm_eval.tasks import TaskManager

    spec = importlib.util.find_spec("lm_eval")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent / "tasks" / "winogrande" / "preprocess_winogrande.py"
    module_spec = importlib.util.spec_from_file_location("preprocess_winogrande", source)
    assert module_spec is not None and module_spec.loader is not None
    preprocess = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(preprocess)
    data = tmp_path / "winogrande.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in WINOGRANDE_ROWS))
    config = {  # winogrande/default.yaml with its !function hooks, on this file
        "task": "winogrande_local",
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(data)}, "cache_dir": str(tmp_path / "hf")},
        "test_split": "test",
        "output_type": "multiple_choice",
        "doc_to_text": preprocess.doc_to_text,
        "doc_to_target": preprocess.doc_to_target,
        "doc_to_choice": preprocess.doc_to_choice,
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
    }
    evaluated = simple_evaluate(
        model=harness,
        tasks=[config],
        task_manager=TaskManager(include_defaults=False),
        bootstrap_iters=0,
        log_samples=True,
    )
    assert evaluated is not None
    samples = sorted(evaluated["samples"]["winogrande_local"], key=lambda s: s["doc_id"])
    cases = winogrande_cases(WINOGRANDE_ROWS)
    llm = LLM(smollm2)
    for case, sample in zip(cases, samples, strict=True):
        assert [tuple(a) for a in sample["arguments"]] == [
            (r.context, r.continuation) for r in choice_requests(case)
        ]
        assert float(llm.choose(case).index == case.answer) == sample["acc"], case.id
    theirs = evaluated["results"]["winogrande_local"]["acc,none"]
    ours = sum(llm.choose(c).index == c.answer for c in cases) / len(cases)
    print(f"winogrande (8 hand-written rows): plugin acc {ours} | lm-eval {theirs}")
    assert ours == theirs
