"""Tokenization rules every backend shares, so the same request means the same tokens everywhere.

The loglikelihood rules are lm-evaluation-harness's: trailing context whitespace moves to the
continuation, the pair is encoded whole and split by the context's token count, an empty
context (or one of whitespace only) is conditioned on BOS (or EOS), and long texts are scored in
disjoint rolling windows after that prefix, never after a second BOS of the tokenizer's own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

from .types import EngineError, GenerationRequest, LoglikelihoodResult, RollingResult, finished_before

_DEFAULT_MAX_LENGTH = 2048  # lm-evaluation-harness's fallback when neither config nor tokenizer says
_TOKENIZER_INFINITY = 1e29


class TokenRules:
    """A Hugging Face tokenizer with the encoding rules of lm-evaluation-harness and chat rendering."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.prefix_token_id: int = (
            tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        )
        self._bos_text: str = tokenizer.decode([self.prefix_token_id])

    def encode(self, text: str) -> list[int]:
        # Tokenizer defaults, except that a text already starting with BOS gets no second one.
        _check_encodable(text)
        add_special = not (self._bos_text and text.startswith(self._bos_text))
        return list(self.tokenizer.encode(text, add_special_tokens=add_special))

    def encode_pair(self, context: str, continuation: str) -> tuple[list[int], list[int]]:
        # Trailing whitespace belongs to the continuation, so " Paris" tokenizes as a word.
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces:
            context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
        if not context:  # also a context of whitespace only, which once gave zero context tokens
            return self.prefixed(continuation)
        whole = self.encode(context + continuation)
        context_enc = self.encode(context)
        return context_enc, whole[len(context_enc) :]

    def prefixed(self, text: str) -> tuple[list[int], list[int]]:
        """``text`` conditioned on the prefix token (BOS, else EOS): ([prefix], its tokens). The
        text is encoded without special tokens, so a tokenizer that adds BOS itself does not put
        a second one after the prefix to be scored; a BOS written in the text is the prefix."""
        _check_encodable(text)
        tokens = list(self.tokenizer.encode(text, add_special_tokens=False))
        if tokens and tokens[0] == self.prefix_token_id:
            return tokens[:1], tokens[1:]
        return [self.prefix_token_id], tokens

    def render(self, request: GenerationRequest, max_length: int, model_name: str) -> list[int]:
        """The prompt tokens of a generation request: raw text, or messages through the chat template."""
        if request.messages is not None:
            if not self.tokenizer.chat_template:
                raise EngineError(
                    f"model {model_name!r} has no chat template: use generate() with a plain prompt"
                )
            text = self.tokenizer.apply_chat_template(
                [dict(m) for m in request.messages], tokenize=False, add_generation_prompt=True
            )
            _check_encodable(text)
            ids = list(self.tokenizer.encode(text, add_special_tokens=False))
        else:
            assert request.prompt is not None
            ids = self.encode(request.prompt)
        if not ids:
            ids = [self.prefix_token_id]  # an empty prompt generates unconditionally, from BOS
        if len(ids) >= max_length:
            raise EngineError(f"prompt has {len(ids)} tokens, but the model's maximum length is {max_length}")
        return ids

    def fingerprint(self) -> tuple[str, str]:
        """Hashes of the tokenizer (vocab, merges, normalizer) and of the chat template."""
        backend = getattr(self.tokenizer, "backend_tokenizer", None)
        vocab = self.tokenizer.get_vocab()
        material = backend.to_str() if backend is not None else repr(sorted(vocab.items()))
        template = self.tokenizer.chat_template or ""
        return _short_hash(material), _short_hash(template)


def rolling_loglikelihood(
    rules: TokenRules,
    texts: Sequence[str],
    window: int,
    score: Callable[[list[tuple[list[int], list[int]]]], Sequence[LoglikelihoodResult]],
) -> list[RollingResult]:
    """Score whole texts: split each into rolling windows, score all windows in one call, sum per text."""
    windows: list[tuple[list[int], list[int]]] = []
    owners: list[int] = []
    counts: list[int] = []
    for index, text in enumerate(texts):
        # Unlike lm-evaluation-harness 0.4.13 (its issue #3333), a tokenizer that adds BOS does not
        # get P(BOS | BOS) scored as the text's first token: the text is encoded on its own.
        _, tokens = rules.prefixed(text)
        if not tokens:
            raise EngineError("cannot compute the perplexity of an empty text")
        for pair in rolling_windows(tokens, rules.prefix_token_id, window):
            windows.append(pair)
            owners.append(index)
        counts.append(len(tokens))
    try:
        scored = score(windows)
    except BaseException as exc:
        # A backend that answers one by one attaches what it finished by *window*; the cache reads
        # positions as texts, so only texts whose every window finished are handed on, summed.
        finished = finished_before(exc)
        if finished:
            exc.llmeval_finished = _whole_texts(texts, owners, counts, finished)  # type: ignore[attr-defined]
        raise
    totals = [0.0] * len(texts)
    for owner, result in zip(owners, scored, strict=True):
        totals[owner] += result.logprob
    return [
        RollingResult.of(text, total, count) for text, total, count in zip(texts, totals, counts, strict=True)
    ]


def _whole_texts(
    texts: Sequence[str], owners: Sequence[int], counts: Sequence[int], finished: Mapping[int, object]
) -> dict[int, RollingResult]:
    windows: dict[int, list[int]] = {}
    for position, owner in enumerate(owners):
        windows.setdefault(owner, []).append(position)
    whole = {}
    for owner, positions in windows.items():
        if all(p in finished for p in positions):
            total = sum(cast(LoglikelihoodResult, finished[p]).logprob for p in positions)
            whole[owner] = RollingResult.of(texts[owner], total, counts[owner])
    return whole


def rolling_windows(
    tokens: list[int], prefix_token: int, max_length: int
) -> Iterator[tuple[list[int], list[int]]]:
    """Disjoint scoring windows as lm-evaluation-harness makes them (rolling, context length 1)."""
    first = min(max_length, len(tokens))
    yield [prefix_token], tokens[:first]
    predicted = first
    while predicted < len(tokens):
        length = min(len(tokens) - predicted, max_length)
        end = predicted + length
        window = tokens[max(0, end - max_length - 1) : end - 1]
        yield window[: len(window) - (length - 1)], tokens[end - length : end]
        predicted = end


def model_max_length(config: Any, tokenizer: Any) -> int:
    """The model's context length, looked up in the order lm-evaluation-harness uses."""
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(getattr(config, "text_config", None), attr, None) or getattr(config, attr, None)
        if value:
            return int(value)
    limit = getattr(tokenizer, "model_max_length", None)
    if limit and limit < _TOKENIZER_INFINITY:
        return int(limit)
    return _DEFAULT_MAX_LENGTH


def _check_encodable(text: str) -> None:
    """A lone surrogate (half of a UTF-16 pair, e.g. from a broken decode) is no character: the
    tokenizer would fail deep inside with a TypeError; the request fails here, saying what."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        where = f"U+{code:04X} at character {exc.start}"
        raise EngineError(f"the text holds a lone surrogate ({where}), which cannot be tokenized") from None


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
