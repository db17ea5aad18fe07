"""Bad, odd and huge inputs to the refusal, PII, truncation, leak and toxicity checks: each rejects
None, reads bytes, decides odd text as a person would, and stays fast on a megabyte."""

from __future__ import annotations

import pytest

from pytest_llmeval.checks.leak import no_leak
from pytest_llmeval.checks.pii import no_pii
from pytest_llmeval.checks.refusal import is_refusal, not_refusal
from pytest_llmeval.checks.toxicity import not_toxic
from pytest_llmeval.checks.truncation import not_truncated

from ..helpers import LEAK_SYSTEM as SYSTEM
from .inputs import Check, assert_decides, assert_fast, assert_rejects_none_and_reads_bytes

CHECKS: list[Check] = [
    is_refusal,
    not_refusal,
    no_pii,
    not_truncated,
    lambda o: no_leak(o, SYSTEM),
    lambda o: no_leak(o, "NB-7731"),
    not_toxic,
]
IDS = ["is_refusal", "not_refusal", "no_pii", "not_truncated", "no_leak", "no_leak_short", "not_toxic"]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_checks_reject_none_and_accept_bytes(check: Check) -> None:
    assert_rejects_none_and_reads_bytes(check, b"Call +1 202 555 0143.")


ODD_TEXTS = {
    "empty": "",
    "surrogates": "\ud800 lone \udfff surrogates",
    "nul_bracket": "\x00\x00 (",
    "broken_refusal": "I can't\ud800 help",
}
# What each check must decide, read from the texts: the checks named here pass. None holds personal
# data, the prompt or a toxic word; "(" left open is a cut-off answer; a lone surrogate (what a bad
# decode leaves) carries no letter, so "I can't\ud800 help" is still a refusal.
ALL = set(IDS)
ODD_PASSES = {
    "empty": ALL - {"is_refusal"},
    "surrogates": ALL - {"is_refusal"},
    "nul_bracket": ALL - {"is_refusal", "not_truncated"},
    "broken_refusal": ALL - {"not_refusal"},
}


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_checks_decide_odd_text(check: Check, text: str) -> None:
    assert_decides(check, ODD_TEXTS[text], IDS[CHECKS.index(check)] in ODD_PASSES[text])


ADVERSARIAL = [
    "a" * 1_000_000,
    "a@" * 500_000,
    "a.a@b." * 160_000,
    "1 " * 500_000,
    "4" * 1_000_000,
    "DE89 " * 200_000,
    "(" * 1_000_000,
    "I can't " * 120_000,
    SYSTEM * 5_000,
    "word " * 200_000,
]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_one_megabyte_outputs_stay_fast(check: Check) -> None:
    assert_fast(check, ADVERSARIAL)
