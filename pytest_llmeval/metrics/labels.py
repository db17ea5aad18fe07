"""Precision, recall and F1 for label outputs (classification-style suites), micro and macro."""

from __future__ import annotations

from collections.abc import Sequence


def precision_recall_f1(
    predictions: Sequence[str], references: Sequence[str], *, average: str
) -> tuple[float, float, float]:
    """``average="micro"`` pools every decision; ``"macro"`` averages the per-label scores.

    The labels are those in the references; a predicted label outside them counts as a false
    positive of that label (and a false negative of the true one).
    """
    labels = sorted(set(references) | set(predictions))
    counts = {label: [0, 0, 0] for label in labels}  # true positives, false positives, false negatives
    for predicted, wanted in zip(predictions, references, strict=True):
        if predicted == wanted:
            counts[wanted][0] += 1
        else:
            counts[predicted][1] += 1
            counts[wanted][2] += 1
    if average == "micro":
        tp = sum(c[0] for c in counts.values())
        fp = sum(c[1] for c in counts.values())
        fn = sum(c[2] for c in counts.values())
        return _prf(tp, fp, fn)
    if average == "macro":
        scored = [_prf(*counts[label]) for label in sorted(set(references))]
        return tuple(sum(s[i] for s in scored) / len(scored) for i in range(3))  # type: ignore[return-value]
    raise ValueError(f"average must be 'micro' or 'macro', got {average!r}")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
