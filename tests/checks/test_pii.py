"""no_pii: every kind of personal data is found and masked; ordinary numbers are left alone."""

from __future__ import annotations

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
