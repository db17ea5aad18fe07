from __future__ import annotations

import gc
import json
import random
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_llmeval.checks import CheckInputError, grounding
from pytest_llmeval.checks.grounding import (
    Unsupported,
    claims_of,
    consistent,
    grounded_in,
    judge_prompt,
    verdict,
)
from pytest_llmeval.checks.grounding.lexing import _key, _written_amount
from pytest_llmeval.checks.grounding.reading import _Fact
from pytest_llmeval.checks.result import SIZE_LIMITS

CORPUS = Path(__file__).parent.parent / "data" / "grounding" / "corpus.jsonl"
EGGS = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
    "with four. She sells the remainder at the farmers' market for $2 per egg."
)


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize(
    "output",
    [
        "Her ducks lay 16 eggs a day and she eats 3 of them.",  # "three" in the context
        "The ducks lay sixteen eggs; she bakes with 4.",  # number words in the output
        "The ducks lay 16 eggs; each sells for 2 dollars.",  # money written another way
    ],
)
def test_numbers_the_context_states_pass(output: str) -> None:
    result = grounded_in(output, EGGS)
    assert result.passed and result.score == 1.0, result.reason
    assert result.reason.startswith("all ") and "supported by the context" in result.reason
    assert result.evidence == ()


def test_money_percent_and_thousands_are_normalized() -> None:
    context = "The house cost $1,200 and the tax is 40%."
    assert grounded_in("It cost 1200 dollars, with 40 percent tax.", context).passed
    failed = grounded_in("It cost $1,300 with 40 percent tax.", context)
    assert not failed.passed and failed.evidence == ("It cost $1,300 with 40 percent tax.",)
    assert "'$1,300' (not in the context and no shown computation gives it)" in failed.reason


def test_a_number_the_context_does_not_state_fails_and_is_named() -> None:
    result = grounded_in("Her ducks lay 16 eggs a day. She sells 23 of them.", EGGS)
    assert not result.passed
    assert result.score == pytest.approx(0.5)
    assert result.reason.startswith("1 of 2 facts in 1 of 2 claims are not supported by the context: '23'")
    assert "in 'She sells 23 of them.'" in result.reason
    assert result.evidence == ("She sells 23 of them.",)


def test_a_number_one_unshown_step_from_the_context_is_unsupported_unless_one_step_is_asked() -> None:
    # 12 = 16 - 4: by default only stated numbers and shown arithmetic count. one_step=True accepts
    # an answer that skips a step, and so a made-up number one step away too (the price it names).
    output = "Her ducks lay 16 eggs a day. She sells 12 of them."
    strict = grounded_in(output, EGGS)
    assert not strict.passed
    assert "'12' (not in the context and no shown computation gives it)" in strict.reason
    assert grounded_in(output, EGGS, one_step=True).passed
    with pytest.raises(ValueError, match="one_step is only used with method='facts'"):
        grounded_in(output, EGGS, method="judge", one_step=True)


# ---------------------------------------------------------------------------------------------
# Arithmetic the output shows


def test_correct_arithmetic_on_supported_numbers_is_supported() -> None:
    output = "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18 every day.\n#### 18"
    result = grounded_in(output, EGGS)
    assert result.passed, result.reason
    assert (
        result.reason
        == "all 8 facts in 3 claims are supported by the context (4 by the output's own arithmetic)"
    )


def test_a_wrong_result_is_named_with_the_right_one() -> None:
    result = grounded_in("She has 16 - 3 = 12 eggs left.", EGGS)
    assert not result.passed
    assert "'12' (16 - 3 gives 13, not 12)" in result.reason
    assert result.evidence == ("She has 16 - 3 = 12 eggs left.",)


def test_an_operand_from_nowhere_is_flagged_even_when_the_sum_is_right() -> None:
    result = grounded_in("She has 16 - 5 = 11 eggs left.", EGGS)
    assert not result.passed
    assert "'5' (an operand the context does not give and no step computes)" in result.reason
    assert "'11'" not in result.reason  # the sum is right: only the made-up operand is reported


