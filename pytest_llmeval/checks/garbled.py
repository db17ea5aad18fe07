"""not_garbled: catch degenerate model output - loops, token soup, mojibake, broken characters.

Each signal is a small function from the text to a ``Finding`` (or None), so the bench can score
them one by one and a failure names the signal that fired and the span that made it fire. Every
signal stays quiet on short texts and leaves code, tables, lists, math, numbers, URLs and text in
other languages alone; thresholds were calibrated on the dev split of
``tests/data/garbled/corpus.jsonl`` (``bench/bench_garbled.py`` prints the figures).

All signals are linear in the text; the share-based ones (words, scripts) read an evenly spread
sample of a very long text, because a share estimated from 20,000 characters is as good as one
from a megabyte.

This module holds the reference-perplexity signal and the check itself; the other signals live
by kind in ``garbled_repetition``, ``garbled_characters``, ``garbled_scripts`` and
``garbled_words`` (with its word lists in ``garbled_wordlists``), and are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .garbled_characters import bad_characters, mojibake
from .garbled_repetition import character_run, compression_ratio, repeated_ngrams, repetition_loop
from .garbled_scripts import SCRIPTS, script_name, script_switches, wrong_script
from .garbled_signal import Finding, visible
from .garbled_words import glued_words, non_words
from .result import CheckResult, refusal, text_of

__all__ = [
    "DEFAULT_MAX_PERPLEXITY",
    "PERPLEXITY_MIN_WORDS",
    "SCRIPTS",
    "SIGNALS",
    "Finding",
    "bad_characters",
    "character_run",
    "compression_ratio",
    "garbled_findings",
    "glued_words",
    "high_perplexity",
    "mojibake",
    "non_words",
    "not_garbled",
    "repeated_ngrams",
    "repetition_loop",
    "script_switches",
    "wrong_script",
]

# ----- perplexity ---------------------------------------------------------------------------------

PERPLEXITY_MIN_WORDS = 8


def high_perplexity(text: str, reference: Callable[[str], float], max_perplexity: float) -> Finding | None:
    """A reference model finds the text far less likely than fluent text of any kind."""
    if len(text.split()) < PERPLEXITY_MIN_WORDS:
        return None  # the perplexity of a few words says more about the words than about the text
    perplexity = float(reference(text))
    if math.isnan(perplexity):
        raise ValueError("not_garbled: the reference returned NaN as perplexity")
    if perplexity <= max_perplexity:
        return None
    return Finding(
        "perplexity",
        f"perplexity {perplexity:.0f} under the reference model (at most {max_perplexity:g} wanted)",
        (visible(text),),
    )


# ----- the check ----------------------------------------------------------------------------------

SIGNALS: dict[str, Callable[[str], Finding | None]] = {
    "repetition": repetition_loop,
    "repeated_ngrams": repeated_ngrams,
    "character_run": character_run,
    "compression": compression_ratio,
    "bad_characters": bad_characters,
    "mojibake": mojibake,
    "script_switches": script_switches,
    "non_words": non_words,
    "glued_words": glued_words,
}
"""The deterministic signals by name: what ``not_garbled`` runs when no script or reference is given."""

# Calibrated on the dev split with SmolLM2-135M-Instruct as the reference (per-token perplexity):
# fluent model answers, code and tables stay under it, token soup is in the thousands. Text in
# languages the reference barely knows can exceed it: pass a reference that knows them, or raise it.
DEFAULT_MAX_PERPLEXITY = 275.0


def garbled_findings(
    text: str,
    *,
    script: str | None = None,
    reference: Callable[[str], float] | None = None,
    max_perplexity: float = DEFAULT_MAX_PERPLEXITY,
) -> list[Finding]:
    """Every signal that fires on ``text``: the check without its verdict, for benches and reports."""
    findings = [found for signal in SIGNALS.values() if (found := signal(text)) is not None]
    if script is not None and (found := wrong_script(text, script)) is not None:
        findings.append(found)
    if reference is not None and (found := high_perplexity(text, reference, max_perplexity)) is not None:
        findings.append(found)
    return findings


def not_garbled(
    output: str,
    *,
    script: str | None = None,
    reference: Callable[[str], float] | None = None,
    max_perplexity: float = DEFAULT_MAX_PERPLEXITY,
) -> CheckResult:
    """The output reads as language (or code, or data), not as a broken model's degenerate text.

    ``script`` names the script the output should be written in ("Latin", "Cyrillic", "Han", ...);
    ``reference`` maps a text to its perplexity under a reference model, and a text of 8+ words
    above ``max_perplexity`` fails.
    """
    output = text_of(output, "not_garbled")
    if script is not None:
        script_name(script)
    if reference is not None and not callable(reference):
        raise ValueError(f"not_garbled: reference must be a callable text -> perplexity, got {reference!r}")
    if isinstance(max_perplexity, bool) or not (
        isinstance(max_perplexity, int | float) and 1.0 < max_perplexity < math.inf
    ):
        raise ValueError(
            f"not_garbled: max_perplexity must be a finite number above 1, got {max_perplexity!r}"
        )
    if (refused := refusal("not_garbled", len(output))) is not None:
        return refused
    findings = garbled_findings(output, script=script, reference=reference, max_perplexity=max_perplexity)
    if not findings:
        return CheckResult.of("not_garbled", True, "no sign of degenerate text")
    reason = "; ".join(f"{found.signal}: {found.reason}" for found in findings)
    return CheckResult.of("not_garbled", False, reason, tuple(span for f in findings for span in f.evidence))
