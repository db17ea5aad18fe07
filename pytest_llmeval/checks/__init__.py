"""Checks: pure functions from a model output to a CheckResult that says why it passed or failed.

Success modes (the answer has the right content and shape) live in ``text``, ``numbers``,
``format`` and ``similarity``; failure modes (degenerate text, unsupported claims, refusals,
leaks, PII, toxicity, bias) in ``garbled``, ``grounding`` and ``safety``; ``judge`` asks a second
model. Heavy libraries (embeddings, NLI, classifiers) load only when a check needs them.
"""

from __future__ import annotations

from .format import (
    JsonResult,
    bullets,
    chars,
    headings,
    json,
    language,
    numbered_steps,
    one_of,
    sentences,
    starts_with,
    words,
)
from .garbled import not_garbled
from .grounding import consistent, grounded_in
from .judge import judged
from .numbers import final_number, number
from .result import CheckInputError, CheckResult, text_of
from .safety import (
    counterfactual,
    counterfactual_prompts,
    is_refusal,
    no_leak,
    no_pii,
    not_refusal,
    not_toxic,
    not_truncated,
)
from .similarity import similar_to
from .text import contains, equals, matches, not_contains

__all__ = [
    "CheckInputError",
    "CheckResult",
    "JsonResult",
    "bullets",
    "chars",
    "consistent",
    "contains",
    "counterfactual",
    "counterfactual_prompts",
    "equals",
    "final_number",
    "grounded_in",
    "headings",
    "is_refusal",
    "json",
    "judged",
    "language",
    "matches",
    "no_leak",
    "no_pii",
    "not_contains",
    "not_garbled",
    "not_refusal",
    "not_toxic",
    "not_truncated",
    "number",
    "numbered_steps",
    "one_of",
    "sentences",
    "similar_to",
    "starts_with",
    "text_of",
    "words",
]