def test_one_unshown_step_is_accepted_and_a_made_up_value_is_not() -> None:
    shown = "She uses 3 + 4 = 7 eggs, so she has 9 eggs left and earns 9 * $2 = $18."
    assert not grounded_in(shown, EGGS).passed  # 9 = 16 - 7 is not shown
    assert grounded_in(shown, EGGS, one_step=True).passed  # one step from numbers already supported
    made_up = grounded_in("She has 11 eggs left, so she earns 11 * $2 = $22.", EGGS, one_step=True)
    assert not made_up.passed
    assert "'11' (not in the context and no shown computation gives it)" in made_up.reason
    assert "'$22'" not in made_up.reason  # right arithmetic on 11: the root cause is reported once


def test_arithmetic_in_words_and_reordered_steps() -> None:
    in_words = "Sixteen minus 3 minus 4 leaves 9 eggs, and 9 times $2 makes $18."
    assert grounded_in(in_words, EGGS).passed
    reordered = "She makes 9 * 2 = $18 a day.\nShe sells 16 - 3 - 4 = 9 eggs a day."
    assert grounded_in(reordered, EGGS).passed
    wrong_in_words = grounded_in("16 minus 3 minus 4 leaves 8 eggs.", EGGS)
    assert not wrong_in_words.passed and "'8' (16 minus 3 minus 4 gives 9, not 8)" in wrong_in_words.reason


@pytest.mark.parametrize(
    "output",
    [
        "She has 9 eggs left (16 - 3 - 4), and earns 9 * 2 = $18.",  # the derivation after its result
        "She makes $18 a day (9 * 2), from 9 eggs (16 - (3 + 4)).",
        "\\(16 - 3 - 4 = 9\\) and \\(9 \\cdot 2 = 18\\)",  # LaTeX
        "16 - 3 - 4 = 9; 9 \u00b7 2 = 18 and 9 \u22c5 2 = 18",  # middle dot and dot operator
        "Used = 3 + 4 = 7\nRemaining = 16 - 7 = 9\nEarnings = 9 \u00d7 $2 = $18",  # labels, not names
    ],
)
def test_shown_arithmetic_in_other_notations_is_supported(output: str) -> None:
    result = grounded_in(output, EGGS)
    assert result.passed, result.reason


def test_a_chain_of_steps_and_a_relative_clause_show_their_arithmetic() -> None:
    assert grounded_in("She earns $18 (16 - 3 - 4 = 9 eggs x $2 = $18).", EGGS).passed
    assert grounded_in("She sells 16 - 3 - 4 eggs, which is 9 eggs.", EGGS).passed
    wrong_end = grounded_in("16 - 3 - 4 = 9 eggs x $2 = $20.", EGGS)  # the chain's last step is judged
    assert not wrong_end.passed and "'$20' (9 eggs x $2 gives 18, not 20)" in wrong_end.reason
    wrong_start = grounded_in("16 - 3 - 4 = 8 eggs x $2 = $16.", EGGS)
    assert not wrong_start.passed and "'8'" in wrong_start.reason
    assert not grounded_in("She sells 16 - 3 - 4 eggs, which is 10 eggs.", EGGS).passed


@pytest.mark.parametrize(
    "output",
    [  # The shapes of real SmolLM2 answers: "divide 1.25 by 1.25, which gives us 1.25".
        "We divide 16 by 2, which gives us 8.",
        "Dividing 16 by 4 gives 4 eggs.",
        "If we multiply 16 by 2, we get $32.",
        "Multiply 16 by 2 to get $32.",
        "Add 3 and 4 to get 7 eggs.",
        "Add 3 to 4, which gives 7.",
    ],
)
def test_arithmetic_as_an_instruction_is_read(output: str) -> None:
    assert grounded_in(output, EGGS).passed, grounded_in(output, EGGS).reason


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("We divide 16 by 2, which gives us 16.", "'16' (divide 16 by 2 gives 8, not 16)"),
        ("If we multiply 16 by 2, we get $20.", "'$20' (multiply 16 by 2 gives 32, not 20)"),
        ("Add 3 to 4, which gives 8.", "'8' (Add 3 to 4 gives 7, not 8)"),
    ],
)
def test_wrong_arithmetic_as_an_instruction_is_named(output: str, reason: str) -> None:
    result = grounded_in(output, EGGS)
    assert not result.passed and reason in result.reason, result.reason


def test_an_instruction_without_a_result_is_no_arithmetic() -> None:
    # "divide ... to find" gives no number: the numbers are judged as stated, and 5 is not.
    assert grounded_in("Divide 16 by 2 to find the eggs per basket.", EGGS).passed
    result = grounded_in("Divide 16 by 5 to find the eggs per basket.", EGGS)
    assert not result.passed and "'5' (not in the context" in result.reason


