"""json_candidates: the JSON values a text offers, best first, and why the others do not parse."""

from __future__ import annotations

from pytest_llmeval.checks.jsontext import Failure, Parsed, answers, json_candidates


def test_the_whole_text_wins_when_it_is_json() -> None:
    assert json_candidates(' {"a": 1} ') == ([Parsed({"a": 1}, '{"a": 1}', "")], [])


def test_fenced_blocks_then_prose_spans_in_order() -> None:
    text = 'See [1].\n```json\n{"b": 2}\n```\nOr {"c": [3, 4]} here.'
    parsed, failed = json_candidates(text)
    assert [(p.value, p.tier) for p in parsed] == [({"b": 2}, 1), ({"b": 2}, 2), ({"c": [3, 4]}, 2)]
    start = text.index('{"c')
    assert parsed[0].where == " in a ```json block" and parsed[2].where == f" at char {start}"
    assert [p.value for p in answers(parsed)] == [{"b": 2}]  # the fenced block is the answer
    assert failed == []


def test_spans_that_look_like_json_but_do_not_parse_are_reported() -> None:
    parsed, failed = json_candidates('Result: {"a": 1,} and {"b": NaN}')
    assert parsed == []
    assert [f.span for f in failed] == ['{"a": 1,}', '{"b": NaN}']
    assert failed[1].error == "NaN is not valid JSON"
    cut = json_candidates('Result: {"a": [1, 2')[1]
    assert cut == [Failure(cut[0].error, '{"a": [1, 2', " at char 8")]
    assert cut[0].error.startswith("it is cut off (")
