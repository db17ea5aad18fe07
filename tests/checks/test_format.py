from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from pytest_llmeval.checks.format import (
    JsonResult,
    bullets,
    chars,
    headings,
    json,
    language,
    numbered_steps,
    one_of,
    sentence_count,
    sentences,
    starts_with,
    words,
)
from pytest_llmeval.checks.result import CheckResult

from .inputs import Check, assert_decides, assert_fast, assert_rejects_none_and_reads_bytes


class Item(BaseModel):
    name: str
    price: float


class Order(BaseModel):
    id: int
    items: list[Item]


ORDER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "price": {"type": "number"}},
                "required": ["name", "price"],
            },
        },
    },
    "required": ["id", "items"],
}


# --- starts_with / one_of -------------------------------------------------------------------


def test_starts_with_skips_leading_whitespace_and_ignores_case() -> None:
    result = starts_with("\n   answer: Paris", "Answer:")
    assert (
        result.passed and result.reason == "starts with 'Answer:'" and result.evidence == ("answer: Paris",)
    )
    assert starts_with("Answer:  \n Paris", "answer: paris").passed  # whitespace is collapsed


def test_starts_with_fails_and_shows_the_start() -> None:
    result = starts_with("Sure! Answer: Paris", "Answer:")
    assert not result.passed
    assert (
        result.reason == "expected the output to start with 'Answer:', it starts with 'Sure! Answer: Paris'"
    )
    assert not starts_with("answer: Paris", "Answer:", case=True).passed


def test_one_of_accepts_wrapped_answers() -> None:
    result = one_of(" **Yes.**\n", ["yes", "no"])
    assert (
        result.passed
        and result.reason == "answer 'yes' is one of ['yes', 'no']"
        and result.evidence == ("yes",)
    )
    assert one_of('"B"', ["A", "B", "C"]).passed