INTEREST = "He invests $5,000 at 2.5% a year. A cake has 20 slices and he eats 1/4 of them."


def test_a_share_of_a_number_is_arithmetic() -> None:
    assert grounded_in("2.5% of $5,000 = $125.", INTEREST).passed
    assert grounded_in("1/4 of 20 = 5 slices.", INTEREST).passed
    assert grounded_in("He eats 1/4 of the 20 slices.", INTEREST).passed  # a phrase, not arithmetic
    wrong = grounded_in("2.5% of $5,000 = $100.", INTEREST)  # passed before: 100 was a constant
    assert not wrong.passed and "'$100' (2.5% of $5,000 gives 125, not 100)" in wrong.reason


def test_percentages_let_an_operand_divide_by_100_but_state_no_100() -> None:
    assert grounded_in("5000 * 2.5 / 100 = 125", INTEREST).passed
    assert grounded_in("He keeps 100% of the cake.", INTEREST).passed
    made_up = grounded_in("He earns $100 a year.", INTEREST)
    assert not made_up.passed and "'$100' (not in the context" in made_up.reason


def test_a_parenthesis_that_does_not_give_the_number_derives_nothing() -> None:
    wrong = grounded_in("She has 10 eggs left (16 - 3 - 4).", EGGS)
    assert not wrong.passed and "'10' (not in the context and no shown computation gives it)" in wrong.reason
    made_up = grounded_in("She has 21 eggs left (16 + 5).", EGGS)  # right sum, an operand from nowhere
    assert not made_up.passed and "'5' (an operand the context does not give" in made_up.reason


# ---------------------------------------------------------------------------------------------
# Names, dates, quotes

LIBRARY = (
    "The Harlow Community Library reopened on March 3, 2021. Head librarian Grace Mbeki said the room "
    '"belongs to everyone in town".'
)


def test_names() -> None:
    assert grounded_in("The library in Harlow reopened, said Grace Mbeki.", LIBRARY).passed
    result = grounded_in("The library reopened, according to Mayor Daniel Kovac.", LIBRARY)
    assert not result.passed
    assert "'Mayor Daniel Kovac' (a name the context does not mention)" in result.reason
    assert result.evidence == ("The library reopened, according to Mayor Daniel Kovac.",)


@pytest.mark.parametrize(
    "output",
    [
        "### Step 2: Daily Earnings\n16 - 3 - 4 = 9; 9 * 2 = 18",
        "**Eggs Sold:** 16 - 3 - 4 = 9\n**Daily Revenue:** 9 * $2 = $18",
        "Income Calculation\n\nEggs left: 16 - 3 - 4 = 9",
        "Okay, so she eats 3. Hmm, and bakes with 4.",
    ],
)
def test_headings_labels_and_interjections_are_not_names(output: str) -> None:
    result = grounded_in(output, EGGS)
    assert result.passed, result.reason


def test_a_rare_name_in_a_heading_is_still_a_name() -> None:
    result = grounded_in("### Plan of Priya Nair\nShe sells 9 eggs (16 - 3 - 4).", EGGS)
    assert not result.passed and "Priya Nair' (a name the context does not mention)" in result.reason


def test_dates() -> None:
    assert grounded_in("It reopened on 3 March 2021.", LIBRARY).passed
    assert grounded_in("It reopened in March.", LIBRARY).passed
    result = grounded_in("It reopened on March 4, 2021.", LIBRARY)
    assert not result.passed and "'March 4, 2021' (a date the context does not give)" in result.reason
    weekday = grounded_in("It reopened on a Tuesday.", LIBRARY)
    assert not weekday.passed and weekday.evidence == ("It reopened on a Tuesday.",)


def test_only_a_range_of_weekdays_names_the_days_between() -> None:
    two_days = "The council meets on Monday and on Thursday."
    assert not grounded_in(
        "It meets on Tuesday.", two_days
    ).passed  # passed before: any two days made a range
    assert grounded_in("It meets on Thursday.", two_days).passed
    week = "The shop is open Monday through Friday, and Fri-Sun in summer."
    assert grounded_in("It is open on Wednesday and on Sunday.", week).passed


