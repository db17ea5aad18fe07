"""The embedded default backend: a transformers causal LM on CPU or GPU, in this process.

Loglikelihoods follow lm-evaluation-harness exactly (tokenization of the pair, empty contexts,
left truncation) but compute them faster: requests that share a context run that context once
and reuse its KV cache for every continuation, and log-softmax is taken only where a
continuation token is scored.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .model_files import apply_lora, default_cache_root, resolve_lora, resolve_model
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

_MAX_ROWS = 64  # beyond this, CPU matmuls stop getting faster per row and padding waste grows
_LOGITS_BUDGET_BYTES = 1 << 30  # cap on one batch's float32 logits (rows x positions x vocab)


@dataclass
class _Scored:
    """One token-level loglikelihood item: score ``targets`` after ``prefix + suffix``."""

    prefix: tuple[int, ...]  # context tokens before the last one, run once per distinct prefix
    suffix: list[int]  # last context token + all continuation tokens but the last
    targets: list[int]  # the continuation tokens
    logprob: float = 0.0
    is_greedy: bool = True


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
    ) -> None:
        # Path problems are found before torch is imported: a typo costs milliseconds, not seconds.
        source = resolve_model(model, cache_root or default_cache_root())
        adapter = resolve_lora(lora, cache_root or default_cache_root()) if lora else None
        import torch
        import transformers
        from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

        self._torch = torch
        self._device = _resolve_device(device)
        self._dtype = _resolve_dtype(dtype, self._device)
        self._max_batch_tokens = max_batch_tokens
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
        self._model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
            bos_token_id=own.bos_token_id, eos_token_id=own.eos_token_id, pad_token_id=tok.pad_token_id
        )
        eos = own.eos_token_id if own.eos_token_id is not None else tok.eos_token_id
        self._eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        self.rules = TokenRules(tok)
        self._max_length = max_length or model_max_length(self._model.config, tok)
        self._vocab_size = int(self._model.config.vocab_size)

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
        )

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
        if any(r.spec.json_schema is not None for r in requests):
            raise EngineError(
                "the transformers backend has no structured output: json_schema is not supported"
            )
        encoded = [self.rules.render(r, self._max_length, self._info.model) for r in requests]
        results: list[GenerationResult | None] = [None] * len(requests)
        by_spec: dict[GenerationSpec, list[int]] = defaultdict(list)
        for index, request in enumerate(requests):
            by_spec[request.spec].append(index)
        for spec, indices in by_spec.items():
            for batch in self._generation_batches(spec, indices, encoded):
                prompts = [encoded[i] for i in batch]
                for i, result in zip(batch, self._generate_batch(prompts, spec), strict=True):
                    results[i] = result
        return [r for r in results if r is not None]

    def _generation_batches(
        self, spec: GenerationSpec, indices: list[int], encoded: list[list[int]]
    ) -> Iterator[list[int]]:
        # A seeded sample must not depend on which other prompts share its batch, so it runs alone.
        if not spec.greedy and spec.seed is not None:
            yield from ([i] for i in indices)
            return
        ordered = sorted(indices, key=lambda i: -len(encoded[i]))  # longest first: padding stays small
        batch: list[int] = []
        for i in ordered:
            width = len(encoded[batch[0]] if batch else encoded[i]) + spec.max_tokens
            if batch and (
                (len(batch) + 1) * spec.n * width > self._max_batch_tokens or len(batch) >= _MAX_ROWS
            ):
                yield batch
                batch = []
            batch.append(i)
        if batch:
            yield batch

    def _generate_batch(self, prompts: list[list[int]], spec: GenerationSpec) -> list[GenerationResult]:
        torch = self._torch
        from transformers import GenerationConfig

        width = max(len(p) for p in prompts)
        pad = self._tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=self._device)
        attention = torch.tensor(
            [[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=self._device
        )
        config = GenerationConfig(  # type: ignore[no-untyped-call]
            max_new_tokens=min(spec.max_tokens, self._max_length - width),
            do_sample=not spec.greedy,
            temperature=spec.temperature if not spec.greedy else None,
            top_p=spec.top_p if not spec.greedy else None,
            top_k=0 if not spec.greedy else None,
            num_return_sequences=spec.n,
            stop_strings=list(spec.stop) or None,
            pad_token_id=pad,
            eos_token_id=sorted(self._eos_ids),
        )
        if spec.seed is not None:
            torch.manual_seed(spec.seed)
        with torch.inference_mode():
            output = self._model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=config,
                tokenizer=self._tokenizer if spec.stop else None,
            )
        new_tokens = output[:, width:].tolist()
        results = []
        for row, prompt in enumerate(prompts):
            samples = new_tokens[row * spec.n : (row + 1) * spec.n]
            completions = tuple(self._finish(tokens, spec) for tokens in samples)
            results.append(GenerationResult(completions=completions, prompt_tokens=len(prompt)))
        return results

    def _finish(self, tokens: list[int], spec: GenerationSpec) -> Completion:
        reason: FinishReason = "length"
        for position, token in enumerate(tokens):
            if token in self._eos_ids:
                tokens, reason = tokens[: position + 1], "stop"
                break
            if token == self._tokenizer.pad_token_id:  # padding after a row ended on a stop string
                tokens, reason = tokens[:position], "stop"
                break
        text: str = self._tokenizer.decode(tokens, skip_special_tokens=True)
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
        items: list[_Scored] = []
        truncated: list[int] = []
        for context, continuation in pairs:
            if not continuation:
                raise EngineError("a continuation encodes to zero tokens, so there is nothing to score")
            if len(continuation) > self._max_length:
                raise EngineError(
                    f"continuation has {len(continuation)} tokens, more than the model's "
                    f"maximum length {self._max_length}"
                )
            # Like lm-eval: keep the last max_length+1 tokens, dropping context from the left.
            drop = max(0, len(context) + len(continuation) - (self._max_length + 1))
            context = context[drop:]
            truncated.append(drop)
            items.append(
                _Scored(
                    prefix=tuple(context[:-1]),
                    suffix=context[-1:] + continuation[:-1],
                    targets=list(continuation),
                )
            )
        self._score(items)
        return [
            LoglikelihoodResult(item.logprob, item.is_greedy, len(item.targets), drop)
            for item, drop in zip(items, truncated, strict=True)
        ]

    def loglikelihood_rolling(self, texts: Sequence[str]) -> list[RollingResult]:
        return rolling_loglikelihood(self.rules, texts, self._max_length, self.loglikelihood_tokens)

    def _score(self, items: list[_Scored]) -> None:
        groups: dict[tuple[int, ...], list[_Scored]] = defaultdict(list)
        for item in items:
            groups[item.prefix].append(item)
        # Longest prefixes first, so each batch pads little; budget by the cached width.
        ordered = sorted(groups.items(), key=lambda kv: -len(kv[0]))
        batch: list[tuple[tuple[int, ...], list[_Scored]]] = []
        for prefix, members in ordered:
            candidate = [*batch, (prefix, members)]
            if batch and not self._fits(candidate):
                self._score_batch(batch)
                batch = []
                candidate = [(prefix, members)]
            batch = candidate
        if batch:
            self._score_batch(batch)

    def _fits(self, batch: list[tuple[tuple[int, ...], list[_Scored]]]) -> bool:
        rows = sum(len(members) for _, members in batch)
        prefix_width = max(len(prefix) for prefix, _ in batch)
        suffix_width = max(len(m.suffix) for _, members in batch for m in members)
        logits_bytes = rows * suffix_width * self._vocab_size * 4
        # An empty prefix would be a row of pure padding in the prefix pass (no key to attend to),
        # so items without a prefix are never batched with items that have one.
        return (
            len({not prefix for prefix, _ in batch}) == 1
            and rows <= _MAX_ROWS
            and rows * (prefix_width + suffix_width) <= self._max_batch_tokens
            and logits_bytes <= _LOGITS_BUDGET_BYTES
        )

    def _score_batch(self, batch: list[tuple[tuple[int, ...], list[_Scored]]]) -> None:
        """Run each distinct prefix once, then every suffix on a copy of its prefix's KV cache.

        Both phases pad on the right and pass explicit position ids, so no query ever sees only
        padding and the cached prefix of each row ends at that row's real length.
        """
        torch = self._torch
        pad = self._tokenizer.pad_token_id
        prefixes = [prefix for prefix, _ in batch]
        rows = [(slot, item) for slot, (_, members) in enumerate(batch) for item in members]
        prefix_width = max(len(p) for p in prefixes)
        suffix_width = max(len(item.suffix) for _, item in rows)
        device = self._device

        with torch.inference_mode():
            cache = None
            prefix_mask = torch.zeros((len(rows), 0), dtype=torch.long, device=device)
            if prefix_width:
                ids = torch.tensor(
                    [list(p) + [pad] * (prefix_width - len(p)) for p in prefixes], device=device
                )
                mask = torch.tensor(
                    [[1] * len(p) + [0] * (prefix_width - len(p)) for p in prefixes], device=device
                )
                positions = torch.arange(prefix_width, device=device).expand(len(prefixes), -1)
                out = self._model(
                    input_ids=ids,
                    attention_mask=mask,
                    position_ids=positions,
                    use_cache=True,
                    logits_to_keep=1,
                )
                cache = out.past_key_values
                slots = torch.tensor([slot for slot, _ in rows], device=device)
                cache.reorder_cache(slots)  # one cache row per scored item, copied from its prefix
                prefix_mask = mask[slots]
            starts = [len(prefixes[slot]) for slot, _ in rows]
            ids = torch.tensor(
                [item.suffix + [pad] * (suffix_width - len(item.suffix)) for _, item in rows], device=device
            )
            suffix_mask = torch.tensor(
                [[1] * len(item.suffix) + [0] * (suffix_width - len(item.suffix)) for _, item in rows],
                device=device,
            )
            positions = torch.tensor(starts, device=device)[:, None] + torch.arange(
                suffix_width, device=device
            )
            out = self._model(
                input_ids=ids,
                attention_mask=torch.cat([prefix_mask, suffix_mask], dim=1),
                position_ids=positions,
                past_key_values=cache,
                use_cache=cache is not None,
            )
            logprobs = torch.log_softmax(out.logits.float(), dim=-1)
            greedy = out.logits.argmax(dim=-1)
            for row, (_, item) in enumerate(rows):
                n = len(item.targets)
                targets = torch.tensor(item.targets, device=device)
                item.logprob = float(logprobs[row, :n].gather(1, targets[:, None]).sum())
                item.is_greedy = bool((greedy[row, :n] == targets).all())


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
