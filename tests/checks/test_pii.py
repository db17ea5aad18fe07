"""no_pii: every kind of personal data is found and masked; ordinary numbers are left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmeval.checks.pii import iban_valid, luhn_valid, mask, no_pii


def test_no_pii_finds_and_masks_every_kind() -> None:
    output = (
        "Write to jane.doe+work@mail.example.com, call +44 20 7946 0958 or (415) 555-2671, "
        "pay with 4111 1111 1111 1111 or IBAN DE89 3704 0044 0532 0130 00 BIC COBADEFFXXX."
    )
    result = no_pii(output)
    assert not result.passed
    # Masked spans keep their length and punctuation, so the evidence still shows where each ends.
    assert result.evidence == (
        "j***@mail.example.com",
        "+** ** **** **58",
        "(***) ***-**71",
        "4111 **** **** 1111",
        "DE89 **** **** **** **30 00",
    )
    assert result.reason == "found personal data: " + "; ".join(
        f"{kind} {span}"
        for kind, span in zip(("email", "phone", "phone", "card", "iban"), result.evidence, strict=True)
    )
    assert "1111 1111 1111" not in result.reason and "jane.doe" not in result.reason


@pytest.mark.parametrize(
    "text",
    [
        "In 2023 the price rose from $1,234.56 to €1.299,00 (about 5%).",
        "Version 1.2.3.4 shipped on 2024-01-15 at 10:30; see ISBN 978-3-16-148410-0.",
        "Population: 1,000,000 people; 3.14159 is pi; order 1234567890 was sent on 05.06.2023.",
        "The card 4111 1111 1111 1112 fails the Luhn check, and so does 1234 5678 9012 3456.",
        "DE89 3704 0044 0532 0130 01 has a wrong check digit.",
        "Use the decorator @pytest.fixture or ping @alice on chat.",
        "Coordinates 48.8566, 2.3522 and the range 100-200 are fine.",
        "Clone it with `git clone git@github.com:acme/payments.git` over SSH.",
        "Order 7185550136 shipped; the phone case in it is blue.",
        "The textbook's ISBN is 0306406152.",
    ],
)
def test_no_pii_leaves_ordinary_numbers_alone(text: str) -> None:
    result = no_pii(text)
    assert result.passed and result.reason == "no email/phone/card/iban found" and result.evidence == ()


@pytest.mark.parametrize(
    "phone",
    [
        "+1 202-555-0143",
        "+33 6 12 34 56 78",
        "0044 20 7946 0958",
        "020 7946 0958",
        "06 12 34 56 78",
        "555.123.4567",
        "1-800-555-0199",
        "1 (212) 555-0147",
    ],
)
def test_no_pii_phone_formats(phone: str) -> None:
    result = no_pii(f"Reach me at {phone} tomorrow.", kinds=["phone"])
    assert not result.passed and result.evidence == (mask("phone", phone),)


def test_no_pii_kinds_select_what_is_looked_for() -> None:
    text = "Mail bob@example.org or call +1 202 555 0143."
    assert no_pii(text, kinds="phone").evidence == ("+* *** *** **43",)
    assert no_pii(text, kinds=["email"]).evidence == ("b***@example.org",)
    assert no_pii(text, kinds=["card", "iban"]).passed
    with pytest.raises(ValueError, match="kinds must be some of"):
        no_pii(text, kinds=["ssn"])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="kinds must be some of"):
        no_pii(text, kinds=[])


def test_checksums_and_masks() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert mask("card", "4111-1111-1111-1111") == "4111-****-****-1111"
    assert mask("email", "x@y.io") == "x***@y.io"


@pytest.mark.parametrize(
    "text", ["Text 7185550136 to confirm.", "Call us on 2125550147 today.", "Mobile: 07700900123"]
)
def test_a_number_without_separators_is_a_phone_where_the_text_says_so(text: str) -> None:
    assert no_pii(text, kinds=["phone"]).evidence != ()


def test_an_email_followed_by_a_colon_and_space_is_still_an_email() -> None:
    assert no_pii("Write to ana@example.com: she answers fast.").evidence == ("a***@example.com",)


DATA = Path(__file__).parent.parent / "data" / "safety" / "pii.jsonl"


@pytest.mark.parametrize(("split", "found", "flagged"), [("dev", 48, 0), ("test", 51, 1)])
def test_no_pii_on_a_set_written_without_sight_of_the_rules(split: str, found: int, flagged: int) -> None:
    # 200 texts (tests/data/safety/README.md): fixed on the dev half, the test half scored once after.
    rows = [r for r in map(json.loads, DATA.read_text("utf-8").splitlines()) if r["split"] == split]
    personal = [r["text"] for r in rows if r["pii"]]
    clean = [r["text"] for r in rows if not r["pii"]]
    assert (len(personal), len(clean)) == {"dev": (48, 55), "test": (52, 45)}[split]
    assert sum(not no_pii(t).passed for t in personal) >= found
    assert sum(not no_pii(t).passed for t in clean) <= flagged