def test_quotes() -> None:
    assert grounded_in('Grace Mbeki said it "belongs to everyone in town."', LIBRARY).passed
    result = grounded_in('Grace Mbeki called it "the pride of Harlow".', LIBRARY)
    assert not result.passed
    assert "'\"the pride of Harlow\"' (a quote the context does not contain)" in result.reason


def test_text_without_facts_passes_and_says_so() -> None:
    result = grounded_in("Sounds good to me, happy to help.", EGGS)
    assert result.passed and result.score == 1.0
    assert result.reason == "no checkable facts (numbers, dates, names, quotes) in the output"


def test_min_supported_allows_a_share_of_unsupported_facts() -> None:
    output = "Her ducks lay 16 eggs a day. She sells 23 of them."
    assert not grounded_in(output, EGGS).passed
    assert grounded_in(output, EGGS, min_supported=0.5).passed


# ---------------------------------------------------------------------------------------------
# Bad inputs


def test_empty_output_and_surrogates() -> None:
    assert grounded_in("", EGGS).passed
    assert grounded_in("", "").passed
    result = grounded_in("\ud800 She sells 23 eggs \udfff.", EGGS + "\ud800")
    assert not result.passed and "'23'" in result.reason
    assert grounded_in(b"She sells 16 eggs.", EGGS.encode()).passed  # type: ignore[arg-type]


def test_a_context_is_read_once_for_many_outputs() -> None:
    grounding._source.cache_clear()
    first = grounded_in("Her ducks lay 16 eggs a day. She sells 23 of them.", EGGS)
    again = grounded_in("Her ducks lay 16 eggs a day. She sells 23 of them.", EGGS)
    assert grounding._source.cache_info().hits == 1
    assert (again.passed, again.score, again.reason, again.evidence) == (
        first.passed,
        first.score,
        first.reason,
        first.evidence,
    )
    # The shared reading is unchanged (9 is one unshown step: 16 - 3 - 4).
    assert grounded_in("She sells 9 * 2 = $18 of eggs.", EGGS, one_step=True).passed
    assert not grounded_in("Her ducks lay 16 eggs a day.", LIBRARY).passed  # another context, read anew
    assert grounded_in("Her ducks lay 16 eggs a day.", EGGS).passed
    assert grounding._source.cache_info().misses == 2


