"""What a user sees when a check fails: the E line of a plain test and the x reason of a suite case."""

from __future__ import annotations

import pytest


def test_failed_checks_show_their_reason_and_evidence(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pydantic import BaseModel
        from pytest_llmeval import expect

        class Person(BaseModel):
            name: str
            age: int

        def test_json_schema():
            expect('Sure: {"name": "Bob", "age": "old"}').json(schema=Person)

        def test_loop():
            expect("I think " + "the answer is the answer is " * 12).not_garbled()

        def test_grounding():
            context = "Janet's ducks lay 16 eggs per day. She eats three and bakes with four."
            expect("She has 16 - 3 - 4 = 10 eggs left.").grounded_in(context)

        def test_pii():
            expect("Write to jane.doe@example.com today.").no_pii()

        def test_steps():
            expect("1. Open the lid\\n3. Pour").numbered_steps(min=2)

        def test_passes():
            expect('{"name": "Bob", "age": 42}').json(schema=Person)
            expect("Paris is the capital of France.").not_garbled().not_refusal().no_pii()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 1
    result.assert_outcomes(failed=5, passed=1)
    result.stdout.fnmatch_lines_random(
        [
            "E *CheckFailed: json: JSON * does not match Person: 1 error: age: Input should be a valid int*",
            "E *CheckFailed: not_garbled: repetition: *[[]evidence: *the answer is the answer is*",
            "E *CheckFailed: grounded_in: *'10' (16 - 3 - 4 gives 9, not 10)*",
            "E *CheckFailed: no_pii: found personal data: email j***@example.com",
            "E *CheckFailed: numbered_steps: step 2 is numbered 3*",
        ]
    )
    # The test's source line shows the address; the failure message itself must not.
    assert not [line for line in result.outlines if line.startswith("E ") and "jane.doe@" in line]


def test_a_suite_case_lists_every_failed_check_as_its_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pytest_llmeval import Case, expect

        CASES = [Case(id="ok", prompt="p", expected="a"), Case(id="bad", prompt="p", expected="b")]
        ANSWERS = {"ok": "- one\\n- two", "bad": "I'm sorry, but I can't help with that."}

        @pytest.mark.llmeval(min_pass_rate=0.5)
        @pytest.mark.parametrize("case", CASES, ids=str)
        def test_answers(case):
            out = ANSWERS[case.id]
            expect(out).not_refusal().bullets(min=2)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rx")
    assert result.ret == 0
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(
        ["XFAIL *test_answers[[]bad[]]*not_refusal: the model refused: *; bullets: *"]
    )
