"""Standard multiple-choice benchmarks with lm-evaluation-harness's exact zero-shot prompts.

Each adapter takes rows in the Hugging Face schema lm-eval loads and reproduces the task's
``doc_to_text``, ``doc_to_choice`` and ``doc_to_target`` (and its ``description``, which lm-eval
puts in front of the question with nothing in between), so a score here can be set next to an
lm-eval 0.4.13 score of the same model. The plugin scores each choice as the continuation
``" " + choice`` (lm-eval's default ``target_delimiter``) after the prompt.

The formats come from ``lm_eval/tasks/``: ``mmlu/default/_default_template_yaml`` (with the
per-subject ``description`` of ``mmlu/default/mmlu_<subject>.yaml``), ``hellaswag/hellaswag.yaml``
and ``hellaswag/utils.py``, ``arc/arc_easy.yaml`` and ``arc/arc_challenge.yaml``,
``openbookqa/openbookqa.yaml`` and ``truthfulqa/truthfulqa_mc1.yaml``.

WinoGrande is scored "partially", as lm-eval's ``winogrande/preprocess_winogrande.py`` does:
the contexts differ (the sentence up to the blank, filled with each option) and the
continuation is the same (the rest of the sentence), so the choices are ranked by
log P(rest | prefix + option). Its cases set ``Case.continuation`` for that.

Case ids are ``<task>/<n>`` with ``n`` the row's 0-based position, lm-eval's ``doc_id``, so
per-question results can be matched against lm-eval's samples.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from ..cases import AnswerFormat, Case, CaseError, _read_rows, answer_index, in_range

__all__ = [
    "SourceRow",
    "arc_challenge_cases",
    "arc_easy_cases",
    "hellaswag_cases",
    "load_rows",
    "mmlu_cases",
    "multiple_choice_cases",
    "openbookqa_cases",
    "truthfulqa_mc1_cases",
    "winogrande_cases",
]

_FILE_TYPES = (".jsonl", ".json", ".csv", ".parquet")
# truthfulqa/truthfulqa_mc1.yaml: the fixed six-question primer ("QA prompt" of the TruthfulQA
# paper) that lm-eval builds into doc_to_text; the task has num_fewshot: 0 and no description.
TRUTHFULQA_PRIMER = (
    "Q: What is human life expectancy in the United States?\n"
    "A: Human life expectancy in the United States is 78 years.\n\n"
    "Q: Who was president of the United States in 1955?\n"
    "A: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
    "Q: Which party did he belong to?\n"
    "A: He belonged to the Republican Party.\n\n"
    "Q: What is the square root of banana?\n"
    "A: I have no comment.\n\n"
    "Q: How does a telescope work?\n"
    "A: Telescopes use lenses or mirrors to focus light and make objects appear closer.\n\n"
    "Q: Where were the 1992 Olympics held?\n"
    "A: The 1992 Olympics were held in Barcelona, Spain."
)


class SourceRow(dict[str, Any]):
    """A dataset row that remembers where it came from ("data.jsonl:12"), for error messages."""

    def __init__(self, columns: Mapping[str, Any], where: str) -> None:
        super().__init__(columns)
        self.where = where


def load_rows(source: str | Path, *, split: str, subset: str | None = None) -> list[SourceRow]:
    """Rows of a local .jsonl, .json, .csv or .parquet file, or of a hub dataset via ``datasets``.

    ``split`` and ``subset`` (the hub's config name, e.g. MMLU's ``"abstract_algebra"``) only
    apply to hub datasets. Each row keeps its location, so an adapter's error names the line.
    """
    path = Path(source).expanduser()
    if path.suffix.lower() in _FILE_TYPES or path.exists():
        rows, _ = _read_rows(path, split=split, subset=subset)
        return [SourceRow(row.columns, row.where) for row in rows]
    return list(_hub_rows(str(source), split=split, subset=subset))


def _hub_rows(name: str, *, split: str, subset: str | None) -> Iterator[SourceRow]:
    offline = [var for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE") if _is_set(os.environ.get(var))]
    try:
        import datasets

        dataset = datasets.load_dataset(name, subset, split=split)
    except Exception as exc:  # offline, unknown id, missing split or subset...
        why = f"{' and '.join(offline)} is set, so only an already cached copy can load; " if offline else ""
        raise CaseError(
            f"could not load hub dataset {name!r} (subset {subset!r}, split {split!r}): {why}"
            f"{type(exc).__name__}: {exc}. Download it once while online, or pass a local "
            f".jsonl, .json or .parquet file"
        ) from exc
    label = f"{name}/{subset}" if subset else name
    for index, row in enumerate(dataset):
        yield SourceRow(row, f"{label}[{split}]: row {index}")


def _is_set(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def mmlu_cases(
    rows: Iterable[Mapping[str, Any]], *, subject: str | None = None, limit: int | None = None
) -> list[Case]:
    """MMLU (``cais/mmlu``: question, choices, answer, subject) as lm-eval's default ``mmlu_<subject>``.

    The prompt is the subject's description line and a blank line, then the question with the
    four options lettered A-D and ``Answer:``; the choices are the letters, not the option texts.
    ``subject`` (``"abstract_algebra"``) names the description's subject; without it each row's
    ``subject`` column does (the hub's ``all`` subset has one).
    """
    cases = []
    for index, where, row in _rows(rows, "mmlu", limit):
        question = _text(row, "question", where)
        options = _list(row, "choices", where)
        if len(options) != 4:
            raise CaseError(f"{where}: MMLU has 4 choices (A-D), got {len(options)}")
        name = subject if subject is not None else row.get("subject")
        if not isinstance(name, str) or not name:
            raise CaseError(
                f"{where}: no subject for the description line: pass subject= or a subject column"
            )
        name = name.replace(" ", "_")
        # mmlu/default/mmlu_<subject>.yaml: description; _default_template_yaml: doc_to_text.
        description = f"The following are multiple choice questions (with answers) about {_spaced(name)}.\n\n"
        lettered = "".join(f"\n{letter}. {option}" for letter, option in zip("ABCD", options, strict=True))
        answer = row.get("answer")
        if isinstance(answer, str) and answer.strip() in ("A", "B", "C", "D"):
            answer = "ABCD".index(answer.strip())  # some exports use letters; the hub uses 0-3
        cases.append(
            _case(
                where,
                id=f"mmlu_{name}/{index}",
                prompt=f"{description}{question.strip()}{lettered}\nAnswer:",
                choices=("A", "B", "C", "D"),
                answer=_index(row, "answer", answer, 4, where),
                tags=("mmlu", f"mmlu_{name}"),
                metadata={"subject": name, "options": tuple(options)},
            )
        )
    return cases


def _spaced(subject: str) -> str:
    # mmlu/_generate_configs.py: "about {' '.join(subject.split('_'))}."
    return " ".join(subject.split("_"))


def hellaswag_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """HellaSwag (``Rowan/hellaswag``: activity_label, ctx_a, ctx_b, endings, label), lm-eval's ``hellaswag``.

    hellaswag/utils.py builds the prompt as ``activity_label + ": " + ctx_a + " " +
    ctx_b.capitalize()`` (``str.capitalize`` also lowercases the rest of ctx_b) and cleans it and
    each ending of WikiHow's bracket markup; the prompt ends without a space, since the plugin
    puts one in front of each ending.
    """
    cases = []
    for index, where, row in _rows(rows, "hellaswag", limit):
        context = _text(row, "ctx_a", where) + " " + _text(row, "ctx_b", where).capitalize()
        endings = [_hellaswag_clean(ending) for ending in _strings(row, "endings", where)]
        label = row.get("label")
        if isinstance(label, str) and label.strip().isdigit():
            label = int(label)  # the hub stores it as text: "3"
        cases.append(
            _case(
                where,
                id=f"hellaswag/{index}",
                prompt=_hellaswag_clean(_text(row, "activity_label", where) + ": " + context),
                choices=tuple(endings),
                answer=_index(row, "label", label, len(endings), where),
                tags=("hellaswag",),
                metadata=_keep(row, "ind", "source_id", "split_type"),
            )
        )
    return cases


def _hellaswag_clean(text: str) -> str:
    # hellaswag/utils.py preprocess(), step for step: a single pass of each replacement.
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def arc_easy_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """ARC-Easy (``allenai/ai2_arc``: question, choices{text,label}, answerKey) as lm-eval's ``arc_easy``."""
    return _arc(rows, "arc_easy", limit)


def arc_challenge_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """ARC-Challenge, in the same format as ARC-Easy (arc_challenge.yaml includes arc_easy.yaml)."""
    return _arc(rows, "arc_challenge", limit)


def _arc(rows: Iterable[Mapping[str, Any]], task: str, limit: int | None) -> list[Case]:
    cases = []
    for index, where, row in _rows(rows, task, limit):
        texts, key = _labelled_choices(row, "answerKey", where)
        cases.append(
            _case(
                where,
                id=f"{task}/{index}",
                # arc/arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:"
                prompt=f"Question: {_text(row, 'question', where)}\nAnswer:",
                choices=texts,
                answer=key,
                tags=("arc", task),
                metadata=_keep(row, "id"),
            )
        )
    return cases


def openbookqa_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """OpenBookQA (``allenai/openbookqa`` main: question_stem, choices{text,label}, answerKey).

    openbookqa/openbookqa.yaml: the prompt is the bare question stem (no "Question:" or
    "Answer:"), the choices are the option texts and the target is ``answerKey.lstrip()``'s label.
    """
    cases = []
    for index, where, row in _rows(rows, "openbookqa", limit):
        texts, key = _labelled_choices(row, "answerKey", where, lstrip=True)
        cases.append(
            _case(
                where,
                id=f"openbookqa/{index}",
                prompt=_text(row, "question_stem", where),
                choices=texts,
                answer=key,
                tags=("openbookqa",),
                metadata=_keep(row, "id"),
            )
        )
    return cases


def _labelled_choices(
    row: Mapping[str, Any], key_column: str, where: str, *, lstrip: bool = False
) -> tuple[tuple[str, ...], int]:
    """``choices.text`` and the index of the answer key in ``choices.label`` (ARC, OpenBookQA)."""
    choices = _field(row, "choices", where)
    if not isinstance(choices, Mapping) or not {"text", "label"} <= set(choices):
        raise CaseError(f"{where}: choices must be an object with 'text' and 'label' lists, got {choices!r}")
    texts, labels = choices["text"], choices["label"]
    if not isinstance(texts, Sequence) or not isinstance(labels, Sequence) or len(texts) != len(labels):
        raise CaseError(f"{where}: choices.text and choices.label must be lists of the same length")
    key = _text(row, key_column, where)
    key = key.lstrip() if lstrip else key
    if key not in labels:
        raise CaseError(f"{where}: {key_column} {key!r} is not one of the choice labels {list(labels)}")
    return tuple(texts), list(labels).index(key)


def truthfulqa_mc1_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """TruthfulQA MC1 (``truthfulqa/truthful_qa`` multiple_choice: question, mc1_targets{choices,labels}).

    The prompt is lm-eval's fixed six-question primer, then ``Q: {question}\\nA:``. lm-eval
    hard-codes ``doc_to_target: 0`` because the dataset lists the one true answer first; the index
    here is read from ``labels``, which is 0 on the real data and stays right if a copy is shuffled.
    """
    cases = []
    for index, where, row in _rows(rows, "truthfulqa_mc1", limit):
        targets = _field(row, "mc1_targets", where)
        if not isinstance(targets, Mapping) or not {"choices", "labels"} <= set(targets):
            raise CaseError(f"{where}: mc1_targets must be an object with 'choices' and 'labels' lists")
        choices, labels = _strings(targets, "choices", where), _list(targets, "labels", where)
        if len(labels) != len(choices) or labels.count(1) != 1:
            raise CaseError(
                f"{where}: mc1_targets.labels must mark exactly one of the {len(choices)} choices with 1, "
                f"got {labels!r}"
            )
        cases.append(
            _case(
                where,
                id=f"truthfulqa_mc1/{index}",
                prompt=f"{TRUTHFULQA_PRIMER}\n\nQ: {_text(row, 'question', where)}\nA:",
                choices=tuple(choices),
                answer=labels.index(1),
                tags=("truthfulqa", "truthfulqa_mc1"),
            )
        )
    return cases


def winogrande_cases(rows: Iterable[Mapping[str, Any]], *, limit: int | None = None) -> list[Case]:
    """WinoGrande (``allenai/winogrande``: sentence with one ``_``, option1, option2, answer "1"/"2").

    Partial scoring, as lm-eval's ``winogrande`` task: the prompt is the sentence before the
    blank, each choice fills the blank, and the shared continuation is the rest of the sentence,
    stripped (lm-eval puts its ``" "`` target delimiter in front).
    """
    cases = []
    for index, where, row in _rows(rows, "winogrande", limit):
        sentence = _text(row, "sentence", where)
        if sentence.count("_") != 1:
            raise CaseError(f"{where}: sentence must have exactly one blank '_', got {sentence!r}")
        answer = _text(row, "answer", where)
        if answer not in ("1", "2"):
            raise CaseError(f"{where}: answer must be '1' or '2', got {answer!r}")
        blank = sentence.index("_")
        cases.append(
            _case(
                where,
                id=f"winogrande/{index}",
                prompt=sentence[:blank],
                choices=(_text(row, "option1", where), _text(row, "option2", where)),
                answer=int(answer) - 1,
                continuation=sentence[blank + 1 :].strip(),
                tags=("winogrande",),
            )
        )
    return cases


def multiple_choice_cases(
    rows: Iterable[Mapping[str, Any]],
    *,
    question: str,
    choices: str | Sequence[str],
    answer: str,
    template: str = "{question}",
    id_prefix: str = "mc",
    answer_format: AnswerFormat = "auto",
    limit: int | None = None,
) -> list[Case]:
    """Cases from any multiple-choice dataset, named by its columns.

    ``question`` and ``answer`` are column names; ``choices`` is the column holding the list of
    options, or several columns holding one option each (``("A", "B", "C", "D")``). ``template``
    is formatted with the row's columns plus ``question`` (the question text) and ``choices`` (the
    options, so ``{choices[0]}`` works). The answer may be an index, a letter (``"B"``, ``"(B)"``)
    or the text of the right option; under ``answer_format="auto"`` a value that reads two ways
    (``"2"`` among options ``"1".."4"``) is an error naming the row; say which with answer_format.
    """
    columns = (choices,) if isinstance(choices, str) else tuple(choices)
    cases = []
    for index, where, row in _rows(rows, id_prefix, limit):
        text = _field(row, question, where)
        if len(columns) == 1:
            options = tuple(_strings(row, columns[0], where))
        else:
            options = tuple(_text(row, column, where) for column in columns)
        fields = {**row, "question": text, "choices": options}
        try:
            prompt = template.format(**fields)
        except (KeyError, IndexError, AttributeError, ValueError) as exc:
            raise CaseError(
                f"{where}: cannot fill the template ({type(exc).__name__}: {exc}); the row has {sorted(row)}"
            ) from None
        used = {question, answer, *columns}
        cases.append(
            _case(
                where,
                id=f"{id_prefix}/{index}",
                prompt=prompt,
                choices=options,
                answer=answer_index(_field(row, answer, where), options, where, answer_format),
                tags=(id_prefix,),
                metadata={key: value for key, value in row.items() if key not in used},
            )
        )
    return cases


# Shared row handling: every error names the row, as "data.jsonl:12" or "<task> row 3".


def _rows(
    rows: Iterable[Mapping[str, Any]], task: str, limit: int | None
) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
    if limit is not None and limit < 0:
        raise CaseError(f"limit must be at least 0, got {limit}")
    for index, row in enumerate(islice(rows, limit)):  # limit first: a generator is not read past it
        where = getattr(row, "where", None) or f"{task} row {index}"
        if not isinstance(row, Mapping):
            raise CaseError(f"{where}: expected a row of columns, got {type(row).__name__}")
        yield index, where, row


def _field(row: Mapping[str, Any], column: str, where: str) -> Any:
    try:
        return row[column]
    except KeyError:
        raise CaseError(f"{where}: missing field {column!r}; the row has {sorted(row)}") from None


def _text(row: Mapping[str, Any], column: str, where: str) -> str:
    value = _field(row, column, where)
    if not isinstance(value, str):
        raise CaseError(f"{where}: {column} must be text, got {type(value).__name__}")
    return value


def _list(row: Mapping[str, Any], column: str, where: str) -> list[Any]:
    value = _field(row, column, where)
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise CaseError(f"{where}: {column} must be a list, got {type(value).__name__}")
    return list(value)


def _strings(row: Mapping[str, Any], column: str, where: str) -> list[str]:
    values = _list(row, column, where)
    if not all(isinstance(value, str) for value in values):
        raise CaseError(f"{where}: {column} must be a list of texts, got {values!r}")
    return values


def _index(row: Mapping[str, Any], column: str, value: Any, count: int, where: str) -> int:
    _field(row, column, where)  # a missing column is reported as missing, not as a bad value
    if not isinstance(value, int) or isinstance(value, bool):
        raise CaseError(f"{where}: {column} must be the index of the right choice, got {value!r}")
    return in_range(value, count, where)


def _keep(row: Mapping[str, Any], *columns: str) -> dict[str, Any]:
    return {column: row[column] for column in columns if column in row}


def _case(where: str, **values: Any) -> Case:
    try:
        return Case(**values)
    except ValidationError as exc:
        raise CaseError(f"{where}: {'; '.join(_problem(error) for error in exc.errors())}") from None


def _problem(error: ErrorDetails) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    field = ".".join(str(part) for part in error["loc"])
    return f"{field}: {message}" if field else message
