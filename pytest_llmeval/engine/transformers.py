"""The embedded default backend: a transformers causal LM on CPU or GPU, in this process.

Loglikelihoods follow lm-evaluation-harness exactly (tokenization of the pair, empty contexts,
left truncation) but compute them faster. The requests' token sequences become one prefix tree,
so every token shared by several sequences (a context with several continuations, an
instruction or few-shot preamble that many questions start with) runs once; a tree-shaped
attention mask lets each token see exactly its own sequence's earlier tokens. Short trees are
packed into shared batch rows instead of padded ones, and logits and log-softmax are computed
only where a continuation token is scored.

Structured output (a request's ``json_schema``) masks each generated row to what its JSON
Schema grammar allows next; constrained.py compiles and applies the grammars.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .constrained import Grammars
from .model_files import apply_lora, default_cache_root, resolve_lora, resolve_model
from .prefix_tree import Scored, Trie, Unit, cut_units
from .threads import cpu_threads
from .tokens import TokenRules, model_max_length, rolling_loglikelihood
from .types import (
    Completion,
    EngineError,
    EngineInfo,
    FinishReason,
    GenerationRequest,
    GenerationResult,
    GenerationSpec,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    ModelLoadError,
    RollingResult,
)

if TYPE_CHECKING:
    import torch

_MAX_ROWS = 64  # generation: beyond this, CPU matmuls stop getting faster per row and padding grows
# Cap on the float32 logits one forward call returns (rows x kept positions x vocab); scoring holds
# at most about three times this (the logits, the scored rows in float32, their log-softmax). Longer
# stretches of scored positions run in several calls over a KV cache.
_LOGITS_BUDGET_BYTES = 1 << 28
# Loglikelihood rows are packed at least this wide, so short sequences share a row instead of each
# taking a padded one.
_PACK_WIDTH = 128
# A lone sequence at least this long (no shared tokens) gets rows of its own and no custom mask:
# attention then runs as plain causal attention, which at this length is about half the work of
# the masked kernel.
_ALONE_LENGTH = 1024


class TransformersEngine:
    """A causal LM loaded with transformers. Create it once per session: loading is the slow part."""

    def __init__(
        self,
        model: str,
        *,
        dtype: str = "auto",
        device: str = "auto",
        max_batch_tokens: int = 8192,
        max_length: int | None = None,
        cache_root: Path | None = None,
        lora: str | None = None,
        max_logits_bytes: int = _LOGITS_BUDGET_BYTES,
        threads: int | None = None,
    ) -> None:
        # Path problems are found before torch is imported: a typo costs milliseconds, not seconds.
        source = resolve_model(model, cache_root or default_cache_root())
        adapter = resolve_lora(lora, cache_root or default_cache_root()) if lora else None
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self._torch = torch
        self._device = _resolve_device(device)
        if self._device.type == "cpu":
            torch.set_num_threads(threads or cpu_threads())
        self._dtype = _resolve_dtype(dtype, self._device)
        self._max_batch_tokens = max_batch_tokens
        self._max_logits_bytes = max_logits_bytes
        try:
            # Typed as Any: the engine works with every tokenizer and causal LM class alike.
            self._tokenizer: Any = cast(Any, AutoTokenizer.from_pretrained(source.load_path))
            self._model: Any = cast(
                Any, AutoModelForCausalLM.from_pretrained(source.load_path, dtype=self._dtype)
            )
        except Exception as exc:
            where = (
                "folder"
                if source.is_local
                else "hub id (is the hub reachable, or is this a typo for a path?)"
            )
            raise ModelLoadError(f"could not load model {model!r} as a transformers {where}: {exc}") from exc
        if adapter is not None:
            self._model = apply_lora(self._model, adapter)
        self._model.to(self._device)
        self._model.eval()

        tok = self._tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token  # decoder-only models often ship without one
        # Replace the checkpoint's sampling defaults (top_k, repetition penalties...) with a neutral
        # config: only the GenerationSpec decides decoding. Its end-of-turn tokens are kept.
        own = self._model.generation_config
        self._model.generation_config = GenerationConfig(
            bos_token_id=own.bos_token_id, eos_token_id=own.eos_token_id, pad_token_id=tok.pad_token_id
        )
        eos = own.eos_token_id if own.eos_token_id is not None else tok.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.rules = TokenRules(tok)
        self._max_length = max_length or model_max_length(self._model.config, tok)
        self._vocab_size = int(self._model.config.vocab_size)
        # Shared prefixes and packing need a custom 4D mask, which only these implementations take
        # as given; any other scores each sequence alone, with the model's own masks.
        self._attention = str(getattr(self._model.config, "_attn_implementation", None))
        self._window = _sliding_window(self._model.config)

        tokenizer_hash, template_hash = self.rules.fingerprint()
        self._info = EngineInfo(
            backend="transformers",
            model=model,
            weights_hash=source.weights_hash,
            dtype=str(self._dtype).removeprefix("torch."),
            device=str(self._device),
            tokenizer_hash=tokenizer_hash,
            chat_template_hash=template_hash,
            max_length=self._max_length,
            lora=adapter.identity if adapter else None,
            versions={"torch": torch.__version__, "transformers": transformers.__version__},
            structured_output=True,
            logprobs=True,
        )
        # JSON Schema grammars for structured output, compiled on first use and kept by schema.
        self._grammars = Grammars(tok, self._vocab_size, sorted(self._eos_ids), torch.get_num_threads())

    @property
    def info(self) -> EngineInfo:
        return self._info

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def close(self) -> None:
        self._model = None
        if self._device.type == "cuda":
            self._torch.cuda.empty_cache()

    # ----- generation -----

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        # Every schema is checked and compiled before anything runs: a bad one fails the call at once.
        for schema in {r.spec.json_schema for r in requests if r.spec.json_schema is not None}:
            self._grammars.get(schema)
        encoded = [self.rules.render(r, self._max_length, self._info.model) for r in requests]
        results: list[GenerationResult | None] = [None] * len(requests)
        by_spec: dict[GenerationSpec, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            by_spec[request.spec].append(index)
        for spec, indices in by_spec.items():
            for limit, batch in self._generation_batches(spec, indices, encoded):
                prompts = [encoded[i] for i in batch]
                for i, result in zip(batch, self._generate_batch(prompts, spec, limit), strict=True):
                    results[i] = result
        return [r for r in results if r is not None]

    def _generation_batches(
        self, spec: GenerationSpec, indices: list[int], encoded: list[list[int]]
    ) -> Iterator[tuple[int, list[int]]]:
        """Batches of request indices, each with the number of new tokens its rows may take.

        A prompt near the model's maximum length may take fewer than ``max_tokens``; it is batched
        only with prompts of the same limit, so a long batch mate never shortens an answer.
        """
        limits: dict[int, list[int]] = defaultdict(list)
        for i in indices:
            limits[min(spec.max_tokens, self._max_length - len(encoded[i]))].append(i)
        for limit, group in limits.items():
            ordered = sorted(group, key=lambda i: -len(encoded[i]))  # longest first: padding stays small
            batch: list[int] = []
            for i in ordered:
                width = len(encoded[batch[0]] if batch else encoded[i]) + limit
                if batch and (
                    (len(batch) + 1) * spec.n * width > self._max_batch_tokens
                    or (len(batch) + 1) * spec.n > _MAX_ROWS
                ):
                    yield limit, batch
                    batch = []
                batch.append(i)
            if batch:
                yield limit, batch

    def _generate_batch(
        self, prompts: list[list[int]], spec: GenerationSpec, limit: int
    ) -> list[GenerationResult]:
        torch = self._torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        from .sampling import RowSampler, row_seed
        from .stopping import GeneratedStopStrings

        # Each sample is its own row (request-major), so sampling needs no num_return_sequences.
        rows = [(prompt, j) for prompt in prompts for j in range(spec.n)]
        width = max(len(p) for p in prompts)
        pad = self._tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p, _ in rows], device=self._device)
        attention = torch.tensor(
            [[0] * (width - len(p)) + [1] * len(p) for p, _ in rows], device=self._device
        )
        # Decoding is greedy; a sampled spec draws each token in RowSampler, with a generator per row.
        processors = LogitsProcessorList()
        if spec.json_schema is not None:  # masks first: the sampler then draws among allowed tokens
            processors.append(self._grammars.mask(spec.json_schema, len(rows), width))
        if not spec.greedy:
            seeds = [row_seed(spec.seed, p, j) for p, j in rows]
            processors.append(RowSampler(seeds, spec.temperature, spec.top_p))
        config = GenerationConfig(
            max_new_tokens=limit, do_sample=False, pad_token_id=pad, eos_token_id=sorted(self._eos_ids)
        )
        stops = StoppingCriteriaList()
        stopped = GeneratedStopStrings(spec.stop, self._decode, width, len(rows)) if spec.stop else None
        if stopped is not None:
            stops.append(stopped)
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=config,
                logits_processor=processors,
                stopping_criteria=stops,
            )
        new_tokens = output[:, width:].tolist()
        ends = stopped.stopped_at if stopped is not None else [None] * len(rows)
        results = []
        for row, prompt in enumerate(prompts):
            span = range(row * spec.n, (row + 1) * spec.n)
            completions = tuple(self._finish(new_tokens[i], spec, ends[i]) for i in span)
            results.append(GenerationResult(completions=completions, prompt_tokens=len(prompt)))
        return results

    def _decode(self, tokens: list[int]) -> str:
        text: str = self._tokenizer.decode(tokens, skip_special_tokens=True)
        return text

    def _finish(self, tokens: list[int], spec: GenerationSpec, stopped_at: int | None) -> Completion:
        """A row's answer: up to where a stop string ended it (what came after is the batch's
        padding), else up to its end-of-sequence token, else all it generated."""
        reason: FinishReason = "length"
        if stopped_at is not None:
            tokens, reason = tokens[:stopped_at], "stop"
        for position, token in enumerate(tokens):
            if token in self._eos_ids:
                tokens, reason = tokens[: position + 1], "stop"
                break
        text = self._decode(tokens)
        cut = min((at for at in (text.find(s) for s in spec.stop) if at >= 0), default=-1)
        if cut >= 0:
            text, reason = text[:cut], "stop"
        return Completion(text=text, finish_reason=reason, completion_tokens=len(tokens))

    # ----- loglikelihood -----

    def loglikelihood(self, requests: Sequence[LoglikelihoodRequest]) -> list[LoglikelihoodResult]:
        pairs = [self.rules.encode_pair(r.context, r.continuation) for r in requests]
        return self.loglikelihood_tokens(pairs)

    def loglikelihood_tokens(self, pairs: Sequence[tuple[list[int], list[int]]]) -> list[LoglikelihoodResult]:
        """Score token-level (context, continuation) pairs; the shared core of both loglikelihoods."""
        items: list[Scored] = []
        truncated: list[int] = []
        for context, continuation in pairs:
            if not continuation:
                raise EngineError("a continuation encodes to zero tokens, so there is nothing to score")
            if not context:  # encode_pair conditions an empty context on BOS; raw token pairs must too
                raise EngineError("a context of zero tokens: the first continuation token has no prediction")
            if len(continuation) > self._max_length:
                raise EngineError(
                    f"continuation has {len(continuation)} tokens, more than the model's "
                    f"maximum length {self._max_length}"
                )
            # Like lm-eval: keep the last max_length+1 tokens, dropping context from the left.
            drop = max(0, len(context) + len(continuation) - (self._max_length + 1))
            context = context[drop:]
            truncated.append(drop)
            items.append(Scored(tokens=context + continuation[:-1], targets=list(continuation)))
        self._score(items)
        return [
            LoglikelihoodResult(item.logprob, item.is_greedy, len(item.targets), drop)
            for item, drop in zip(items, truncated, strict=True)
        ]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return rolling_loglikelihood(self.rules, texts, self._max_length, self.loglikelihood_tokens)

    def _score(self, items: list[Scored]) -> None:
        # The custom mask has no sliding window, so it may only hold sequences the window never cuts;
        # and only sdpa and eager attention take a custom mask as given.
        custom_masks = self._attention in ("sdpa", "eager")
        window = self._window if custom_masks else 0
        shared = [i for i in items if window is None or len(i.tokens) <= window]
        units = [Unit.alone(i) for i in items if window is not None and len(i.tokens) > window]
        units.extend(cut_units(Trie(shared), self._max_batch_tokens))
        alone_from = min(_ALONE_LENGTH, window) if window is not None else _ALONE_LENGTH
        alone = [u for u in units if u.plain and len(u.tokens) >= alone_from]
        packed = [u for u in units if not (u.plain and len(u.tokens) >= alone_from)]
        for rows in self._packed_batches(packed):
            self._score_rows(rows)
        for batch in self._alone_batches(alone):
            self._score_rows([[unit] for unit in batch])

    def _packed_batches(self, units: list[Unit]) -> Iterator[list[list[Unit]]]:
        """Batches of rows, each row a few units end to end: first fit, longest units first.

        A batch's rows are as wide as its longest unit (at least ``_PACK_WIDTH``), and rows x width
        stays within ``max_batch_tokens`` (a unit wider than that is a batch of one row).
        """
        rows: list[list[Unit]] = []
        room: list[int] = []
        width = 0
        for unit in sorted(units, key=lambda u: -len(u.tokens)):
            length = len(unit.tokens)
            row = next((r for r, free in enumerate(room) if free >= length), None)
            if row is None:
                if rows and (len(rows) + 1) * width > self._max_batch_tokens:
                    yield rows
                    rows, room = [], []
                if not rows:
                    width = max(length, min(_PACK_WIDTH, self._max_batch_tokens))
                rows.append([])
                room.append(width)
                row = len(rows) - 1
            rows[row].append(unit)
            room[row] -= length
        if rows:
            yield rows

    def _alone_batches(self, units: list[Unit]) -> Iterator[list[Unit]]:
        """Lone sequences batched only with others of the same length: no padding, so no mask."""
        batch: list[Unit] = []
        for unit in sorted(units, key=lambda u: -len(u.tokens)):
            length = len(unit.tokens)
            if batch and (
                len(batch[0].tokens) != length or (len(batch) + 1) * length > self._max_batch_tokens
            ):
                yield batch
                batch = []
            batch.append(unit)
        if batch:
            yield batch

    def _score_rows(self, rows: list[list[Unit]]) -> None:
        """Score every item of the units laid out in ``rows``, in one batch.

        A row is left padding, then the tokens of its units that no item scores and that lie
        below no scored token, then the rest, so every scored position sits in the last columns
        and the model computes logits for those columns only. A token's position id is its depth
        in the tree, and the mask lets it see exactly the tokens above it in its unit (its own
        sequence so far) and itself; those always sit to its left, which is what running the
        columns in slices over a KV cache needs. A padding token sees only itself, so no query
        has nothing to attend to.
        """
        torch = self._torch
        pad = self._tokenizer.pad_token_id
        width = max(sum(len(u.tokens) for u in row) for row in rows)
        ids: list[list[int]] = []
        positions: list[list[int]] = []
        starts: list[list[int]] = []  # each token's index in the row's preorder (padding: past the end)
        sizes: list[list[int]] = []  # its subtree's size: preorder indices [start, start + size) see it
        owners: dict[int, int] = {}  # id(item) -> index in `scored_items`
        scored_items: list[Scored] = []
        cells: list[tuple[int, int]] = []  # (row, column) of each scored position
        targets: list[tuple[int, int, int]] = []  # (index in cells, target token, index in scored_items)
        keep = 1
        for r, row in enumerate(rows):
            real = sum(len(u.tokens) for u in row)
            padding = width - real
            head: list[int] = []  # row preorder indices of tokens that need no logits
            tail: list[int] = []  # scored tokens and every token below one, in preorder
            scored: list[tuple[int, int, Scored]] = []
            offset = 0
            for unit in row:
                marked = {i for i, _, _ in unit.scored}
                below = -1  # unit indices before this one lie inside a scored token's subtree
                for i in range(len(unit.tokens)):
                    if i in marked:
                        below = max(below, i + unit.sizes[i])
                    (tail if i < below else head).append(offset + i)
                scored.extend((offset + i, token, item) for i, token, item in unit.scored)
                offset += len(unit.tokens)
            # Every token's ancestors sit in earlier columns (the head and the tail are each in
            # preorder, and no head token lies below a tail token), so a column sees only columns
            # to its left and the rows can run in slices over a KV cache.
            column = {i: padding + len(head) + c for c, i in enumerate(tail)}
            scored_positions = sorted({i for i, _, _ in scored})
            cell = {i: len(cells) + c for c, i in enumerate(scored_positions)}
            cells.extend((r, column[i]) for i in scored_positions)
            order = head + tail
            keep = max(keep, len(tail))
            for i, token, item in scored:
                owner = owners.setdefault(id(item), len(scored_items))
                if owner == len(scored_items):
                    scored_items.append(item)
                targets.append((cell[i], token, owner))
            row_tokens = [t for u in row for t in u.tokens]
            row_depths = [d for u in row for d in u.depths]
            row_sizes = [z for u in row for z in u.sizes]
            ids.append([pad] * padding + [row_tokens[i] for i in order])
            positions.append([0] * padding + [row_depths[i] for i in order])
            starts.append(list(range(real, width)) + order)
            sizes.append([1] * padding + [row_sizes[i] for i in order])

        device = self._device
        with torch.inference_mode():
            input_ids = torch.tensor(ids, device=device)
            # Rows of one whole sequence each, all of one length, are plain causal attention.
            plain = all(len(row) == 1 and row[0].plain and len(row[0].tokens) == width for row in rows)
            position_ids = mask = None
            if not plain:
                position_ids = torch.tensor(positions, device=device)
                mask = self._tree_mask(starts, sizes)
            cell_rows, cell_columns = torch.tensor(cells, device=device).unbind(1)
            target_cells, target_tokens, target_owners = torch.tensor(targets, device=device).unbind(1)
            logprobs = torch.zeros(len(scored_items), dtype=torch.float64, device=device)
            misses = torch.zeros(len(scored_items), dtype=torch.long, device=device)
            for first, logits in self._forward_tail(input_ids, position_ids, mask, keep):
                # Normalize each scored position once, however many items score a token there
                # (a context's last token predicts the first token of every continuation).
                inside = (cell_columns >= first) & (cell_columns < first + logits.shape[1])
                picked = logits[cell_rows[inside], cell_columns[inside] - first].float()
                normalized = torch.log_softmax(picked, dim=-1)
                best = picked.argmax(dim=-1)
                local = torch.full((len(cells),), -1, dtype=torch.long, device=device)
                local[inside] = torch.arange(picked.shape[0], device=device)
                mine = local[target_cells] >= 0
                at, token, owner = local[target_cells[mine]], target_tokens[mine], target_owners[mine]
                logprobs.index_add_(0, owner, normalized[at, token].double())
                misses.index_add_(0, owner, (best[at] != token).long())
        for item, logprob, missed in zip(scored_items, logprobs.tolist(), misses.tolist(), strict=True):
            item.logprob = logprob
            item.is_greedy = missed == 0

    def _tree_mask(self, starts: list[list[int]], sizes: list[list[int]]) -> torch.Tensor:
        """The (rows, 1, query, key) mask of ``_score_rows``: a query sees a key whose subtree holds
        it, i.e. its ancestors and itself. Boolean for sdpa, additive for eager attention."""
        start = self._torch.tensor(starts, device=self._device)
        end = start + self._torch.tensor(sizes, device=self._device)
        query = start[:, :, None]
        allowed = (start[:, None, :].le(query) & end[:, None, :].gt(query))[:, None]
        if self._attention == "sdpa":
            return allowed
        blocked = self._torch.zeros(allowed.shape, dtype=self._dtype, device=self._device)
        return blocked.masked_fill(allowed.logical_not(), self._torch.finfo(self._dtype).min)

    def _forward_tail(
        self, ids: torch.Tensor, positions: torch.Tensor | None, mask: torch.Tensor | None, keep: int
    ) -> Iterator[tuple[int, torch.Tensor]]:
        """Run the rows, yielding (first column, logits) for their last ``keep`` columns.

        Logits come in slices within ``max_logits_bytes``: when ``keep`` columns do not fit,
        the rows run in several calls that carry a KV cache, each returning one slice.
        """
        rows, width = ids.shape
        step = max(1, self._max_logits_bytes // (rows * self._vocab_size * 4))
        start = width - keep
        cache = None
        done = 0
        while done < width:
            first = max(start, done)
            end = min(width, first + step)
            out = self._model(
                input_ids=ids[:, done:end],
                position_ids=None if positions is None else positions[:, done:end],
                attention_mask=None if mask is None else mask[:, :, done:end, :end],
                past_key_values=cache,
                use_cache=end < width,
                logits_to_keep=end - first,
            )
            cache = out.past_key_values
            yield first, out.logits
            done = end


def _sliding_window(config: Any) -> int | None:
    """The model's attention window, if it has one in use: the custom mask would ignore it."""
    for source in (config, getattr(config, "text_config", None)):
        window = getattr(source, "sliding_window", None)
        if isinstance(window, int) and getattr(source, "use_sliding_window", True) is not False:
            return window
    return None


def _resolve_device(device: str) -> torch.device:
    import torch

    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ModelLoadError(f"unknown device {device!r}: {exc}") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(f"device {device!r} was asked for, but torch sees no CUDA GPU")
    return resolved


def _resolve_dtype(dtype: str, device: torch.device) -> torch.dtype:
    import torch

    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
