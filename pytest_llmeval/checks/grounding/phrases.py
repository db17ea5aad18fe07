"""Phrases copied from the context with one number changed.

A model that restates the context often copies a phrase and changes a number in it: "drives 60 mph
for 2 hours, and then 30 mph for 1 hour" comes back as "30 mph for 2 hours". The number's phrase
is the three tokens before it and the one after it, words and numbers alike, within one clause
(punctuation ends it), and one of them must be another number: "30 mph for _ hour". When the
context writes that exact phrase, only with other numbers in the slot, the output's number is not
the context's. 1 and 2 are read here too, though alone they need no source.

Exact phrases of four tokens are rarely shared by chance, so this decides little, and wrongly
seldom: ``tests/checks/test_grounding_reference.py`` holds it to GSM8K's right solutions.
"""

from __future__ import annotations

import re

from .lexing import _key, _written_amount
from .relations import _singular

# Words, numbers ("$1,200.50", "30%"), and any other mark, which ends a phrase.
# A comma inside a number only before three digits: "5, then" is a number and a comma.
_TOKEN = re.compile(r"[A-Za-z]+(?:['\u2019][A-Za-z]+)?|\$?\d+(?:,\d{3})*(?:\.\d+)?%?|\S")
_NUMBER = re.compile(r"\$?\d")
_BEFORE, _AFTER = 3, 1

Phrases = dict[tuple[str, ...], dict[float, str]]


def _norm(token: str) -> str | None:
    """A token as a phrase compares it; None for punctuation."""
    if _NUMBER.match(token):
        return token.replace(",", "")
    if token[0].isalpha():
        return _singular(token)
    return None


def _slots(text: str) -> list[tuple[tuple[str, ...], float, int, int, str]]:
    """Each number with a full phrase around it: (phrase, value, start, end, the words as written)."""
    tokens = list(_TOKEN.finditer(text))
    normed: dict[int, str | None] = {}  # only the tokens next to a number are ever compared

    def norm(index: int) -> str | None:
        if index not in normed:
            normed[index] = _norm(tokens[index].group(0))
        return normed[index]

    found = []
    for i, token in enumerate(tokens):
        if not _NUMBER.match(token.group(0)) or i < _BEFORE or i + _AFTER >= len(tokens):
            continue
        around = [norm(j) for j in (*range(i - _BEFORE, i), *range(i + 1, i + 1 + _AFTER))]
        # Only a phrase that pairs the number with another ("30 mph for 1 hour") is read: one of
        # words alone ("a day for 7 days") is shared by right answers about other things ("4
        # cookies a day for 5 days", GSM8K test row 346).
        if any(t is None for t in around) or not any(_NUMBER.match(t) for t in around if t is not None):
            continue
        # A gap of a line or more between tokens is no phrase either.
        span = text[tokens[i - _BEFORE].start() : tokens[i + _AFTER].end()]
        if "\n" in span:
            continue
        value = _written_amount(token.group(0))
        phrase = tuple(t for t in around if t is not None)
        found.append((phrase, _key(value), token.start(), token.end(), " ".join(span.split())))
    return found


def context_phrases(text: str) -> Phrases:
    phrases: Phrases = {}
    for phrase, value, _, _, written in _slots(text):
        phrases.setdefault(phrase, {}).setdefault(value, written)
    return phrases


def changed_numbers(text: str, phrases: Phrases) -> list[tuple[int, int, str]]:
    """The numbers of ``text`` written in a phrase of the context that has only other numbers
    there: (start, end, the context's phrases)."""
    changed = []
    for phrase, value, start, end, _ in _slots(text):
        stated = phrases.get(phrase)
        if stated is not None and value not in stated:
            changed.append((start, end, " and ".join(repr(p) for p in list(stated.values())[:3])))
    return changed
