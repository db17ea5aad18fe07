"""Eval cases and their loaders: files (jsonl, json, csv, parquet) and hub datasets.

A bad row is reported with its file and line (or row number), so a typo in a dataset of ten
thousand cases takes seconds to find.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from .checks.evidence import LONE_SURROGATE

Message = dict[str, str]

_CASE_FIELDS = (
    "id",
    "prompt",
    "messages",
    "expected",
    "choices",
    "answer",
    "continuation",
    "context",
    "tags",
    "critical",
)


class CaseError(ValueError):
    """A case or a dataset row that cannot become a case; the message says where it came from."""


class Case(BaseModel):
    """One eval case: what to ask, and what a good answer looks like.

    Give ``prompt`` (raw text) or ``messages`` (a chat), not both. A multiple-choice case has
    ``choices`` and ``answer``, the index of the right one; each choice is scored as a
    continuation of the prompt. With ``continuation`` set the scoring is "partial", as in
    lm-evaluation-harness's WinoGrande: each choice completes the prompt, and the choices are
    ranked by the loglikelihood of the shared ``continuation`` after prompt + choice.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    expected: Any = None
    choices: tuple[str, ...] | None = None
    answer: int | None = None
    continuation: str | None = None
    context: str | None = None
    tags: tuple[str, ...] = ()
    critical: bool = False
    metadata: dict[str, Any] = {}

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(value, str) and LONE_SURROGATE.search(value):
            # No file holds it: a baseline reads it back as another id, and a report cannot say it.
            raise ValueError(f"a case id is text that UTF-8 can hold; {value!r} has a lone surrogate")
        return value

    @field_validator("tags", mode="before")
    @classmethod
    def _tags_from_text(cls, value: Any) -> Any:
        # A CSV column holds tags as "a,b"; a JSON file holds a list.
        return tuple(t.strip() for t in value.split(",") if t.strip()) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Case:
        if not self.id:
            raise ValueError("id must not be empty")
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a case needs exactly one of prompt or messages")
        for message in self.messages or ():
            if set(message) != {"role", "content"}:
                raise ValueError(f"each message needs exactly 'role' and 'content', got {sorted(message)}")
        if self.choices is not None:
            if len(self.choices) < 2:
                raise ValueError("a multiple-choice case needs at least two choices")
            if self.answer is None:
                raise ValueError("a multiple-choice case needs answer, the index of the right choice")
            if not 0 <= self.answer < len(self.choices):
                raise ValueError(f"answer {self.answer} is out of range for {len(self.choices)} choices")
        elif self.answer is not None:
            raise ValueError("answer is the index of the right choice, but the case has no choices")
        if self.continuation is not None and (self.choices is None or self.prompt is None):
            raise ValueError("continuation (partial scoring) needs a prompt and choices")
        return self

    def __str__(self) -> str:  # pytest ids: parametrize(..., ids=str)
        return self.id

    def input_hash(self) -> str:
        """A hash of what the model is asked and what the case expects (not tags or metadata).

        Baselines keep it per case, so a rerun can tell that a case with the same id now asks
        something else: the dataset or the prompt template changed under the baseline.
        """
        asked = self.model_dump(
            mode="json",
            include={"prompt", "messages", "expected", "choices", "answer", "continuation", "context"},
        )
        text = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def display_prompt(self) -> str:
        """The prompt as reports show it: the text, or each chat turn as ``role: content``."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(f"{m['role']}: {m['content']}" for m in self.messages or ())


def load_cases(
    source: str | Path,
    *,
    fields: Mapping[str, str] | None = None,
    template: str | None = None,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    split: str = "train",
    subset: str | None = None,
) -> list[Case]:
    """Read cases from a jsonl, json, csv or parquet file, or a hub dataset id.

    ``fields`` maps case fields to the source's column names (``{"prompt": "question"}``);
    ``template`` builds the prompt from a row's columns (``"Q: {question}\\nA:"``). Columns that
    are not case fields go to ``metadata``. Rows without an id get ``<name>-<row number>``.
    ``sample`` draws that many rows with ``seed`` (order kept); ``limit`` then keeps the first ones.
    """
    mapping = dict(fields or {})
    unknown = sorted(set(mapping) - set(_CASE_FIELDS))
    if unknown:
        raise CaseError(f"fields maps unknown case fields {unknown}; case fields are {list(_CASE_FIELDS)}")
    rows, name = _read_rows(source, split=split, subset=subset)
    if sample is not None:
        if sample < 1:
            raise CaseError(f"sample must be at least 1, got {sample}")
        picked = sorted(random.Random(seed).sample(range(len(rows)), min(sample, len(rows))))
        rows = [rows[i] for i in picked]
    if limit is not None:
        if limit < 0:
            raise CaseError(f"limit must be 0 or more, got {limit}")
        rows = rows[:limit]
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for row in rows:
        case = _case_from_row(row, name, mapping, template)
        if case.id in seen:
            raise CaseError(f"{row.where}: duplicate case id {case.id!r} (first at {seen[case.id]})")
        seen[case.id] = row.where
        cases.append(case)
    return cases


class Row(NamedTuple):
    where: str  # for messages: "data.jsonl:12" or "data.json: row 3"
    number: int  # the line or row number in ``where``, which also names a case without an id
    columns: dict[str, Any]
    cells: Mapping[str, str] = {}  # a CSV row's cells as written, before JSON-looking ones were decoded


# Fields that are text whatever a CSV cell looks like: a prompt "[1, 2, 3]" or an id "true".
_TEXT_FIELDS = ("id", "prompt", "continuation", "context")


def _read_rows(source: str | Path, *, split: str, subset: str | None) -> tuple[list[Row], str]:
    path = Path(source).expanduser()
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".csv", ".parquet"):
        if not path.is_file():
            raise CaseError(f"dataset file does not exist: {source}")
        reader = {".jsonl": _jsonl_rows, ".json": _json_rows, ".csv": _csv_rows, ".parquet": _parquet_rows}
        return list(reader[suffix](path)), path.stem
    if path.exists():
        raise CaseError(f"{source}: unsupported dataset file type; use .jsonl, .json, .csv or .parquet")
    return list(_hub_rows(str(source), split=split, subset=subset)), str(source).rsplit("/", 1)[-1]


def _text(path: Path) -> str:
    """The file as text: UTF-8, a byte order mark (Excel and Notepad write one) dropped; bytes that
    are not UTF-8 are an error that names the file, line and column."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        data, start = bytes(exc.object), exc.start  # after the byte order mark, if there is one
        line = data.count(b"\n", 0, start) + 1
        column = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise CaseError(
            f"{path}:{line}: not valid UTF-8 (byte 0x{data[start]:02x} at column {column}); "
            "save the file as UTF-8"
        ) from None


