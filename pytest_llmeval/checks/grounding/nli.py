"""``grounded_in(method="nli")``: a Hugging Face NLI model decides whether the context entails each claim."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..evidence import one_line
from ..result import CheckResult
from .lexing import _claim_spans
from .reading import _content_words
from .verdict import _EVIDENCE_ITEMS, _REASON_ITEMS, _window

# ---------------------------------------------------------------------------------------------
# method="nli"


@lru_cache(maxsize=2)
def _nli(name: str) -> tuple[Any, Any, int]:
    """Tokenizer, model and the index of the "entailment" label, loaded once per model."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)
    model = AutoModelForSequenceClassification.from_pretrained(name).eval()
    labels = {int(i): str(label) for i, label in model.config.id2label.items()}
    entail = [i for i, label in labels.items() if label.casefold().startswith("entail")]
    if len(entail) != 1:
        raise ValueError(
            f"grounded_in: {name} is not an NLI model: its labels {sorted(labels.values())} "
            "have no single 'entailment' label"
        )
    return tokenizer, model, entail[0]


def _grounded_by_nli(output: str, context: str, name: str, bound: float, min_supported: float) -> CheckResult:
    import torch

    spans = [span for span in _claim_spans(output) if _content_words(output[span[0] : span[1]])]
    if not spans:
        return CheckResult("grounded_in", True, "no claims in the output to check", 1.0, ())
    tokenizer, model, entail = _nli(name)
    limit = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)
    probabilities: list[float] = []
    with torch.no_grad():
        for first in range(0, len(spans), 16):
            batch = [output[s:e] for s, e in spans[first : first + 16]]
            encoded = tokenizer(
                [context] * len(batch),
                batch,
                truncation=True,
                max_length=limit,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.float()
            probabilities.extend(torch.softmax(logits, dim=-1)[:, entail].tolist())
    weak = [(span, p) for span, p in zip(spans, probabilities, strict=True) if p < bound]
    score = 1.0 - len(weak) / len(spans)
    if not weak:
        reason = f"the context entails all {len(spans)} claims (entailment >= {bound:g})"
        return CheckResult("grounded_in", True, reason, score, ())
    items = [f"{one_line(output[s:e])!r} (entailment {p:.2f})" for (s, e), p in weak[:_REASON_ITEMS]]
    more = f"; and {len(weak) - _REASON_ITEMS} more" if len(weak) > _REASON_ITEMS else ""
    reason = (
        f"{len(weak)} of {len(spans)} claims are not entailed by the context (entailment < {bound:g}): "
        + "; ".join(items)
        + more
    )
    evidence = tuple(_window(output, s, s, (s, e)) for (s, e), _ in weak[:_EVIDENCE_ITEMS])
    return CheckResult("grounded_in", score >= min_supported, reason, score, evidence)