def test_one_of_fails_on_anything_else() -> None:
    result = one_of("Yes, definitely", ["yes", "no"])
    assert not result.passed
    assert result.reason == "expected one of ['yes', 'no'], got 'Yes, definitely'"
    assert result.evidence == ("Yes, definitely",)
    assert not one_of("YES", ["yes"], case=True).passed


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: starts_with("x", ""), "non-empty prefix"),
        (lambda: one_of("x", "yes"), "list of option strings"),
        (lambda: one_of("x", []), "list of option strings"),
    ],
)
def test_bad_options_raise_before_checking(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --- json -----------------------------------------------------------------------------------


def test_json_whole_output() -> None:
    result = json('{"name": "Ana", "age": 31}')
    assert isinstance(result, JsonResult) and isinstance(result, CheckResult)
    assert result.passed and result.value == {"name": "Ana", "age": 31}
    assert result.reason == "valid JSON object with 2 keys"
    assert result.evidence == ('{"name": "Ana", "age": 31}',)


def test_json_in_a_fenced_block() -> None:
    output = "Sure! Here it is:\n```json\n[1, 2, 3]\n```\nAnything else?"
    result = json(output)
    assert result.passed and result.value == [1, 2, 3]
    assert result.reason == "valid JSON array of 3 items in a ```json block"


def test_json_in_prose_prefers_the_real_object_over_a_footnote() -> None:
    result = json('As noted in [1], the record is {"id": 7, "tags": ["a", "b]"]} - done.')
    assert result.passed and result.value == {"id": 7, "tags": ["a", "b]"]}
    assert result.reason == "valid JSON object with 2 keys at char 31"


def test_json_after_a_stray_bracket_in_prose() -> None:
    result = json('Options [a, b, or c. Result: {"ok": true}')
    assert result.passed and result.value == {"ok": True}


def test_json_scalar_output() -> None:
    result = json(" 42 ")
    assert result.passed and result.value == 42 and result.reason == "valid JSON int"


def test_json_reports_the_parse_error() -> None:
    result = json('{"a": 1, "b": 2,}')
    assert not result.passed and result.value is None
    assert (
        result.reason == "invalid JSON: Expecting property name enclosed in double quotes at line 1 column 17"
    )
    assert result.evidence == ('{"a": 1, "b": 2,}',)


def test_json_reports_a_cut_off_value() -> None:
    result = json('Here you go: {"items": [1, 2')
    assert not result.passed
    assert result.reason.startswith("invalid JSON at char 13: it is cut off (Expecting")
    assert result.evidence == ('{"items": [1, 2',)


def test_json_reports_a_broken_fenced_block_first() -> None:
    result = json("```json\n{'a': 1}\n```")
    assert not result.passed
    assert result.reason.startswith("invalid JSON in a ```json block: Expecting property name")


def test_json_fails_without_json() -> None:
    result = json("I am not sure what you mean.")
    assert not result.passed and result.evidence == ()
    assert result.reason == "no JSON value in 'I am not sure what you mean.'"


def test_json_rejects_nan_like_every_other_parser() -> None:
    result = json('{"x": NaN}')
    assert not result.passed and "NaN is not valid JSON" in result.reason


def test_json_with_a_pydantic_model_hands_back_the_instance() -> None:
    result = json('```json\n{"id": 3, "items": [{"name": "pen", "price": 1.5}]}\n```', schema=Order)
    assert result.passed and result.reason == "valid JSON matching Order in a ```json block"
    assert isinstance(result.value, Order) and result.value.items[0].price == 1.5


def test_json_with_a_pydantic_model_reports_every_failing_path() -> None:
    output = '{"id": "x", "items": [{"name": "a", "price": 1}, {"name": "b"}, {"name": "c", "price": "abc"}]}'
    result = json(output, schema=Order)
    assert not result.passed and result.value == __import__("json").loads(output)
    assert result.reason.startswith("JSON does not match Order: 3 errors: ")
    assert "id: Input should be a valid integer" in result.reason
    assert "items[1].price: Field required" in result.reason
    assert "items[2].price: Input should be a valid number" in result.reason


def test_json_with_a_schema_dict() -> None:
    assert json('{"id": 1, "items": []}', schema=ORDER_SCHEMA).passed
    result = json(
        '{"items": [{"name": "a", "price": 1}, {"name": "b"}, {"name": "c", "price": "x"}]}',
        schema=ORDER_SCHEMA,
    )
    assert not result.passed
    assert result.reason == (
        "JSON does not match the schema: 3 errors: $: 'id' is a required property; "
        "$.items[1]: 'price' is a required property; $.items[2].price: 'x' is not of type 'number'"
    )


def test_json_with_a_schema_never_picks_whichever_value_matches() -> None:
    """Once every value was tried and any match passed: an example object in the prose passed for a
    fenced answer that does not match. The fenced block is the answer; two values in prose that
    disagree are "could not decide"."""
    fenced = 'Like {"id": 1, "items": []}, here it is:\n```json\n{"id": "two"}\n```'
    result = json(fenced, schema=ORDER_SCHEMA)
    assert not result.passed and result.reason.startswith("JSON in a ```json block does not match")
    both = json('Example: {"note": 1}. Answer: {"id": 2, "items": []}', schema=ORDER_SCHEMA)
    assert not both.passed and both.reason.startswith(
        "could not decide: 1 of 2 JSON values match; JSON at char 9"
    )
    lines = json('{"id": 1, "items": []}\n{"id": "x", "items": []}', schema=ORDER_SCHEMA)
    assert not lines.passed and lines.reason.startswith("could not decide: 1 of 2 JSON values match")
    agree = json('First {"id": 1, "items": []} then {"id": 2, "items": []}.', schema=ORDER_SCHEMA)
    assert agree.passed and agree.value == {"id": 1, "items": []} and "(all 2 values)" in agree.reason


def test_a_list_of_numbers_in_prose_is_no_json_answer() -> None:
    for text in ("See reference [1] for details.", "The interval is [0, 1].", "I cannot do that [2]."):
        assert not json(text).passed, text
    assert json("[0, 1]").passed and json("```json\n[1]\n```").passed
    assert json('Tags: ["a", "b"].').value == ["a", "b"]


def test_a_strict_model_reads_json_forms() -> None:
    """JSON mode, as model_validate_json: a strict model's datetime, UUID and tuple fields come as
    strings and lists in JSON, which Python-mode validation refused."""
    import datetime
    import uuid

    from pydantic import BaseModel, ConfigDict

    class Event(BaseModel):
        model_config = ConfigDict(strict=True)
        when: datetime.datetime
        id: uuid.UUID
        point: tuple[int, int]

    text = '{"when": "2026-12-07T10:00:00Z", "id": "12345678-1234-5678-1234-567812345678", "point": [1, 2]}'
    result = json(text, schema=Event)
    assert result.passed and isinstance(result.value, Event) and result.value.point == (1, 2)


def test_json_caps_the_errors_it_lists() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    result = json('["a", "b", "c", "d", "e", "f", "g"]', schema=schema)
    assert not result.passed
    assert result.reason.startswith("JSON does not match the schema: 7 errors: $[0]: 'a' is not of type")
    assert result.reason.endswith("; and 2 more")


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"type": "nonsense"}, "is not a JSON Schema: 'nonsense' is not valid"),
        ({"type": "object", "required": "id"}, "is not a JSON Schema"),
        ({"default": {1, 2}}, "is not a JSON Schema: it is not JSON-serialisable"),
        (42, "schema must be a pydantic BaseModel subclass or a JSON Schema dict"),
        (Order(id=1, items=[]), "schema must be a pydantic BaseModel subclass"),
    ],
)
def test_json_rejects_a_schema_that_is_not_a_schema(schema: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        json("{}", schema=schema)


def test_json_schema_refs_resolve_inside_the_schema_and_never_over_the_network() -> None:
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = {
            "type": "object",
            "properties": {"name": {"$ref": f"http://127.0.0.1:{server.server_port}/s"}},
        }
        with pytest.raises(ValueError, match=r"\$ref 'http://127.0.0.1:\d+/s' is not inside the schema"):
            json('{"name": 5}', schema=remote)
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []
    local = {
        "$defs": {"name": {"type": "string"}},
        "type": "object",
        "properties": {"name": {"$ref": "#/$defs/name"}},
    }
    assert json('{"name": "Ada"}', schema=local).passed
    wrong = json('{"name": 5}', schema=local)
    assert not wrong.passed and "$.name: 5 is not of type 'string'" in wrong.reason


# --- length ---------------------------------------------------------------------------------


def test_words_counts_contractions_and_hyphenated_words_once() -> None:
    result = words("Don't over-think it: state-of-the-art is fine.", max=6)
    assert result.passed and result.reason == "6 words, wanted at most 6"


def test_words_too_many_shows_where_the_limit_ran_out() -> None:
    result = words("one two three four five", max=3)
    assert not result.passed and result.reason == "5 words, wanted at most 3"
    assert result.evidence == ("four five",)


def test_words_too_few() -> None:
    result = words("Hi there", min=3, max=10)
    assert (
        not result.passed
        and result.reason == "2 words, wanted at least 3"
        and result.evidence == ("Hi there",)
    )
    assert words("a b c", min=3, max=10).reason == "3 words, wanted between 3 and 10"


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("Dr. Smith went home. He slept!", 2),
        ("Is it? Yes, e.g. this one is. J. K. Rowling wrote it.", 3),
        ("Pi is 3.14 exactly... or not.", 1),
        ("# Title\n\nA paragraph without a period", 2),
        ("今天很好。我们走吧！", 2),  # noqa: RUF001
        ("", 0),
    ],
)
def test_sentence_count(text: str, count: int) -> None:
    assert sentence_count(text) == count


