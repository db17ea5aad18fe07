"""The response cache: what is stored, what is never stored, and what survives damage."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from pytest_llmeval.engine.cache import CachedEngine, CacheWarning
from pytest_llmeval.engine.transformers import TransformersEngine
from pytest_llmeval.engine.types import (
    Completion,
    EngineError,
    EngineInfo,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
)


class CountingEngine:
    """Every answer carries a serial number, so a repeated answer shows it came from a cache."""

    def __init__(self, model: str = "m") -> None:
        self.model = model
        self.calls: list[int] = []  # batch sizes
        self.serial = 0

    @property
    def info(self) -> EngineInfo:
        return EngineInfo("counting", self.model, "h", "float32", "cpu", "t", "c", 128)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.calls.append(len(requests))
        results = []
        for r in requests:
            self.serial += 1
            results.append(GenerationResult((Completion(f"{r.prompt}:{self.serial}", "stop", 1),), 1))
        return results

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        self.calls.append(len(requests))
        return [LoglikelihoodResult(-float(len(r.continuation)), True, 1) for r in requests]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        self.calls.append(len(texts))
        return [RollingResult(-1.0, 1, 1, 1) for _ in texts]

    def close(self) -> None:
        pass


GREEDY = GenerationSpec(max_tokens=4)
SEEDED = GenerationSpec(max_tokens=4, temperature=1.0, seed=7)
UNSEEDED = GenerationSpec(max_tokens=4, temperature=1.0)


def ask(prompt: str, spec: GenerationSpec = GREEDY) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, spec=spec)


def test_only_misses_reach_the_engine_in_one_batch(tmp_path: Path) -> None:
    inner = CountingEngine()
    cached = CachedEngine(inner, tmp_path)
    first = cached.generate([ask("a"), ask("b")])
    second = cached.generate([ask("a"), ask("c"), ask("b"), ask("c")])
    assert inner.calls == [2, 1]  # only "c", once, though asked twice
    assert [r.text for r in second] == ["a:1", "c:3", "b:2", "c:3"]
    assert [r.text for r in first] == ["a:1", "b:2"]


def test_entries_survive_the_session_and_follow_the_fingerprint(tmp_path: Path) -> None:
    CachedEngine(CountingEngine(), tmp_path).generate([ask("a"), ask("s", SEEDED)])
    again = CountingEngine()
    texts = [r.text for r in CachedEngine(again, tmp_path).generate([ask("a"), ask("s", SEEDED)])]
    assert texts == ["a:1", "s:2"] and again.calls == []
    other_model = CountingEngine(model="tuned")
    assert CachedEngine(other_model, tmp_path).generate([ask("a")])[0].text == "a:1"
    assert other_model.calls == [1]  # same prompt, other fingerprint: computed anew
    assert (
        CachedEngine(CountingEngine(), tmp_path).generate([ask("a", GenerationSpec(max_tokens=5))])[0].text
        == "a:1"
    )  # another spec is another request


def test_answers_computed_in_this_run_carry_their_timing_and_stored_ones_do_not(tmp_path: Path) -> None:
    computed = CachedEngine(CountingEngine(), tmp_path).generate([ask("a"), ask("b")])
    timings = [r.timing for r in computed]
    assert timings[0] is not None and timings[0] == timings[1]  # one engine call answered both
    assert timings[0].batch_size == 2 and timings[0].seconds >= 0.0
    assert "timing" not in next(tmp_path.rglob("*.json")).read_text()  # the disk keeps the answer only
    stored = CachedEngine(CountingEngine(), tmp_path).generate([ask("a")])[0]
    assert stored.text == "a:1" and stored.timing is None


def test_unseeded_samples_are_never_reused(tmp_path: Path) -> None:
    inner = CountingEngine()
    cached = CachedEngine(inner, tmp_path)
    one, two = cached.generate([ask("s", UNSEEDED), ask("s", UNSEEDED)])
    assert one.text != two.text  # two independent draws, not one answer twice
    assert cached.generate([ask("s", UNSEEDED)])[0].text == "s:3"
    assert not list(tmp_path.rglob("*.json"))


def test_prefetched_unseeded_samples_are_handed_out_once(tmp_path: Path) -> None:
    cached = CachedEngine(CountingEngine(), None)
    cached.prefetch([ask("s", UNSEEDED)])
    assert cached.generate([ask("s", UNSEEDED)])[0].text == "s:1"  # the pre-generated draw
    assert cached.generate([ask("s", UNSEEDED)])[0].text == "s:2"  # a fresh one after that


def test_no_cache_directory_keeps_memory_only(tmp_path: Path) -> None:
    inner = CountingEngine()
    cached = CachedEngine(inner, None)
    cached.generate([ask("a")])
    cached.generate([ask("a")])
    assert inner.calls == [1] and cached.stats.memory_hits == 1
    assert not list(tmp_path.iterdir())


def test_a_corrupt_entry_is_ignored_with_a_warning_and_rebuilt(tmp_path: Path) -> None:
    CachedEngine(CountingEngine(), tmp_path).generate([ask("a")])
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text('{"schema": 1, "result": {"completions": [')  # a torn write from another tool
    inner = CountingEngine()
    with pytest.warns(CacheWarning, match=r"ignoring unreadable cache entry .*\.json .*rebuilt"):
        assert CachedEngine(inner, tmp_path).generate([ask("a")])[0].text == "a:1"
    assert inner.calls == [1]
    assert json.loads(entry.read_text())["result"]["completions"][0]["text"] == "a:1"  # rebuilt


GOOD = {"completions": [{"text": "x", "finish_reason": "stop", "completion_tokens": 1}], "prompt_tokens": 1}


@pytest.mark.parametrize(
    "damage",
    [
        "null",
        "[1, 2]",
        '"x"',
        "[" * 100_000 + "]" * 100_000,  # deeper than the JSON parser recurses
        json.dumps({"schema": 1, "result": None}),
        json.dumps({"schema": 1, "result": {**GOOD, "completions": [{**GOOD["completions"][0], "text": 5}]}}),
        json.dumps({"schema": 1, "result": {**GOOD, "completions": []}}),
        json.dumps(
            {"schema": 1, "result": {**GOOD, "completions": [{**GOOD["completions"][0], "text": None}]}}
        ),
        json.dumps({"schema": 1, "result": {**GOOD, "prompt_tokens": "1"}}),
        json.dumps({"schema": 1, "result": {**GOOD, "extra": 1}}),
    ],
    ids=[
        "null",
        "list",
        "string",
        "deep",
        "no-result",
        "text-5",
        "no-choice",
        "text-null",
        "str-count",
        "extra",
    ],
)
def test_a_damaged_entry_is_a_warning_and_recomputed(tmp_path: Path, damage: str) -> None:
    CachedEngine(CountingEngine(), tmp_path).generate([ask("a")])
    (entry,) = tmp_path.rglob("*.json")
    entry.write_text(damage)
    inner = CountingEngine()
    with pytest.warns(CacheWarning, match=r"ignoring unreadable cache entry"):
        assert CachedEngine(inner, tmp_path).generate([ask("a")])[0].text == "a:1"
    assert inner.calls == [1]
    assert json.loads(entry.read_text())["result"]["completions"][0]["text"] == "a:1"


def test_an_entry_with_the_wrong_number_of_samples_is_recomputed(tmp_path: Path) -> None:
    spec = GenerationSpec(max_tokens=4, temperature=1.0, seed=7, n=2)
    CachedEngine(CountingEngine(), tmp_path).generate([ask("a", spec)])
    (entry,) = tmp_path.rglob("*.json")
    data = json.loads(entry.read_text())
    data["result"]["completions"] = data["result"]["completions"][:1]
    entry.write_text(json.dumps(data))
    inner = CountingEngine()
    [result] = CachedEngine(inner, tmp_path).generate([ask("a", spec)])
    assert inner.calls == [1] and len(result.completions) >= 1


def test_folders_and_files_in_the_wrong_places_never_crash(tmp_path: Path) -> None:
    CachedEngine(CountingEngine(), tmp_path).generate([ask("a")])
    (entry,) = tmp_path.rglob("*.json")
    entry.unlink()
    entry.mkdir()  # a folder where the entry should be
    inner = CountingEngine()
    with pytest.warns(CacheWarning, match=r"ignoring unreadable cache entry .*Is a directory"):
        assert CachedEngine(inner, tmp_path).generate([ask("a")])[0].text == "a:1"
    assert entry.is_file() and inner.calls == [1]
    # A file where a shard folder should be, and a cache path that is a file: the run goes on uncached.
    for cache in (tmp_path / "other", tmp_path / "a-file"):
        shard = cache / entry.parent.name if cache.name == "other" else cache
        shard.parent.mkdir(parents=True, exist_ok=True)
        shard.write_text("not a folder")
        with pytest.warns(CacheWarning, match=r"cannot write the response cache .*answers are not stored"):
            assert CachedEngine(CountingEngine(), cache).generate([ask("a"), ask("b")])[0].text == "a:1"


def test_loglikelihoods_and_rolling_are_cached(tmp_path: Path) -> None:
    inner = CountingEngine()
    cached = CachedEngine(inner, tmp_path)
    pairs = [LoglikelihoodRequest("ctx", " yes"), LoglikelihoodRequest("ctx", " no")]
    assert cached.loglikelihood(pairs) == CachedEngine(inner, tmp_path).loglikelihood(pairs)
    cached.loglikelihood_rolling(["text"])
    CachedEngine(inner, tmp_path).loglikelihood_rolling(["text"])
    assert inner.calls == [2, 1]


class Loader:
    """Counts how often the model is loaded, and can fail like a model whose files went bad."""

    def __init__(self, fails: bool = False) -> None:
        self.loads = 0
        self.fails = fails
        self.engine = CountingEngine()

    def __call__(self) -> CountingEngine:
        self.loads += 1
        if self.fails:
            raise ModelLoadError("weights are gone")
        return self.engine


def test_a_rerun_answered_from_the_cache_never_loads_the_model(tmp_path: Path) -> None:
    first = Loader()
    cold = CachedEngine.lazy(first, tmp_path, identity="files-and-settings")
    assert first.loads == 1  # nothing is known about this identity yet: load to learn the fingerprint
    answer = cold.generate([ask("a")])[0].text
    warm_loader = Loader()
    warm = CachedEngine.lazy(warm_loader, tmp_path, identity="files-and-settings")
    assert warm.info == cold.info and warm.generate([ask("a")])[0].text == answer
    assert warm_loader.loads == 0 and not warm.loaded
    assert warm.generate([ask("b")])[0].text == "b:1"  # a miss loads the model, once
    warm.generate([ask("c")])
    assert warm_loader.loads == 1 and warm.loaded
    assert CachedEngine.lazy(Loader(), tmp_path, identity="other files").loaded


def test_a_model_that_fails_to_load_late_fails_each_request_without_retrying(tmp_path: Path) -> None:
    CachedEngine.lazy(Loader(), tmp_path, identity="id")
    broken = Loader(fails=True)
    warm = CachedEngine.lazy(broken, tmp_path, identity="id")
    for _ in range(2):
        with pytest.raises(ModelLoadError, match="weights are gone"):
            warm.generate([ask("new")])
    assert broken.loads == 1


def test_a_changed_fingerprint_behind_the_same_identity_is_caught_on_load(tmp_path: Path) -> None:
    CachedEngine.lazy(Loader(), tmp_path, identity="id")
    changed = Loader()
    changed.engine.model = "retrained"  # same identity, yet another fingerprint: must never happen silently
    warm = CachedEngine.lazy(changed, tmp_path, identity="id")
    with pytest.warns(CacheWarning, match="fingerprint differs"):
        warm.generate([ask("x")])
    assert warm.info.model == "retrained"
    assert CachedEngine.lazy(Loader(), tmp_path, identity="id").info.model == "retrained"


@pytest.mark.slow
def test_a_real_engine_gives_the_same_answers_cold_and_warm(tiny: TransformersEngine, tmp_path: Path) -> None:
    requests = [ask(p, GenerationSpec(max_tokens=6)) for p in ("Hello", "The sky is", "1, 2, 3,")]
    cold = CachedEngine(tiny, tmp_path).generate(requests)
    warm_engine = CachedEngine(tiny, tmp_path)
    warm = warm_engine.generate(requests)
    assert warm == cold and warm_engine.stats.disk_hits == 3 and warm_engine.stats.misses == 0


def test_answers_of_a_retired_computation_are_never_served(tmp_path: Path) -> None:
    """Loglikelihoods, perplexities and seeded samples stored under the key of the version that
    could depend on batch mates are recomputed; greedy generations stored then are still found."""
    engine = CountingEngine()
    cached = CachedEngine(engine, tmp_path)
    fingerprint = engine.info.fingerprint()
    request = LoglikelihoodRequest("Q", " a")
    asked: list[tuple[str, object, dict[str, object]]] = [
        (
            "loglikelihood",
            request,
            {"logprob": -99.0, "is_greedy": False, "num_tokens": 1, "truncated_tokens": 0},
        ),
        ("rolling", "some text", {"logprob": -99.0, "num_tokens": 1, "num_words": 1, "num_bytes": 1}),
        (
            "generate",
            GenerationRequest(prompt="s", spec=SEEDED),
            {
                "completions": [{"text": "old", "finish_reason": "stop", "completion_tokens": 1}],
                "prompt_tokens": 1,
            },
        ),
        (
            "generate",
            GenerationRequest(prompt="g", spec=GREEDY),
            {
                "completions": [{"text": "kept", "finish_reason": "stop", "completion_tokens": 1}],
                "prompt_tokens": 1,
            },
        ),
    ]
    for kind, item, result in asked:
        canonical = item if isinstance(item, str) else dataclasses.asdict(item)
        payload = {"fingerprint": fingerprint, "kind": kind, "request": canonical}  # the version-1 key
        key = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        path = tmp_path / key[:2] / f"{key}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"schema": 1, "result": result}))
    assert cached.loglikelihood([request])[0].logprob == -2.0
    assert cached.loglikelihood_rolling(["some text"])[0].logprob == -1.0
    assert cached.generate([GenerationRequest(prompt="s", spec=SEEDED)])[0].text != "old"
    assert cached.generate([GenerationRequest(prompt="g", spec=GREEDY)])[0].text == "kept"


class LongEngine(CountingEngine):
    """Answers each prompt with a text of the length the prompt names: "300" -> 300 characters."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        self.calls.append(len(requests))
        return [
            GenerationResult(
                tuple(Completion(_long_text(r.prompt or "", i), "stop", 1) for i in range(r.spec.n)), 1
            )
            for r in requests
        ]


