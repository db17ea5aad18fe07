"""Pre-generation: answer a run's suite cases ahead, in large batches, before they run one by one."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence

import pytest

from .cases import Case
from .engine import ModelLoadError
from .engine.cache import CachedEngine
from .engine.types import GenerationRequest, GenerationSpec, LoglikelihoodRequest, ServerUnavailable
from .engine_pool import EnginePool
from .items import case_key, prefetched_key, side_key, suite_cases
from .progress import PrefetchProgress
from .settings import Settings
from .sides import MODEL, REFERENCE
from .suite import SuiteError, SuiteSpec, case_text, choice_requests, generation_request, wants_perplexity
from .xdist import queued_behind

Advance = Callable[[int, int], None]  # (cases just answered, tokens just generated)


def prefetch(
    pool: EnginePool,
    cases: Sequence[tuple[SuiteSpec, Case]],
    advance: Advance = lambda cases, tokens: None,
    settings: Settings | None = None,
) -> str | None:
    """Answer every selected suite case ahead, in large batches, before the first one runs.

    Generation is grouped by the suites' generation settings; multiple-choice cases are
    scored by loglikelihood, and the texts of perplexity suites by rolling loglikelihood.
    ``settings`` picks the model (default: the run's); ``advance`` hears of every finished
    chunk. Returns a one-line account, or None when there is no model.
    """
    settings = settings or pool.settings
    if not cases or (settings.model is None and settings.base_url is None):
        return None
    try:
        engine = pool.llm(settings).engine
    except ModelLoadError:
        return None  # the llm fixture reports it, once, when the first test asks
    assert isinstance(engine, CachedEngine)
    started = time.perf_counter()
    before = engine.stats.misses
    generation: dict[GenerationSpec, list[GenerationRequest]] = defaultdict(list)
    choices: list[list[LoglikelihoodRequest]] = []
    texts: list[str] = []
    for spec, case in cases:
        if case.choices is not None:
            try:
                choices.append(choice_requests(case))
            except SuiteError:
                continue  # e.g. choices with messages: the case fails with this when it runs
        elif wants_perplexity(spec):
            if case.prompt is not None:
                texts.append(case_text(case))
        else:
            generation[spec.generation].append(generation_request(case, spec.generation))
    # Chunks of whole cases keep the progress moving and put each chunk's answers into the
    # cache as soon as it is done, so an interrupted run keeps them. Prompts are sorted by
    # length first, so a chunk is what one big call would have batched together anyway.
    step = max(64, len(cases) // 20)
    try:
        for requests in generation.values():
            requests.sort(key=_prompt_size)
            for start in range(0, len(requests), step):
                results = engine.prefetch(requests[start : start + step])
                fresh = [r for r in results if r.timing is not None]
                advance(len(results), sum(c.completion_tokens for r in fresh for c in r.completions))
        for start in range(0, len(choices), step):
            chunk_cases = choices[start : start + step]
            engine.loglikelihood([r for case_requests in chunk_cases for r in case_requests])
            advance(len(chunk_cases), 0)
        for start in range(0, len(texts), step):
            engine.loglikelihood_rolling(texts[start : start + step])
            advance(len(texts[start : start + step]), 0)
    except ServerUnavailable as exc:
        # Every case that still needs an answer fails at once with this, rather than each
        # waiting through the retries again; what finished is in the cache.
        engine.broken = exc
        return f"llmeval: {engine.info.backend} backend: {exc}"
    except Exception as exc:  # one bad request (too long, not encodable, refused) spoils a batch
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return (
            f"llmeval: pre-generation stopped ({type(exc).__name__}: {first[:300]}); the cases not "
            "answered yet ask one by one, so only the one at fault fails"
        )
    computed = engine.stats.misses - before
    seconds = time.perf_counter() - started
    kinds = f"{sum(map(len, generation.values()))} generations, {len(choices)} multiple choice"
    if texts:
        kinds += f", {len(texts)} perplexity"
    return (
        f"llmeval: pre-generated {len(cases)} cases ({kinds}) in {seconds:.1f} s; "
        f"{computed} requests computed, the rest from the cache"
    )


def prefetch_session(session: pytest.Session, pool: EnginePool) -> None:
    """Before the first test of a run without xdist workers (a worker does its own, see
    :func:`prefetch_worker_queue`): pre-generate every collected suite case, with a progress
    line, then one line of account per model."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for side in (MODEL, REFERENCE):
        cases = suite_cases(session.items, side)
        write = (lambda text: reporter.write(text, flush=True)) if reporter else (lambda text: None)
        # Without a reporter there is nowhere to write: "terminal" then starts no logging thread.
        terminal = reporter.isatty() if reporter else True
        with PrefetchProgress(write, len(cases), terminal=terminal) as progress:
            note = prefetch(pool, cases, progress.advance, pool.side_settings(side))
        if note and reporter is not None:
            reporter.write_line(note if side == MODEL else note.replace("llmeval:", "llmeval: reference:", 1))


def prefetch_worker_queue(item: pytest.Item, pool: EnginePool) -> None:
    """On an xdist worker: pre-generate this case and every suite case queued behind it.

    A worker learns its tests from the controller while the run goes on, so it cannot pre-generate
    at the start; instead, the first case it has no answer for triggers one batch over the cases
    queued for it. Only what this worker will run is generated.
    """
    queued = [item, *queued_behind(item)]
    pending = [q for q in queued if case_key in q.stash and not q.stash.get(prefetched_key, False)]
    # Work stealing takes the back half of a busy worker's queue, so only the front half (or 64
    # cases, a full engine batch) is generated now: stolen cases are then rarely generated twice.
    pending = pending[: max(64, len(pending) // 2)]
    for other in pending:
        other.stash[prefetched_key] = True
    for side in (MODEL, REFERENCE):
        cases = [q.stash[case_key] for q in pending if q.stash[side_key] == side]
        prefetch(pool, cases, settings=pool.side_settings(side))


def _prompt_size(request: GenerationRequest) -> int:
    if request.messages is not None:
        return sum(len(m["content"]) for m in request.messages)
    return len(request.prompt or "")
