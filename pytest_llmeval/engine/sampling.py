"""Sampling that never depends on batch mates: each row draws from a generator of its own.

transformers' own sampling draws every row of a batch from one global generator, so a seeded
request's sample would change with the requests batched beside it (and with the batch's order).
Here each row's generator is seeded from the request's seed, its prompt tokens and the sample's
index, so a seeded request gives the same sample alone, in any batch, and in any run.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def row_seed(seed: int | None, prompt: Sequence[int], sample: int) -> int:
    """The generator seed of one sample of one request; a fresh random one when ``seed`` is None."""
    if seed is None:
        return secrets.randbits(63)
    material = f"{seed}|{sample}|{','.join(map(str, prompt))}".encode()
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "big") >> 1


# Nucleus sampling looks for the nucleus among this many most likely tokens first (sorting a whole
# vocabulary for every row and step costs more than the draw itself).
_NUCLEUS_CANDIDATES = 256


class RowSampler:
    """A logits processor that draws each row's next token with that row's own generator.

    It is given to ``generate()`` in greedy mode and returns scores that are -inf everywhere but
    at the drawn token, which greedy decoding then picks. The draw applies ``temperature``, then
    nucleus filtering (the smallest set of most likely tokens whose mass reaches ``top_p``), then
    the exponential race: the token with the largest p / E wins, E drawn per token from
    Exp(1), which picks each token with probability p. Unlike inverse-CDF sampling, which sums
    the whole vocabulary's probabilities, a float-noise change in one logit can only change the
    result when two tokens' races end within that noise.
    """

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float) -> None:
        import torch

        self._generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self._temperature = temperature
        self._top_p = top_p

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        probs = torch.softmax(scores.float() / self._temperature, dim=-1)
        if self._top_p < 1.0:
            probs = self._nucleus(probs)
        # The race: -log(U) is Exp(1). torch.rand is several times faster than exponential_().
        vocab = probs.shape[-1]
        uniforms = torch.stack([torch.rand(vocab, generator=g) for g in self._generators])
        chosen = (probs / uniforms.to(probs.device).log_().neg_()).argmax(dim=-1, keepdim=True)
        return torch.full_like(scores, float("-inf")).scatter_(-1, chosen, 0.0)

    def _nucleus(self, probs: torch.Tensor) -> torch.Tensor:
        """Zero every token outside the nucleus. The nucleus is found among the most likely
        _NUCLEUS_CANDIDATES tokens; only a row whose nucleus is larger sorts its whole vocabulary."""
        import torch

        k = min(_NUCLEUS_CANDIDATES, probs.shape[-1])
        ranked, order = probs.topk(k, dim=-1)
        wide = (ranked.sum(dim=-1) < self._top_p).nonzero().flatten().tolist()
        kept = torch.zeros_like(probs)
        # A token stays while the tokens ranked above it hold less than top_p of the mass.
        kept.scatter_(-1, order, ranked.masked_fill((ranked.cumsum(dim=-1) - ranked) >= self._top_p, 0.0))
        for row in wide:
            ranked_row, order_row = probs[row].sort(descending=True)
            stays = (ranked_row.cumsum(dim=-1) - ranked_row) < self._top_p
            kept[row] = torch.zeros_like(probs[row]).scatter_(-1, order_row, ranked_row * stays)
        return kept