def test_sentences_bounds() -> None:
    assert sentences("One. Two. Three.", min=2, max=3).passed
    result = sentences("One. Two. Three.", max=2)
    assert not result.passed and result.reason == "3 sentences, wanted at most 2"


def test_chars_ignores_surrounding_whitespace() -> None:
    assert chars("  hello \n", max=5).reason == "5 characters, wanted at most 5"
    result = chars("hello world", max=5)
    assert (
        not result.passed
        and result.reason == "11 characters, wanted at most 5"
        and result.evidence == (" world",)
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs min=, max= or both"),
        ({"min": -1}, "min must be a whole number >= 0"),
        ({"max": 2.5}, "max must be a whole number >= 0"),
        ({"min": True}, "min must be a whole number"),
        ({"min": 5, "max": 2}, "min=5 is larger than max=2"),
    ],
)
@pytest.mark.parametrize("check", [words, sentences, chars])
def test_length_checks_reject_bad_bounds(
    check: Callable[..., CheckResult], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        check("text", **kwargs)


# --- language -------------------------------------------------------------------------------


def test_language_passes_in_the_right_language() -> None:
    result = language("Bonjour, je voudrais un café et un croissant, s'il vous plaît.", "fr")
    assert result.passed and result.reason == "the text is 'fr'" and result.score == 1.0


def test_language_fails_in_the_wrong_language() -> None:
    result = language("Hello, I would like a coffee and a croissant, please.", "fr")
    assert not result.passed
    assert result.reason.startswith("the text is 'en' (confidence ")
    assert result.evidence == ("Hello, I would like a coffee and a croissant, please.",)


def test_language_notices_a_drift_into_another_language() -> None:
    french = "Le chat dort sur le canapé pendant que nous préparons le dîner dans la cuisine. " * 20
    english = "The cat sleeps on the sofa while we are cooking dinner in the kitchen tonight. " * 20
    result = language(french + english, "fr")
    assert not result.passed and result.reason.startswith("the text is 'en'")


def test_language_ignores_code_blocks() -> None:
    code = "```python\nprint('hello world, this is English')\n```"
    output = f"Voici le code :\n{code}\nC'est très simple à utiliser."
    assert language(output, "fr").passed


def test_language_short_text_is_too_short_to_tell() -> None:
    result = language("Oui.", "fr")
    assert result.passed and result.reason == "too short to tell (3 letters); 'fr' is a plausible reading"


def test_language_short_text_in_a_clearly_other_script_fails() -> None:
    result = language("Привет, друг!", "fr")
    assert not result.passed and result.reason.startswith(
        "too short to be sure (10 letters), but the text is 'ru'"
    )


def test_language_without_words() -> None:
    assert language("42", "de").reason == "no words to tell the language from; nothing contradicts 'de'"
    empty = language("  ", "de")
    assert not empty.passed and empty.reason == "empty output, expected language 'de'"


def test_language_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="'xx' is not an ISO 639-1 code that lingua knows"):
        language("text", "xx")
    with pytest.raises(ValueError, match="ISO 639-1 code"):
        language("text", None)  # type: ignore[arg-type]


