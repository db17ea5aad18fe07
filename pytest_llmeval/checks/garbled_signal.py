"""What a ``not_garbled`` signal returns, and the helpers every signal shares.

A signal is a function from the text to a ``Finding`` (or None); ``visible`` renders the span
that made it fire, and ``sampled`` is the evenly spread sample the share-based signals read of a
very long text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .evidence import shorten


@dataclass(frozen=True)
class Finding:
    """One signal that fired: its name, the sentence a user reads, and the spans that decided it."""

    signal: str
    reason: str
    evidence: tuple[str, ...] = ()


def visible(span: str) -> str:
    # ascii() shows control characters and lone surrogates instead of printing (or failing on) them.
    return shorten(ascii(span)[1:-1])


SAMPLE_CHARS = 20_000


def sampled(text: str, pieces: int = 10) -> str:
    """The text itself, or evenly spaced slices of it (cut at spaces) once it is very long."""
    if len(text) <= SAMPLE_CHARS:
        return text
    size = SAMPLE_CHARS // pieces
    step = len(text) // pieces
    slices = []
    for k in range(pieces):
        piece = text[k * step : k * step + size]
        slices.append(piece[piece.find(" ") + 1 : piece.rfind(" ")])
    return "\n".join(slices)