def _jsonl_rows(path: Path) -> Iterator[Row]:
    for number, line in enumerate(_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CaseError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        yield Row(where, number, _as_object(row, where))


def _json_rows(path: Path) -> Iterator[Row]:
    try:
        data = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise CaseError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    # A bare list of rows, or an object holding one (lm-eval style {"examples": [...]}).
    if isinstance(data, dict):
        lists = [v for v in data.values() if isinstance(v, list)]
        if len(lists) != 1:
            raise CaseError(f"{path}: expected a list of cases, or an object with exactly one list in it")
        data = lists[0]
    if not isinstance(data, list):
        raise CaseError(f"{path}: expected a list of cases, got {type(data).__name__}")
    for index, row in enumerate(data):
        where = f"{path}: row {index}"
        yield Row(where, index, _as_object(row, where))


def _csv_rows(path: Path) -> Iterator[Row]:
    with io.StringIO(_text(path), newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        twice = sorted({name for name in header if header.count(name) > 1})
        if twice:  # DictReader would keep the last column of each name, silently
            raise CaseError(f"{path}:1: the header names {', '.join(map(repr, twice))} more than once")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row or any(value is None for value in row.values()):
                found = len(header) + len(row.get(None) or []) - sum(v is None for v in row.values())
                raise CaseError(f"{where}: ragged row with {found} values for {len(header)} columns")
            cells = {key: v for key, v in row.items() if key is not None}
            yield Row(where, reader.line_num, {key: _csv_value(v) for key, v in cells.items()}, cells)


def _csv_value(value: str) -> Any:
    # CSV has no types: JSON-looking cells ([...], {...}, true, numbers) are decoded, the rest is text.
    text = value.strip()
    if text[:1] in ("[", "{") or text in ("true", "false"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError... on a damaged file
        raise CaseError(f"{path}: not a readable parquet file ({exc})") from exc
    for index, row in enumerate(table.to_pylist()):
        yield Row(f"{path}: row {index}", index, row)


def _hub_rows(name: str, *, split: str, subset: str | None) -> Iterator[Row]:
    try:
        import datasets

        dataset = datasets.load_dataset(name, subset, split=split)
    except Exception as exc:  # offline, unknown id, missing split...
        raise CaseError(
            f"could not load {name!r} as a file or a hub dataset ({type(exc).__name__}: {exc})"
        ) from exc
    for index, row in enumerate(dataset):
        yield Row(f"{name}[{split}]: row {index}", index, dict(row))


def _as_object(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise CaseError(f"{where}: expected an object with the case's fields, got {type(row).__name__}")
    return row


def _case_from_row(source: Row, name: str, mapping: Mapping[str, str], template: str | None) -> Case:
    where, row = source.where, source.columns
    values: dict[str, Any] = {}
    mapped = set(mapping.values())
    for field in _CASE_FIELDS:
        if field not in mapping and field in mapped:
            continue  # fields={"expected": "answer"}: that column is the expected text, not the answer
        column = mapping.get(field, field)
        if column in row:
            values[field] = row[column]
            cell = source.cells.get(column)
            if cell is not None and (
                field in _TEXT_FIELDS or (field == "expected" and isinstance(row[column], bool))
            ):
                values[field] = cell  # an expected answer "true" is the text, not a bool
        elif field in mapping:
            raise CaseError(
                f"{where}: missing field {column!r} (mapped to {field}); the row has {sorted(row)}"
            )
    if template is not None:
        if "prompt" in values or "messages" in values:
            raise CaseError(f"{where}: the row has a prompt or messages and a template was given: pick one")
        try:
            values["prompt"] = template.format(**row)
        except KeyError as exc:
            raise CaseError(
                f"{where}: the template needs column {exc.args[0]!r}; the row has {sorted(row)}"
            ) from None
        except (ValueError, IndexError) as exc:  # a stray "{", or "{0}" with no positional value
            raise CaseError(f"{where}: the template {template!r} cannot be filled in: {exc}") from None
    values.setdefault("id", f"{name}-{source.number}")
    if values.get("choices") and values.get("answer") is not None:
        values["answer"] = answer_index(values["answer"], values["choices"], where)
    used = {mapping.get(field, field) for field in _CASE_FIELDS} | mapped
    values["metadata"] = {key: value for key, value in row.items() if key not in used}
    try:
        return Case(**values)
    except ValidationError as exc:
        problems = "; ".join(_describe(error) for error in exc.errors())
        raise CaseError(f"{where}: {problems}") from None


def _describe(error: Any) -> str:
    field = ".".join(str(part) for part in error["loc"]) or "case"
    return f"{field}: {str(error['msg']).removeprefix('Value error, ')}"


AnswerFormat = Literal["auto", "index", "letter", "text"]
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def answer_index(value: Any, options: Sequence[str], where: str, answer_format: AnswerFormat = "auto") -> int:
    """The index of the right choice from an answer given as an index, a letter ("C", "(C)") or a
    choice's text; an answer that reads as different choices in two ways is refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        if answer_format not in ("auto", "index"):
            raise CaseError(f"{where}: answer {value!r} is a number, not a {answer_format}")
        return in_range(value, len(options), where)
    if not isinstance(value, str):
        raise CaseError(f"{where}: answer must be an index, a letter or a choice's text, got {value!r}")
    readings: dict[str, int] = {}
    if value in options:
        readings["text"] = list(options).index(value)
    letter = value.strip().removeprefix("(").removesuffix(")").upper()
    if len(letter) == 1 and letter in _LETTERS and _LETTERS.index(letter) < len(options):
        readings["letter"] = _LETTERS.index(letter)
    if value.strip().isdecimal():  # "²" is a digit to isdigit() but no int()
        readings["index"] = int(value)
    if answer_format != "auto":
        if answer_format not in readings:
            raise CaseError(
                f"{where}: answer {value!r} is not a valid {answer_format} for {len(options)} choices"
            )
        return in_range(readings[answer_format], len(options), where)
    valid = {name: i for name, i in readings.items() if 0 <= i < len(options)}
    if not valid:
        raise CaseError(
            f"{where}: answer {value!r} is not an index, a letter or one of the choices {options}"
        )
    if len(set(valid.values())) > 1:
        ways = ", ".join(f"as {name} choice {i}" for name, i in valid.items())
        raise CaseError(
            f"{where}: answer {value!r} is ambiguous ({ways}); write the index as a number "
            "(or set answer_format)"
        )
    return next(iter(valid.values()))


def in_range(index: int, count: int, where: str) -> int:
    if not 0 <= index < count:
        raise CaseError(f"{where}: answer {index} is out of range for {count} choices")
    return index
