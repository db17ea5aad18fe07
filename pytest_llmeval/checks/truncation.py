"""Truncation: ``not_truncated`` tells a cut-off answer from the finish reason, or, when none is
known, from how the text ends (an open code block or bracket, a sentence stopped midway)."""

from __future__ import annotations

import itertools
import re

from .evidence import EVIDENCE_CHARS, shorten
from .fences import fences
from .result import CheckResult, text_of
from .text import word_set

__all__ = ["not_truncated", "truncation_reason"]


# Calibrated on SmolLM2 outputs whose finish reason was known (see the tests' data README).
_MID_SENTENCE_MIN_WORDS = 12
_FINAL_CHARS = frozenset(".!?…:;)]}\"'”’»>`*|~_。！？」』）")  # noqa: RUF001
_FUNCTION_WORDS = word_set(
    "the a an and or but of to in on at for with from by as that which who whose is are was were be "
    "this these those my your our their its if then than because while so into"
)
_OPEN_CLOSE = re.compile(r"[(\[{)\]}]")
_NOT_A_BRACKET = re.compile(r"[^(\[{)\]}]+")
_EMOTICON = re.compile(r"(?<!\S)[:;=]-?[()\[\]]")  # ":(" after a space, not "f(x)" or "a=(1)"
_LIST_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|#{1,6})\s+")
_EMPTY_ITEM = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s*$")
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$")  # a Markdown rule ("---", "* * *") ends a section
_OPEN_BOLD = re.compile(r"(?<!\S)\*\*[^\s*][^*]*$")  # "**Using a Virt" but not "x**2"
_TABLE_ROW = re.compile(r"^\s*\||\|\s*$")
# An answer never ends on what must be followed: an operator ("4 + 5 =", "3 *"), a currency sign
# ("a cost of $") or a colon that announces what comes next ("we multiply by 3.33:").
_DANGLING = re.compile(r"(?:[\s\d)][=+\u00d7\u00f7*/-]|[$€£]|:)$")  # \u00d7 times, \u00f7 divided by
# Words no line of verse ends on ("A lighthouse in fog, a beacon of", "a day of"): a poem cut there.
_VERSE_BREAKS = word_set("the a an of with from and or but than my your our their its")


def _unclosed_fence(text: str) -> bool:
    blocks = fences(text)
    return bool(blocks) and not blocks[-1].closed


def _unclosed_bracket(text: str) -> int | None:
    """Where the outermost bracket still open at the end of the text was opened, or None.

    Any closer closes the innermost opener, whatever its shape, so "[0, 1)" and emoticons do not
    count as unbalanced; only openers that are never closed do.
    """
    text = _EMOTICON.sub("  ", text)
    depth, outermost = 0, 0
    # The loop runs over the brackets alone (C-speed filtering): cheap even on 1 MB of "(".
    for k, char in enumerate(_NOT_A_BRACKET.sub("", text)):
        if char in "([{":
            if depth == 0:
                outermost = k
            depth += 1
        elif depth:
            depth -= 1
    if depth == 0:
        return None
    return next(itertools.islice(_OPEN_CLOSE.finditer(text), outermost, None)).start()


def _verse(text: str) -> bool:
    """The text ends in three or more short lines (a poem, lyrics, an address) that need no period."""
    lines = text.rsplit("\n", 3)[-3:]
    return len(lines) == 3 and all(
        0 < len(line.split()) <= 10 and not _LIST_ITEM.match(line) for line in lines
    )


def truncation_reason(text: str) -> str | None:
    """Why ``text`` looks cut off (no finish reason known), or None when it looks complete."""
    body = text.rstrip()
    if _unclosed_fence(body):
        return "a ``` code block is never closed"
    if not body:
        return None
    opened = _unclosed_bracket(body)
    if opened is not None:
        return f"a bracket opened at char {opened} is never closed"
    lines = body.rsplit("\n", 2)
    last_line = lines[-1]
    if _DANGLING.search(body[-2:]) and not _RULE.match(last_line):
        return f"it ends on {body[-1]!r}, before what must follow it"
    table_row = last_line.lstrip().startswith("|") and not last_line.rstrip().endswith("|")
    if table_row and len(lines) > 1 and lines[-2].rstrip().endswith("|"):
        return "a table row is cut off"
    if _EMPTY_ITEM.match(last_line):
        return "it ends on an empty list item"
    if _OPEN_BOLD.search(last_line):
        return "a **bold** span is never closed"
    if re.search(r"\w-$", body):
        return "it ends on a hyphen, mid-word"
    if (
        body[-1] in _FINAL_CHARS
        or (not body[-1].isalnum() and body[-1] != ",")
        or _TABLE_ROW.search(last_line)
    ):
        return None
    item = _LIST_ITEM.match(last_line)
    last_words = re.findall(r"\w+", last_line[item.end() if item else 0 :])
    total_words = len(re.findall(r"\w+", body[-4000:]))
    if total_words < 4 or not last_words:
        return None
    if _verse(body):
        if last_words[-1].casefold() in _VERSE_BREAKS:
            return f"a line of verse ends mid-phrase on {last_words[-1]!r}"
        return None
    if last_words[-1].casefold() in _FUNCTION_WORDS:
        return f"it ends mid-sentence on {last_words[-1]!r}"
    if body[-1] == ",":
        return "it ends on a comma"
    # A short list item ("- Apples") or an answer ending in a number ("... is (C) 03/02/2016") needs
    # no period; a line of prose does.
    if body[-1].isdigit():
        return None
    if total_words >= _MID_SENTENCE_MIN_WORDS and len(last_words) >= (8 if item else 3):
        return "it ends mid-sentence, without final punctuation"
    return None


def not_truncated(output: str, *, finish_reason: str | None = None) -> CheckResult:
    """The output was not cut off: its finish reason is not "length" and, when the reason is unknown,
    it does not stop inside a code block, inside brackets, or mid-sentence.

    The finish reason comes from ``output.finish_reason`` (an ``Output`` from the ``llm`` fixture
    has one), else from the argument.
    """
    reason_seen = getattr(output, "finish_reason", None)
    output = text_of(output, "not_truncated")
    if finish_reason is not None and not isinstance(finish_reason, str):
        raise ValueError(f"not_truncated(): finish_reason must be a string or None, got {finish_reason!r}")
    finish = reason_seen if isinstance(reason_seen, str) else finish_reason
    tail = (shorten(output[-EVIDENCE_CHARS:]),) if output else ()
    if finish == "length":
        return CheckResult.of(
            "not_truncated", False, "generation stopped at the token limit (finish_reason='length')", tail
        )
    if finish is not None:
        return CheckResult.of("not_truncated", True, f"generation ended by itself (finish_reason={finish!r})")
    why = truncation_reason(output)
    if why is not None:
        return CheckResult.of("not_truncated", False, f"the output looks cut off: {why}", tail)
    return CheckResult.of("not_truncated", True, "the output ends cleanly")
