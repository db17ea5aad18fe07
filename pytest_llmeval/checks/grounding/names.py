"""Which runs of capitalized words in an output are names, for ``grounded_in``.

A name is a claim about the world ("Tobias", "Green Valley Market"); a capitalized word at a
sentence start, a label ("Passage:"), a heading of common words ("### Daily Earnings") or a title
("Mr.") is not. Word frequencies come from wordfreq.
"""

from __future__ import annotations

import re

from ..text import english_zipf
from .lexing import _CONNECTORS, _RARE_ZIPF, _STARTERS, _TITLES, _bare, _Lexeme

# After a capitalized word that starts a sentence, these show it to be a verb or a label, not a
# name: "Rethink your car", "Calculate the total", "Passage: ...", "Earnings = 9 x $2". Names are
# seldom followed by them.
_NOT_AFTER_NAME = re.compile(r"[ \t]*(?:[:=]|(?:the|a|an|your|my|his|her|their|our|its|this|that|these)\b)")
_HEADING_ZIPF = 3.0  # in a heading, only a word rarer than this is taken for a name (_very_rare_word)
# Markup that may open a heading or a label line: "### ", "**", "- ", "1. ", "Step 2: ".
_LABEL_OPENING = re.compile(
    r"[ \t*_]*(?:(?:#+|[-\u2022]|\d{1,3}[.)]|(?:Step|Part)[ \t]+\d{1,3}[:.)]?)[ \t*_]*)*$", re.IGNORECASE
)
# What may close one: the end of the line, or a colon (with markup around it).
_LABEL_CLOSING = re.compile(r"[ \t*_]*(?::|$)", re.MULTILINE)


def _is_label(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is all of a heading's or a label's words: only markup before it on its
    line, and the end of the line or a colon after it."""
    reach = max(0, start - 41)  # markup is short: never search a long line back to its start
    newline = text.rfind("\n", reach, start)
    if (newline < 0 and reach > 0) or not _LABEL_OPENING.match(text[newline + 1 : start]):
        return False
    return _LABEL_CLOSING.match(text, end) is not None


def name_span(text: str, run: list[_Lexeme]) -> tuple[int, int] | None:
    """Where the name in a run of capitalized words is ("Mr. Lee", "Green Valley Market"), or None
    when the run names nothing ("The", "So", a heading of common words)."""
    while run and run[-1].text in _CONNECTORS:
        run = run[:-1]
    label = bool(run) and _is_label(text, run[0].start, run[-1].end)  # before its first words go
    at_start = bool(run) and run[0].sentence_start
    dropped = False
    while run and (
        _bare(run[0].low) in _STARTERS or run[0].low.endswith(("ing", "ly")) or run[0].text in _CONNECTORS
    ):
        run = run[1:]
        dropped = True
    # "I" (and "I'd"), and variables such as "X" in "X + 5 = 12"
    run = [lex for lex in run if len(lex.text) > 1 and lex.text.replace("\u2019", "'").split("'")[0] != "I"]
    if not run or (at_start and not dropped and len(run) == 1 and not _rare_word(_bare(run[0].low))):
        return None
    if at_start and not dropped and len(run) == 1 and _NOT_AFTER_NAME.match(text, run[0].end):
        return None
    if len(run) > 6:
        return None  # a heading or a title in Title Case, not a name
    if label and not any(_very_rare_word(_bare(lex.low)) for lex in run):
        return None  # "### Daily Earnings", "**Eggs Sold:**": a heading of common words
    if all(lex.text.casefold() in _TITLES for lex in run):
        return None
    return run[0].start, run[-1].end


def _rare_word(word: str) -> bool:
    """A word too rare in English to start a sentence by chance: likely a name ("Tobias checked it").

    A single capitalized word at a sentence start is otherwise not taken for a name, since "Shoes"
    or "Divide" are capitalized there too. Frequent names ("John") are missed; that is the price.
    """
    return english_zipf(word) < _RARE_ZIPF


def _very_rare_word(word: str) -> bool:
    """Rarer than the words of headings ("calculation" 3.6, "earnings" 4.2 on wordfreq's scale):
    in a heading, only such a word is taken for a name ("Tobias" 3.3 is not, "Nair" 2.6 is)."""
    return english_zipf(word) < _HEADING_ZIPF