# --- markdown -------------------------------------------------------------------------------


def test_bullets_counts_items_not_rules_or_code() -> None:
    output = "Fruits:\n- apple\n* pear\n  + nested kiwi\n\n* * *\n```\n- not a bullet\n```\n• plum"
    result = bullets(output, min=4)
    assert result.passed and result.reason == "4 bullet items"
    assert result.evidence == ("- apple", "* pear", "+ nested kiwi", "• plum")


def test_bullets_too_few_or_too_many() -> None:
    result = bullets("- one\n- two", min=3)
    assert not result.passed and result.reason == "2 bullet items, wanted at least 3"
    assert result.evidence == ("- one", "- two")
    assert bullets("- one\n- two", max=1).reason == "2 bullet items, wanted at most 1"
    assert bullets("no list *here*").reason == "0 bullet items, wanted at least 1"


def test_headings_atx_and_underlined_by_level() -> None:
    output = "# Title\nintro\nSetup\n-----\n## Usage\n```\n# a comment\n```\n####### not a heading"
    assert headings(output, min=3).reason == "3 headings"
    result = headings(output, min=2, level=2)
    assert (
        result.passed and result.reason == "2 level-2 headings" and result.evidence == ("Setup", "## Usage")
    )
    failed = headings(output, min=2, level=1)
    assert not failed.passed and failed.reason == "1 level-1 heading, wanted at least 2"
    with pytest.raises(ValueError, match="level must be 1 to 6"):
        headings(output, level=7)


def test_numbered_steps_in_order() -> None:
    output = "Do this:\n1. Preheat.\n   (about 10 minutes)\n2. Mix.\n```\ncode\n```\n3. Bake."
    result = numbered_steps(output, min=3)
    assert result.passed and result.reason == "3 numbered steps"
    assert result.evidence == ("1. Preheat.", "2. Mix.", "3. Bake.")
    assert numbered_steps("**Step 1:** open\n**Step 2:** close", min=2).passed
    assert numbered_steps("1) a\n2) b\n\nThen:\n1) c", min=3).passed  # a second list


def test_numbered_steps_reports_a_gap_and_a_repeat() -> None:
    gap = numbered_steps("1. a\n2. b\n4. c")
    assert (
        not gap.passed
        and gap.reason == "step 3 is numbered 4: expected 3 after 2"
        and gap.evidence == ("4. c",)
    )
    repeat = numbered_steps("1. a\n1. b")
    assert not repeat.passed and repeat.reason == "step 2 is numbered 1: expected 2 after 1"
    late = numbered_steps("3. a\n4. b")
    assert not late.passed and late.reason == "step 1 is numbered 3: expected 1 at the start"
    few = numbered_steps("1. a\n2. b", min=3)
    assert not few.passed and few.reason == "2 numbered steps, wanted at least 3"


