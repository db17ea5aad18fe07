"""Checks: pure functions from a model output to a CheckResult that says why it passed or failed.

Success modes (the answer has the right content and shape) live in ``text``, ``numbers``,
``format`` and ``similarity``; failure modes in ``garbled`` (degenerate text), ``grounding``
(unsupported claims), ``refusal``, ``truncation``, ``leak``, ``pii``, ``toxicity`` and
``fairness`` (counterfactual bias probes); ``judge`` asks a second model. Heavy libraries
(embeddings, NLI, classifiers) load only when a check needs them. ``evidence``, ``fences`` and
``jsontext`` hold what several checks share: how evidence is cut, where code blocks are, and JSON
found in prose.
"""

from __future__ import annotations

from .fairness import counterfactual, counterfactual_prompts
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
from .leak import no_leak
from .numbers import final_number, number
from .pii import no_pii
from .refusal import is_refusal, not_refusal
from .result import CheckInputError, CheckResult, text_of
from .similarity import similar_to
from .text import contains, equals, matches, not_contains
from .toxicity import not_toxic
from .truncation import not_truncated

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