def _long_text(prompt: str, sample: int) -> str:
    size = int(prompt.split()[0])
    return "".join(chr(0x61 + (j * 7 + sample) % 26) for j in range(size))


def test_an_answer_over_the_cap_is_cut_before_it_is_stored(tmp_path: Path) -> None:
    inner = LongEngine()
    (result,) = CachedEngine(inner, tmp_path, max_answer_chars=100).generate([ask("5000 a")])
    (completion,) = result.completions
    assert completion.text == _long_text("5000", 0)[:100]
    assert (completion.finish_reason, completion.cut_from) == ("length", 5000)
    stored = [p.stat().st_size for p in tmp_path.rglob("*.json") if "engines" not in p.parts]
    assert len(stored) == 1 and stored[0] < 1000  # the cut text, not the whole
    whole = CachedEngine(LongEngine(), tmp_path / "other", max_answer_chars=0).generate([ask("5000 a")])
    assert whole[0].text == _long_text("5000", 0) and whole[0].completions[0].cut_from is None


def test_answers_match_a_plain_cut_whatever_caps_earlier_runs_stored_them_under(tmp_path: Path) -> None:
    """Differential: a sequence of runs with random caps on one cache directory, each answer
    against the plain computation (the engine's whole text cut to this run's cap). A lowered cap
    cuts stored answers further; a raised one asks the engine again for answers stored cut."""
    rng = random.Random(3)
    prompts = [f"{rng.choice([5, 90, 100, 101, 250, 3000])} p{i}" for i in range(12)]
    for _ in range(30):
        cap = rng.choice([0, 1, 50, 100, 101, 250, 4000])
        asked = rng.sample(prompts, 5)
        spec = rng.choice([GREEDY, dataclasses.replace(SEEDED, n=2)])
        results = CachedEngine(LongEngine(), tmp_path, max_answer_chars=cap).generate(
            [ask(p, spec) for p in asked]
        )
        for prompt, result in zip(asked, results, strict=True):
            assert len(result.completions) == spec.n
            for sample, completion in enumerate(result.completions):
                whole = _long_text(prompt, sample)
                cut = cap and len(whole) > cap
                assert completion.text == (whole[:cap] if cut else whole), (prompt, cap)
                assert completion.cut_from == (len(whole) if cut else None)
                assert completion.finish_reason == ("length" if cut else "stop")