@pytest.mark.parametrize("enabled", [True, False])
def test_the_cycle_collector_is_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        grounded_in("Her ducks lay 16 eggs a day. She sells 23 of them.", EGGS)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_the_largest_output_it_reads_stays_fast() -> None:
    answer = "Janet sells 16 - 3 - 4 = 9 duck eggs a day. She makes 9 * 2 = $18 every day at Harlow.\n"
    size = SIZE_LIMITS["grounded_in"] - len(EGGS)  # output and context together, at the limit
    pathological = ("1=" * (size // 2), "(" * size, '"' * size, "Ab " * (size // 3), "9." * (size // 2))
    for text in (answer * (size // len(answer)), *pathological):
        start = time.process_time()
        result = grounded_in(text, EGGS)
        assert time.process_time() - start < 20.0  # linear: under 1 s here on this 2-core machine
        assert not result.reason.startswith("could not check")
        assert all(len(span) <= 80 for span in result.evidence)
        assert len(result.reason) < 2_000


def test_many_rates_and_changed_phrases_at_the_size_limit_stay_fast() -> None:
    # Every number of these is read by the rate or phrase rules, and most are flagged: the quadratic
    # version (a search of all facts per flag) took 40 s on the third text.
    context = "The meat costs $7.00 per pound. It drives 30 mph for 1 hour."
    size = SIZE_LIMITS["grounded_in"] - len(context)
    for unit in ("2 pounds is 3 pounds is ", "2 pounds of meat = 2 * $6 = $12. ", "30 mph for 2 hours, "):
        start = time.process_time()
        result = grounded_in(unit * (size // len(unit)), context)
        assert time.process_time() - start < 20.0  # linear: about 1 s here on this 2-core machine
        assert not result.passed and len(result.reason) < 2_000


def _plain_flag_number(
    reading: Any, numbers: Any, start: int, end: int, why: str, *, computed: Any = ()
) -> None:
    """``verdict._flag_number`` as first written: every flag searches all the facts, and every
    fact it makes is sorted in at once. The index of facts by start must give the same verdicts."""
    fact = next((f for f in reading.facts if f.kind == "number" and f.start == start), None)
    if fact is None:
        text = reading.text[start:end]
        value = _written_amount(text)
        if _key(value) in computed:
            return
        claim = max((i for i, (lo, _) in enumerate(reading.claims) if lo <= start), default=0)
        reading.facts.append(_Fact("number", text, start, end, claim, value, value, _key(value), _key(value)))
        reading.facts.sort(key=lambda f: f.start)
        fact = next(f for f in reading.facts if f.kind == "number" and f.start == start)
    elif not fact.supported or fact.key in computed:
        return
    fact.supported, fact.why = False, why


@pytest.mark.parametrize("seed", range(25))
def test_indexed_rate_and_phrase_flags_equal_the_plain_search_on_random_texts(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = (
        "Meat costs $7.00 per pound. 6 lemons would yield 1 cup. "
        "It drives 30 mph for 1 hour, then 60 mph for 2 hours."
    )
    pieces = [
        "30 mph for 2 hours", "60 mph for 1 hour", "2 pounds of meat = 2 * $6 = $12",
        "1 cup is equal to 1 lemon", "1 + 2 = 3", "it drives 30 mph for 3 hours",
        "Tom", "and", ",", ".", "\n", "7", "$7.00", "5, then",
    ]  # fmt: skip
    rng = random.Random(seed)
    text = " ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 80)))
    indexed = grounded_in(text, context)
    monkeypatch.setattr(verdict, "_flag_number", _plain_flag_number)
    plain = grounded_in(text, context)
    assert (indexed.passed, indexed.reason, indexed.score, indexed.evidence) == (
        plain.passed, plain.reason, plain.score, plain.evidence,
    )  # fmt: skip


def test_the_linear_position_tests_agree_with_the_plain_ones_on_random_texts() -> None:
    """Differential: the two per-number tests that used to slice the text, against those slices."""
    from pytest_llmeval.checks.grounding.reading import _cut_off_end, _line_start

    rng = random.Random(18)
    for _ in range(3_000):
        text = "".join(rng.choice(" \n\t\r\u2028,9a.") for _ in range(rng.randint(0, 12)))
        cut_off_at = _cut_off_end(text)
        for offset in range(len(text) + 1):
            line = text.rfind("\n", 0, offset) + 1
            assert _line_start(text, offset) == (not text[line:offset].strip()), (text, offset)
            if offset and not text[offset - 1].isspace():  # a number's end follows its last digit
                assert (offset == cut_off_at) == (text[offset:].strip() == ","), (text, offset)


def test_the_bounded_label_test_agrees_with_reading_the_whole_line() -> None:
    """Differential: ``_is_label`` looks back 40 characters at most; the plain test reads the line."""
    from pytest_llmeval.checks.grounding.names import _LABEL_CLOSING, _LABEL_OPENING, _is_label

    def plain(text: str, start: int, end: int) -> bool:
        line = text.rfind("\n", 0, start) + 1
        if start - line > 40 or not _LABEL_OPENING.match(text[line:start]):
            return False
        return _LABEL_CLOSING.match(text, end) is not None

    rng = random.Random(19)
    for _ in range(2_000):
        text = "".join(
            rng.choice(["#", "*", "-", " ", "\n", "Ab", "1.", ":", "Step 2", " " * 30]) for _ in range(12)
        )
        start = rng.randint(0, len(text))
        end = rng.randint(start, len(text))
        assert _is_label(text, start, end) == plain(text, start, end), (text, start, end)


def test_bad_arguments_raise_before_any_work() -> None:
    with pytest.raises(CheckInputError, match="context is None"):
        grounded_in("She sells 9 eggs.", None)  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match="got None instead of the model's output"):
        grounded_in(None, EGGS)  # type: ignore[arg-type]
    with pytest.raises(CheckInputError, match="context must be the source text as str, got int"):
        grounded_in("x", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="method must be one of facts, nli, judge, got 'magic'"):
        grounded_in("x", EGGS, method="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"min_supported must be a number in \[0, 1\], got 1.5"):
        grounded_in("x", EGGS, min_supported=1.5)
    with pytest.raises(ValueError, match="method='nli' needs nli_model="):
        grounded_in("x", EGGS, method="nli")
    with pytest.raises(ValueError, match="method='judge' needs judge="):
        grounded_in("x", EGGS, method="judge")
    with pytest.raises(ValueError, match="nli_model is only used with method='nli'"):
        grounded_in("x", EGGS, nli_model="some/model")


# ---------------------------------------------------------------------------------------------
# method="judge"


class FakeJudge:
    """Returns fixed replies (one per sample asked) and remembers what it was asked."""

    def __init__(self, *replies: Any) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.kwargs: dict[str, Any] = {}

    def chat(self, prompt: str, **kw: Any) -> Any:
        self.prompts.append(prompt)
        self.kwargs = kw
        if kw.get("n", 1) > 1:
            return SimpleNamespace(samples=tuple(self.replies))
        return self.replies[0]


ANSWER = "Her ducks lay 16 eggs a day. She sells 12 of them at the market."


def test_judge_prompt_numbers_the_claims() -> None:
    prompt = judge_prompt(ANSWER, EGGS)
    assert f"Source:\n<<<\n{EGGS}\n>>>" in prompt
    assert "1. Her ducks lay 16 eggs a day.\n2. She sells 12 of them at the market." in prompt
    assert claims_of(ANSWER) == ["Her ducks lay 16 eggs a day.", "She sells 12 of them at the market."]


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"unsupported": [2]}\n```',
        'Sure! Here is my verdict: {"unsupported": [2]} Hope it helps.',
        '{"unsupported": [2]}',
    ],
)
def test_judge_verdicts_are_read_from_json_in_prose(reply: str) -> None:
    judge = FakeJudge(reply)
    result = grounded_in(ANSWER, EGGS, method="judge", judge=judge, judge_max_tokens=64)
    assert not result.passed and result.score == pytest.approx(0.5)
    assert result.reason == "the judge found 1 of 2 claims unsupported: 'She sells 12 of them at the market.'"
    assert result.evidence == ("She sells 12 of them at the market.",)
    assert judge.kwargs == {"max_tokens": 64, "temperature": 0.0}


def test_judge_that_finds_nothing_passes() -> None:
    result = grounded_in(ANSWER, EGGS, method="judge", judge=FakeJudge('{"unsupported": []}'))
    assert result.passed and result.reason == "the judge found all 2 claims supported"


def test_the_schema_is_asked_for_where_the_engine_declares_structured_output() -> None:
    judge = FakeJudge('{"unsupported": []}')
    judge.info = SimpleNamespace(structured_output=True)  # type: ignore[attr-defined]
    assert grounded_in(ANSWER, EGGS, method="judge", judge=judge).passed
    assert judge.kwargs["schema"] is Unsupported


def test_several_judges_decide_each_claim_by_majority() -> None:
    judge = FakeJudge('{"unsupported": [2]}', '{"unsupported": [1, 2]}', '{"unsupported": []}')
    result = grounded_in(ANSWER, EGGS, method="judge", judge=judge, judge_samples=3)
    assert not result.passed
    assert result.reason.startswith(
        "the judge found 1 of 2 claims unsupported (1 of 3 judges give exactly this verdict): 'She sells 12"
    )
    assert judge.kwargs["n"] == 3


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        ("I think the answer is fine.", "no JSON in the reply"),
        ('{"unsupported": [7]}', "it names claim 7, and there are 2"),
        ("{not json", "no JSON in the reply"),
        ("", "the judge's reply is empty"),
        ('{"unsupported": ["She sells 12 of them."]}', "unsupported.0: Input should be a valid integer"),
    ],
)
def test_an_unreadable_verdict_is_a_clear_failure(reply: str, why: str) -> None:
    result = grounded_in(ANSWER, EGGS, method="judge", judge=FakeJudge(reply))
    assert not result.passed and result.score == 0.0
    assert result.reason.startswith("the judge's verdict is not JSON of the form")
    assert why in result.reason


def test_a_judge_returning_no_text_fails_without_crashing() -> None:
    result = grounded_in(ANSWER, EGGS, method="judge", judge=FakeJudge(None))
    assert not result.passed and "the judge returned NoneType, not text" in result.reason


# ---------------------------------------------------------------------------------------------
# method="nli" (plumbing, with a tiny random classifier: no real NLI model ships offline here)


def _tiny_nli(folder: Path, labels: dict[int, str], favour: int) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words = [
        *special,
        "her",
        "ducks",
        "lay",
        "eggs",
        "a",
        "day",
        "she",
        "sells",
        "of",
        "them",
        ".",
        "16",
        "12",
    ]
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    model = BertForSequenceClassification(config)  # type: ignore[no-untyped-call]
    with torch.no_grad():  # a classifier that always answers `favour`, whatever it reads
        model.classifier.weight.zero_()
        model.classifier.bias.fill_(-5.0)
        model.classifier.bias[favour] = 5.0
    model.save_pretrained(folder)
    return str(folder)


@pytest.mark.slow  # builds and runs tiny torch models: imports torch and transformers
def test_nli_reads_the_entailment_label_from_the_config(tmp_path: Path) -> None:
    labels = {0: "CONTRADICTION", 1: "NEUTRAL", 2: "ENTAILMENT"}
    entails = _tiny_nli(tmp_path / "entails", labels, favour=2)
    passed = grounded_in(ANSWER, EGGS, method="nli", nli_model=entails)
    assert passed.passed and passed.reason == "the context entails all 2 claims (entailment >= 0.5)"
    neutral = _tiny_nli(tmp_path / "neutral", labels, favour=1)
    failed = grounded_in(ANSWER, EGGS, method="nli", nli_model=neutral, min_entailment=0.3)
    assert not failed.passed and failed.score == 0.0
    assert failed.reason.startswith("2 of 2 claims are not entailed by the context (entailment < 0.3): ")
    assert "'She sells 12 of them at the market.' (entailment 0.00)" in failed.reason
    assert failed.evidence == ("Her ducks lay 16 eggs a day.", "She sells 12 of them at the market.")


@pytest.mark.slow  # builds a tiny torch model: imports torch and transformers
def test_a_model_without_an_entailment_label_is_refused(tmp_path: Path) -> None:
    sentiment = _tiny_nli(tmp_path / "sentiment", {0: "NEGATIVE", 1: "POSITIVE"}, favour=1)
    with pytest.raises(ValueError, match="is not an NLI model: its labels"):
        grounded_in(ANSWER, EGGS, method="nli", nli_model=sentiment)


# ---------------------------------------------------------------------------------------------
# consistent()

PARIS = "Paris is the capital of France. It was founded by Julius Caesar in 52 BC."
SAMPLES = [
    "The capital of France is Paris, a city of about 2 million people.",
    "France's capital is Paris. Its history goes back to a Celtic tribe.",
    "Paris is the French capital and its largest city.",
]


def test_consistent_names_the_claims_other_samples_do_not_back() -> None:
    result = consistent(PARIS, SAMPLES)
    assert not result.passed and result.score == pytest.approx(0.5)
    assert result.reason == (
        "1 of 2 claims are backed by fewer than 50% of the samples: "
        "'It was founded by Julius Caesar in 52 BC.' (0 of 3 samples)"
    )
    assert result.evidence == ("It was founded by Julius Caesar in 52 BC.",)


def test_consistent_passes_when_the_samples_agree() -> None:
    result = consistent("Paris is the capital of France.", SAMPLES)
    assert result.passed and result.reason == "all 1 claims are backed by at least 50% of 3 samples"
    assert not consistent("Paris is the capital of France.", SAMPLES, min_agreement=1.0).passed


def test_consistent_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="samples must be a list of other answers"):
        consistent(PARIS, "one answer")
    with pytest.raises(ValueError, match="samples is empty"):
        consistent(PARIS, [])
    with pytest.raises(ValueError, match=r"min_agreement must be a number in \[0, 1\]"):
        consistent(PARIS, SAMPLES, min_agreement=2)
    with pytest.raises(CheckInputError, match="consistent \\(a sample\\): got None"):
        consistent(PARIS, [None])  # type: ignore[list-item]
    assert consistent("", SAMPLES).reason == "no claims to compare in the output"


# ---------------------------------------------------------------------------------------------
# The calibration targets, on the held-out test split


def test_facts_method_meets_its_targets_on_the_test_split() -> None:
    items = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    test = [item for item in items if item["split"] == "test"]
    assert len(items) >= 300 and len(test) >= 150
    flagged = [(item, not grounded_in(item["output"], item["context"]).passed) for item in test]
    tp = sum(1 for item, f in flagged if f and item["label"] == "unsupported")
    fp = sum(1 for item, f in flagged if f and item["label"] == "grounded")
    positives = sum(1 for item, _ in flagged if item["label"] == "unsupported")
    assert tp / (tp + fp) >= 0.9, f"precision {tp / (tp + fp):.3f}"
    assert tp / positives >= 0.8, f"recall {tp / positives:.3f}"
    for group in (("operand", "result", "added_number", "number"), ("entity",)):
        rows = [f for item, f in flagged if item["kind"] in group]
        assert sum(rows) / len(rows) >= 0.8, f"recall on {group}: {sum(rows)}/{len(rows)}"


def test_numbers_of_any_length_are_supported_only_when_the_context_writes_them() -> None:
    """Differential: a number with more digits than a float holds is compared as written. The
    plain rule is exact equality of the digits; before, a 310-digit number raised OverflowError
    and two different 20-digit numbers compared equal as floats."""
    rng = random.Random(5)
    for _ in range(300):
        digits = rng.choice([16, 17, 20, 40, 309, 310, 400])
        stated = str(rng.randrange(10 ** (digits - 1), 10**digits))
        written = rng.choice([stated, str(int(stated) + 1), str(int(stated) + 10 ** (digits // 2))])
        context = f"The vault holds {stated} coins."
        output = f"The vault holds {written} coins."
        assert grounded_in(output, context).passed == (written == stated), (stated, written)
        assert consistent(output, [context]).passed == (written == stated), (stated, written)


def test_a_changed_long_number_is_named_with_why() -> None:
    big = "9" * 310
    result = grounded_in(f"There are {big[:-1]}8 stars.", f"There are {big} stars.")
    assert not result.passed
    why = "310 significant digits: too long to compute with, and the context does not write it"
    assert why in result.reason


@pytest.mark.parametrize(
    ("output", "sample", "backed"),
    [
        ("The answer is 120.", "The answer is 120.", True),  # was "not backed": numbers were words
        ("The answer is 12.", "The answer is twelve.", True),
        ("The answer is 12.", "The answer is 13.", False),  # was "no claims to compare": a pass
        ("Paris has 120 bridges.", "Paris has 130 bridges.", False),
    ],
)
def test_a_claim_of_numbers_alone_is_backed_by_its_facts(output: str, sample: str, backed: bool) -> None:
    assert consistent(output, [sample]).passed is backed


def test_a_number_cut_off_before_its_thousands_is_not_judged() -> None:
    # A real SmolLM2 answer stopped by max_tokens at "$8,": the context says $8,000.
    context = "jewelry worth $5,000 or electronic gadgets worth $8,000; gadgets will rise 1.2%"
    assert grounded_in("The gadgets will rise 1.2% (1.2% of $8,", context).passed
    assert not grounded_in("The gadgets cost $9, and more.", context).passed


# ---------------------------------------------------------------------------------------------
# Shapes of real model answers (from SmolLM2 outputs in tests/data/grounding2)


@pytest.mark.parametrize(
    "output",
    [
        "Steps:\n1. Her ducks lay 16 eggs.\n2. She eats 3.\n3. She bakes with 4.\n4) She sells the rest.",
        "Step-3: She sells the rest at $2 per egg.",
        "1. Calculate the total of the eggs.\n2. Rethink your plan.",  # an imperative is no name
        "Passage: Janet's ducks lay 16 eggs per day.",  # a label before a colon is no name
    ],
)
def test_list_numbers_labels_and_imperatives_are_not_facts(output: str) -> None:
    result = grounded_in(output, EGGS)
    assert result.passed, result.reason


def test_a_number_after_a_month_is_a_year_only_when_it_can_be_one() -> None:
    context = "A Reddit group has 1000 members who each post 3 times a day in March."
    assert grounded_in("1000 * 3 = 3000 posts a day. In March, 3000 posts are made each day.", context).passed
    dated = grounded_in("It started in March, 2021.", context)
    assert not dated.passed and "'March, 2021' (a date the context does not give)" in dated.reason


def test_a_note_in_parentheses_between_operands_is_skipped() -> None:
    context = "Zeke's team has 7 more players than Carlton's. Carlton's team has 13 players."
    assert grounded_in("13 (Carlton's team) + 7 (Zeke's team) = 20 players.", context).passed
    wrong = grounded_in("13 (Carlton's team) + 7 (Zeke's team) = 21 players.", context)
    assert "'21' (13 (Carlton's team) + 7 (Zeke's team) gives 20, not 21)" in wrong.reason
