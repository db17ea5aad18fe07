"""Cases and their loaders, including every kind of bad input named in the issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.cases import Case, CaseError, load_cases


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_a_case_needs_exactly_one_of_prompt_or_messages() -> None:
    assert str(Case(id="a", prompt="Hi")) == "a"
    Case(id="b", messages=({"role": "user", "content": "Hi"},))
    with pytest.raises(ValueError, match="exactly one of prompt or messages"):
        Case(id="c", prompt="Hi", messages=({"role": "user", "content": "Hi"},))
    with pytest.raises(ValueError, match="exactly one of prompt or messages"):
        Case(id="d")


def test_multiple_choice_answers_are_checked() -> None:
    case = Case(id="mc", prompt="2+2=", choices=("3", "4"), answer=1)
    assert case.choices == ("3", "4")
    with pytest.raises(ValueError, match="answer 2 is out of range for 2 choices"):
        Case(id="mc", prompt="2+2=", choices=("3", "4"), answer=2)
    with pytest.raises(ValueError, match="needs answer"):
        Case(id="mc", prompt="2+2=", choices=("3", "4"))
    with pytest.raises(ValueError, match="has no choices"):
        Case(id="mc", prompt="2+2=", answer=0)
    with pytest.raises(ValueError, match=r"continuation \(partial scoring\) needs a prompt and choices"):
        Case(id="mc", prompt="The _ fell.", continuation="fell.")


def test_jsonl_with_mapping_template_and_metadata(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "qa.jsonl",
        [
            {"q": "What is 2+2?", "a": "4", "topic": "math"},
            {"q": "Capital of France?", "a": "Paris", "topic": "geo", "critical": True},
        ],
    )
    cases = load_cases(path, fields={"expected": "a"}, template="Q: {q}\nA:")
    assert [c.id for c in cases] == ["qa-1", "qa-2"]
    assert cases[0].prompt == "Q: What is 2+2?\nA:" and cases[0].expected == "4"
    assert cases[0].metadata == {"q": "What is 2+2?", "topic": "math"}
    assert cases[1].critical and not cases[0].critical


def test_sample_is_seeded_and_keeps_file_order(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "many.jsonl", [{"id": f"c{i:02d}", "prompt": str(i)} for i in range(50)])
    first = [c.id for c in load_cases(path, sample=10, seed=3)]
    assert first == [c.id for c in load_cases(path, sample=10, seed=3)]
    assert first == sorted(first) and len(first) == 10
    assert first != [c.id for c in load_cases(path, sample=10, seed=4)]
    assert [c.id for c in load_cases(path, limit=3)] == ["c00", "c01", "c02"]


def test_json_csv_and_parquet(tmp_path: Path) -> None:
    rows = [
        {"id": "x", "prompt": "Pick", "choices": ["red", "blue"], "answer": "blue", "tags": "colour,easy"},
        {"id": "y", "prompt": "Pick", "choices": ["a", "b", "c"], "answer": "C", "tags": "letters"},
    ]
    (tmp_path / "mc.json").write_text(json.dumps({"examples": rows}))
    from_json = load_cases(tmp_path / "mc.json")
    assert [(c.answer, c.tags) for c in from_json] == [(1, ("colour", "easy")), (2, ("letters",))]

    (tmp_path / "mc.csv").write_text(
        "id,prompt,choices,answer,tags\n"
        'x,Pick,"[""red"", ""blue""]",1,"colour,easy"\n'
        'y,Pick,"[""a"",""b""]",0,x\n'
    )
    from_csv = load_cases(tmp_path / "mc.csv")
    assert from_csv[0].choices == ("red", "blue") and from_csv[0].answer == 1
    assert from_csv[0].tags == ("colour", "easy")

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.Table.from_pylist([{"id": "p1", "prompt": "Hi", "expected": "Hello"}]), tmp_path / "t.parquet"
    )
    assert load_cases(tmp_path / "t.parquet")[0].expected == "Hello"


def test_a_malformed_jsonl_row_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "prompt": "ok"}\n\n{"id": "b", "prompt": "broken\n')
    with pytest.raises(CaseError, match=r"bad\.jsonl:3: not valid JSON"):
        load_cases(path)


def test_a_byte_order_mark_is_read_past(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    (tmp_path / "a.jsonl").write_bytes(bom + b'{"id": "x", "prompt": "caf\xc3\xa9"}\n')
    (tmp_path / "a.csv").write_bytes(bom + b"id,prompt\r\nx,caf\xc3\xa9\r\n")
    (tmp_path / "a.json").write_bytes(bom + b'[{"id": "x", "prompt": "caf\xc3\xa9"}]')
    for name in ("a.jsonl", "a.csv", "a.json"):
        [case] = load_cases(tmp_path / name)
        assert (case.id, case.prompt) == ("x", "café"), name


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["plain", "bom"])
@pytest.mark.parametrize("name", ["a.jsonl", "a.csv", "a.json"])
def test_bytes_that_are_not_utf8_name_the_file_line_and_column(tmp_path: Path, name: str, bom: bytes) -> None:
    rows = {
        "a.jsonl": b'{"id": "x", "prompt": "ok"}\n{"id": "y", "prompt": "caf\xe9"}\n',
        "a.csv": b"id,prompt\nx,ok\ny,caf\xe9\n",
        "a.json": b'[\n{"id": "x", "prompt": "ok"},\n{"id": "y", "prompt": "caf\xe9"}]',
    }
    path = tmp_path / name
    path.write_bytes(bom + rows[name])
    line = {"a.jsonl": 2, "a.csv": 3, "a.json": 3}[name]
    column = {"a.jsonl": 27, "a.csv": 6, "a.json": 27}[name]
    with pytest.raises(CaseError, match=rf"^{path}:{line}: not valid UTF-8 \(byte 0xe9 at column {column}\)"):
        load_cases(path)


def test_a_missing_mapped_field_names_the_row(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "qa.jsonl", [{"q": "one", "a": "1"}, {"q": "two"}])
    with pytest.raises(CaseError, match=r"qa\.jsonl:2: missing field 'a' \(mapped to expected\)"):
        load_cases(path, fields={"prompt": "q", "expected": "a"})
    with pytest.raises(CaseError, match=r"qa\.jsonl:1: the template needs column 'question'"):
        load_cases(path, template="{question}")


def test_a_ragged_csv_row_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,prompt\na,hello\nb,hi,extra\n")
    with pytest.raises(CaseError, match=r"r\.csv:3: ragged row with 3 values for 2 columns"):
        load_cases(path)
    path.write_text("id,prompt,expected\na,hello,x\nb\n")
    with pytest.raises(CaseError, match=r"r\.csv:3: ragged row with 1 values for 3 columns"):
        load_cases(path)


def test_duplicate_ids_name_both_rows(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "same", "prompt": "a"}, {"id": "same", "prompt": "b"}])
    with pytest.raises(CaseError, match=r"d\.jsonl:2: duplicate case id 'same' \(first at .*d\.jsonl:1\)"):
        load_cases(path)


def test_invalid_cases_in_a_file_name_the_row(tmp_path: Path) -> None:
    both = {"id": "a", "prompt": "x", "messages": [{"role": "user", "content": "x"}]}
    path = write_jsonl(tmp_path / "both.jsonl", [both])
    with pytest.raises(CaseError, match=r"both\.jsonl:1: .*exactly one of prompt or messages"):
        load_cases(path)
    path = write_jsonl(
        tmp_path / "mc.jsonl", [{"id": "a", "prompt": "x", "choices": ["p", "q"], "answer": 5}]
    )
    with pytest.raises(CaseError, match=r"mc\.jsonl:1: .*answer 5 is out of range for 2 choices"):
        load_cases(path)
    path = write_jsonl(tmp_path / "list.jsonl", [["not", "an", "object"]])
    with pytest.raises(CaseError, match=r"list\.jsonl:1: expected an object"):
        load_cases(path)


def test_missing_files_and_unknown_sources(tmp_path: Path) -> None:
    with pytest.raises(CaseError, match="dataset file does not exist"):
        load_cases(tmp_path / "nope.jsonl")
    (tmp_path / "cases.txt").write_text("hello")
    with pytest.raises(CaseError, match="unsupported dataset file type"):
        load_cases(tmp_path / "cases.txt")
    with pytest.raises(CaseError, match="unknown case fields"):
        load_cases(tmp_path / "nope.jsonl", fields={"question": "q"})
    # HF_HUB_OFFLINE is set for the tests: a hub id that is not cached fails with one clear line.
    with pytest.raises(
        CaseError, match=r"could not load 'someone/no-such-dataset' as a file or a hub dataset"
    ):
        load_cases("someone/no-such-dataset")


def test_a_column_mapped_to_one_field_is_not_read_again_by_its_own_name(tmp_path: Path) -> None:
    """The README's fields={"expected": "answer"} on GSM8K rows: the "answer" column was also read
    as Case.answer (the index of a choice), and every row was refused."""
    path = tmp_path / "gsm.jsonl"
    path.write_text(json.dumps({"question": "2+2?", "answer": "2+2=4\n#### 4"}) + "\n")
    [case] = load_cases(path, fields={"expected": "answer"}, template="Q: {question}\nA:")
    assert case.expected == "2+2=4\n#### 4" and case.answer is None and case.prompt == "Q: 2+2?\nA:"
    assert case.metadata == {"question": "2+2?"}
    path.write_text(json.dumps({"context": "Paris is in France.", "q": "Where is Paris?"}) + "\n")
    [case] = load_cases(path, fields={"prompt": "context"})
    assert case.context is None and case.prompt == "Paris is in France."  # not copied into context


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ('"2"', "answer '2' is ambiguous (as text choice 1, as index choice 2); write the index as a number"),
        ("true", "answer must be an index, a letter or a choice's text, got True"),
        ("7", "answer 7 is out of range for 3 choices"),
    ],
)
def test_an_answer_that_reads_two_ways_is_refused_not_guessed(
    tmp_path: Path, answer: str, message: str
) -> None:
    """The same rule as the benchmarks' loaders (once load_cases took "2" as an index where choice
    "2" was meant)."""
    path = tmp_path / "mc.jsonl"
    path.write_text(f'{{"prompt": "Legs of a bird?", "choices": ["1", "2", "3"], "answer": {answer}}}\n')
    with pytest.raises(CaseError, match=r"mc\.jsonl:1: ") as error:
        load_cases(path)
    assert message in str(error.value)
    path.write_text('{"prompt": "Capital?", "choices": ["Paris", "Rome"], "answer": "(A)"}\n')
    assert load_cases(path)[0].answer == 0


def test_csv_cells_keep_their_text_where_a_case_wants_text(tmp_path: Path) -> None:
    """A CSV cell "true" became a bool even as an expected answer (contains() then raised), and a
    prompt "[1, 2, 3]" a list (refused)."""
    path = tmp_path / "c.csv"
    path.write_text('id,prompt,expected,critical,tags\nt1,"[1, 2, 3]",true,true,"[""x""]"\n')
    [case] = load_cases(path)
    assert (
        case.prompt == "[1, 2, 3]"
        and case.expected == "true"
        and case.critical is True
        and case.tags == ("x",)
    )


@pytest.mark.parametrize(
    ("name", "text", "kwargs", "message"),
    [
        (
            "d.csv",
            "id,prompt,prompt\na,first,second\n",
            {},
            "d.csv:1: the header names 'prompt' more than once",
        ),
        ("t.jsonl", '{"q": "x"}\n', {"template": "Q: {q} {"}, "t.jsonl:1: the template 'Q: {q} {' cannot be"),
        ("l.jsonl", '{"prompt": "x"}\n', {"limit": -1}, "limit must be 0 or more, got -1"),
        (
            "s.jsonl",
            '{"prompt": "x", "choices": ["a", "b"], "answer": "\u00b2"}\n',
            {},
            "s.jsonl:1: answer '\u00b2' is",
        ),
    ],
)
def test_more_bad_input_is_a_clear_error(
    tmp_path: Path, name: str, text: str, kwargs: dict[str, object], message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CaseError) as error:
        load_cases(path, **kwargs)  # type: ignore[arg-type]
    assert message in str(error.value)


def test_gsm8k_rows_are_read_like_any_jsonl(tmp_path: Path) -> None:
    """A byte order mark or a blank last line once made load_gsm8k fail on a good file."""
    from pytest_llmeval.benchmarks.gsm8k import load_gsm8k

    path = tmp_path / "g.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps({"question": "2+3?", "answer": "2+3=5\n#### 5"}).encode() + b"\n\n"
    )
    [case] = load_gsm8k(path)
    assert case.expected == "5" and case.id == "gsm8k-1"
    path.write_bytes(b'{"question": "caf\xe9", "answer": "#### 1"}\n')
    with pytest.raises(CaseError, match=r"g\.jsonl:1: not valid UTF-8"):
        load_gsm8k(path)


def test_a_case_id_with_a_lone_surrogate_is_refused() -> None:
    """No file holds it: the baseline read it back as another id, and every later run's report
    failed to be written (a traceback at the end of a run whose tests all passed)."""
    with pytest.raises(ValueError, match="has a lone surrogate"):
        Case(id="caf\udce9", prompt="p")