class HalfDoneEngine(LongEngine):
    """Answers the requests at even positions, then fails the batch as a dead server would,
    attaching what it finished (as the openai backend does)."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        answered = super().generate(requests)
        error = EngineError("POST /completions: gave up after 2 attempts")
        error.llmeval_finished = {i: r for i, r in enumerate(answered) if i % 2 == 0}  # type: ignore[attr-defined]
        raise error


def test_what_a_failed_batch_finished_is_kept_and_not_asked_again(tmp_path: Path) -> None:
    prompts = [f"{n} p{i}" for i, n in enumerate([10, 300, 20, 30, 400])]
    with pytest.raises(EngineError, match="gave up"):
        CachedEngine(HalfDoneEngine(), tmp_path, max_answer_chars=250).generate([ask(p) for p in prompts])
    inner = LongEngine()
    results = CachedEngine(inner, tmp_path, max_answer_chars=250).generate([ask(p) for p in prompts])
    assert inner.calls == [2]  # positions 1 and 3 only
    plain = CachedEngine(LongEngine(), None, max_answer_chars=250).generate([ask(p) for p in prompts])
    assert [r.completions for r in results] == [r.completions for r in plain]  # stored cut like the rest


class InterruptedEngine(CountingEngine):
    """Ctrl-C arrives inside the engine, whose repr (like vLLM's LLM after Ctrl-C) never returns."""

    def __repr__(self) -> str:
        raise AssertionError("the engine's repr was asked for")

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        raise KeyboardInterrupt


def test_ctrl_c_inside_an_engine_is_raised_without_the_engines_frames(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt) as raised:
        CachedEngine(InterruptedEngine(), tmp_path).generate([ask("a")])
    # What pytest prints for a KeyboardInterrupt: every frame with its arguments' reprs.
    shown = str(raised.getrepr(funcargs=True))
    assert "KeyboardInterrupt" in shown and "cache.py" in shown
    assert "raised in repr()" not in shown and "raise KeyboardInterrupt\n" not in shown
    assert raised.value.__suppress_context__


def test_answers_stored_before_the_stop_and_bos_fixes_are_never_served(tmp_path: Path) -> None:
    """Greedy generations with stop strings (transformers matched them across the prompt's end)
    and version-2 perplexities (BOS scored after BOS) are recomputed; a greedy one without stop
    strings stored then is still found."""
    engine = CountingEngine()
    cached = CachedEngine(engine, tmp_path)
    fingerprint = engine.info.fingerprint()
    stopped = GenerationRequest(prompt="t", spec=dataclasses.replace(GREEDY, stop=("\n\n",)))
    old = {
        "completions": [{"text": "\n", "finish_reason": "length", "completion_tokens": 1}],
        "prompt_tokens": 1,
    }
    stored = [
        ({"kind": "generate", "request": dataclasses.asdict(stopped)}, old),
        (
            {"kind": "rolling", "request": "some text", "version": 2},
            {"logprob": -99.0, "num_tokens": 1, "num_words": 1, "num_bytes": 1},
        ),
    ]
    for payload, result in stored:
        key = hashlib.sha256(
            json.dumps({"fingerprint": fingerprint, **payload}, sort_keys=True).encode()
        ).hexdigest()
        (tmp_path / key[:2]).mkdir(parents=True, exist_ok=True)
        (tmp_path / key[:2] / f"{key}.json").write_text(json.dumps({"schema": 1, "result": result}))
    assert cached.generate([stopped])[0].text != "\n"
    assert cached.loglikelihood_rolling(["some text"])[0].logprob == -1.0
    assert cached.stats.misses == 2