# --- bad inputs, size and speed ---------------------------------------------------------------

CHECKS: list[Check] = [
    lambda o: starts_with(o, "Answer"),
    lambda o: one_of(o, ["yes", "no"]),
    json,
    lambda o: json(o, schema=ORDER_SCHEMA),
    lambda o: json(o, schema=Order),
    lambda o: words(o, max=10),
    lambda o: sentences(o, max=10),
    lambda o: chars(o, max=10),
    bullets,
    headings,
    numbered_steps,
]
IDS = ["starts_with", "one_of", "json", "json_schema", "json_model", "words", "sentences", "chars"]
IDS += ["bullets", "headings", "numbered_steps"]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_checks_reject_none_and_accept_bytes(check: Check) -> None:
    assert_rejects_none_and_reads_bytes(check, b'{"id": 1, "items": []}')


ODD_TEXTS = {
    "empty": "",
    "surrogates": '\ud800 lone \udfff surrogates {"a": "\ud800"}',
    "nul": "\x00\x00",
}
# What each check must decide on each odd text, read from the texts themselves: only the checks
# named here pass. The surrogate text holds a JSON object (a lone surrogate is a valid JSON
# string character) that is no Order; it has 3 words and 1 sentence but over 10 characters.
ODD_PASSES = {
    "empty": {"words", "sentences", "chars"},  # nothing: within every upper bound, no lower one met
    "surrogates": {"json", "words", "sentences"},
    "nul": {"words", "sentences", "chars"},  # two NULs: no word, no sentence, 2 characters
}


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_checks_decide_odd_text(check: Check, text: str) -> None:
    assert_decides(check, ODD_TEXTS[text], IDS[CHECKS.index(check)] in ODD_PASSES[text])


def test_language_survives_lone_surrogates() -> None:
    assert language("\ud800 Bonjour mes amis, comment allez-vous ce matin ?", "fr").passed


ADVERSARIAL = [
    "[" * 1_000_000,
    '{"a": ' * 150_000,
    "a@" * 500_000,
    "```\n" * 250_000,
    "- x\n1. y\n# z\n" * 80_000,
    "word " * 200_000,
    ('{"k": "' + "x" * 999_980 + '"}'),
]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_one_megabyte_outputs_stay_fast(check: Check) -> None:
    assert_fast(check, ADVERSARIAL)


@pytest.mark.parametrize(
    ("schema_format", "good", "bad"),
    [
        ("date-time", "2026-12-07T10:00:00Z", "yesterday"),
        ("uri", "https://example.org/a", "not a uri"),
        ("duration", "P3D", "soon"),
        ("email", "a@example.org", "not an email"),
    ],
)
def test_json_schema_formats_are_checked(schema_format: str, good: str, bad: str) -> None:
    """jsonschema passes a format whose optional checker is not installed; these once all passed."""
    schema = {"type": "object", "properties": {"v": {"type": "string", "format": schema_format}}}
    assert json(f'{{"v": "{good}"}}', schema=schema).passed
    result = json(f'{{"v": "{bad}"}}', schema=schema)
    assert not result.passed and f"is not a '{schema_format}'" in result.reason


def test_a_format_without_a_checker_could_not_be_checked() -> None:
    schema = {"type": "object", "properties": {"format": {"type": "string", "format": "x-made-up"}}}
    result = json('{"format": "anything"}', schema=schema)
    assert (
        not result.passed
        and result.reason == "could not check: no checker here for the schema's format 'x-made-up'"
    )


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("The answer is 4. Because 2 plus 2 is 4.", 2),  # once one: "4." read as an initial
        ("I chose option B. It was the cheapest.", 2),
        ("The answer is no. It is not allowed.", 2),  # once one: "no." read as "No. 5"
        ("It costs $5. You pay at the door. Thanks.", 3),
        ("See No. 5 for more.", 1),
        ("The book was written by J. K. Rowling in 1997.", 1),
        ("Dr. Smith is here. He waits.", 2),
        ("Steps:\n1. Mix the flour.\n2. Bake it.", 2),
        ("Wait... then go.", 1),
    ],
)
def test_sentence_ends_after_short_words(text: str, count: int) -> None:
    assert sentences(text, min=count, max=count).passed, sentences(text, min=count, max=count).reason
