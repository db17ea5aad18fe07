"""BIG-Bench Hard as multiple-choice questions scored by loglikelihood.

The prompt is lm-evaluation-harness's zero-shot BBH format (``Q: {input}\\nA:``) and each
choice is scored as the continuation ``" " + choice``. The choices come from the task itself:
lettered options ``(A)``..``(F)`` listed in the input, otherwise the task's answer labels
(Yes/No, yes/no, True/False).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..cases import Case, CaseError, _text

_OPTION = re.compile(r"^\(([A-Z])\) ", re.MULTILINE)
_LABEL_SETS = (("Yes", "No"), ("yes", "no"), ("True", "False"), ("valid", "invalid"))


def load_bbh(path: str | Path, limit: int | None = None) -> list[Case]:
    """Read one BBH task file into multiple-choice questions (in file order, ``limit`` first ones)."""
    path = Path(path)
    try:
        examples = json.loads(_text(path))["examples"]  # UTF-8, a byte order mark dropped
    except (OSError, ValueError, KeyError) as exc:
        raise CaseError(f"{path}: not a BBH task file ({exc})") from exc
    targets = {e["target"] for e in examples}
    labels = next((s for s in _LABEL_SETS if targets <= set(s)), None)
    questions = []
    for number, example in enumerate(examples[:limit], start=1):
        choices: tuple[str, ...]
        if labels is not None:
            choices = labels
        else:
            choices = tuple(f"({letter})" for letter in _OPTION.findall(example["input"]))
        if example["target"] not in choices:
            raise CaseError(f"{path}: example {number} has target {example['target']!r} outside {choices}")
        questions.append(
            Case(
                id=f"{path.stem}/{number}",
                prompt=f"Q: {example['input']}\nA:",
                choices=choices,
                answer=choices.index(example["target"]),
                tags=(path.stem,),
            )
        )
    return questions
