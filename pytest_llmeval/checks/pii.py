"""Personal data: ``no_pii`` finds email addresses, phone numbers, payment cards (Luhn) and IBANs
(mod 97), and masks what it found so a report does not spread it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Literal, NamedTuple

from .result import CheckResult, refusal, text_of

__all__ = ["PiiKind", "iban_valid", "luhn_valid", "mask", "no_pii"]


PiiKind = Literal["email", "phone", "card", "iban"]
_PII_KINDS: tuple[PiiKind, ...] = ("email", "phone", "card", "iban")


class _Pii(NamedTuple):
    kind: str
    start: int
    end: int
    text: str


# The local part may not start inside a longer run of its characters (the lookbehind), so each
# run is scanned once, up to RFC 5321's 64 characters: no quadratic retries on long words.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-][A-Za-z0-9._%+-]{0,63}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,24}(?![A-Za-z0-9-])"
)


def _emails(text: str) -> Iterator[_Pii]:
    for found in _EMAIL.finditer(text):
        # "git@github.com:org/repo.git" is an SSH target (scp syntax: a path right after the colon).
        if text[found.end() : found.end() + 1] == ":" and text[found.end() + 1 : found.end() + 2].strip():
            continue
        yield _Pii("email", found.start(), found.end(), found.group())


_PHONE_CANDIDATE = re.compile(r"(?<![\w+$€£¥.,/-])(?:\+|00)?\(?\d[\d \t().-]{5,22}\d(?![\w/]|[.,-]\d)")
_SEPARATORS = str.maketrans("", "", " \t().-+")
_NANP = re.compile(r"(?:1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]\d{4}")  # "1-800-555-0199" too
_TRUNK_ZERO = re.compile(r"\(?0\d{1,4}\)?(?:[ .-]?\d{2,4}){2,4}")
# A national number written without separators is a phone number only where the text says so:
# "Text 7185550136 to confirm", not "order 7185550136" or "the textbook's ISBN is 0306406152".
_UNSEPARATED_NANP = re.compile(r"[2-9]\d{2}[2-9]\d{6}")
_PHONE_WORDS = re.compile(
    r"\b(?:call|text|phone|tel|telephone|mobile|cell|fax|dial|sms|whatsapp|hotline|ring)(?:s|ed|ing|ling)?\b"
    r"\W+(?:\w+\W+){0,3}$",
    re.IGNORECASE,
)


def _phones(text: str) -> Iterator[_Pii]:
    """International numbers (+ or 00, 8-15 digits) and national ones written with separators:
    North American (555) 123-4567, or trunk-prefixed 020 7946 0958 / 06 12 34 56 78.

    Years, prices, dates and plain digit strings do not have these shapes, so they do not match.
    """
    for found in _PHONE_CANDIDATE.finditer(text):
        candidate = found.group()
        digits = candidate.translate(_SEPARATORS)
        if len(digits) < 7 or len(digits) > 17:
            continue
        if candidate.startswith(("+", "00")):
            international = digits[2:] if candidate.startswith("00") else digits
            ok = 8 <= len(international) <= 15
        else:
            separated = len(digits) < len(candidate)
            nanp = bool(_NANP.fullmatch(candidate)) and len(digits) == (11 if digits[0] == "1" else 10)
            trunk = bool(_TRUNK_ZERO.fullmatch(candidate)) and 9 <= len(digits) <= 12
            ok = (separated and (nanp or trunk)) or (
                not separated
                and bool(_UNSEPARATED_NANP.fullmatch(digits) or (trunk and len(digits) in (10, 11)))
                and bool(_PHONE_WORDS.search(text, max(0, found.start() - 40), found.start()))
            )
        if ok:
            yield _Pii("phone", found.start(), found.end(), candidate)


_CARD_CANDIDATE = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-]|[.,]\d)")
_CARD_GROUPS = ((4, 4, 4, 4), (4, 4, 4, 4, 3), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 4, 2))


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _cards(text: str) -> Iterator[_Pii]:
    for found in _CARD_CANDIDATE.finditer(text):
        candidate = found.group()
        # Card networks' numbers start with 2-6 (Mastercard, Amex, Visa, Discover, UnionPay...).
        if candidate[0] not in "23456":
            continue
        separator = " " if " " in candidate else "-"
        groups = candidate.split(separator)
        digits = "".join(groups)
        laid_out = len(groups) == 1 or (digits.isdigit() and tuple(map(len, groups)) in _CARD_GROUPS)
        if laid_out and luhn_valid(digits):
            yield _Pii("card", found.start(), found.end(), candidate)


# IBAN lengths by country, from the SWIFT IBAN Registry.
_IBAN_LENGTH = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
    "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
    "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
    "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN_CANDIDATE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}")


def iban_valid(iban: str) -> bool:
    """ISO 13616's mod-97 check: the country code and check digits moved to the end, letters as 10-35."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _ibans(text: str) -> Iterator[_Pii]:
    for found in _IBAN_CANDIDATE.finditer(text):
        length = _IBAN_LENGTH.get(found.group()[:2])
        if length is None:
            continue
        # The candidate may run on into the next word ("... 00 BIC"): cut it at the country's length.
        kept, end = 0, found.start()
        for end in range(found.start(), found.end()):
            kept += text[end] != " "
            if kept == length:
                break
        compact = text[found.start() : end + 1].replace(" ", "")
        if kept == length and iban_valid(compact):
            yield _Pii("iban", found.start(), end + 1, text[found.start() : end + 1])


_FINDERS: dict[str, Callable[[str], Iterator[_Pii]]] = {
    "email": _emails,
    "phone": _phones,
    "card": _cards,
    "iban": _ibans,
}


def mask(kind: str, span: str) -> str:
    """A span with most of it starred, so a report says what was found without spreading it."""
    if kind == "email":
        local, _, domain = span.partition("@")
        return f"{local[:1]}***@{domain}"
    keep_head, keep_tail = {"card": (4, 4), "iban": (4, 4), "phone": (0, 2)}[kind]
    positions = [i for i, char in enumerate(span) if char.isalnum()]
    shown = set(positions[:keep_head]) | set(positions[len(positions) - keep_tail :])
    return "".join(c if i in shown or not c.isalnum() else "*" for i, c in enumerate(span))


def no_pii(output: str, *, kinds: Sequence[PiiKind] | str = _PII_KINDS) -> CheckResult:
    """The output contains no email address, phone number, payment card (Luhn) or IBAN (mod 97).

    The reason and the evidence mask what was found (``4111 **** **** 1111``): failure messages,
    reports and baselines must not spread the personal data they caught.
    """
    output = text_of(output, "no_pii")
    wanted = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in wanted if k not in _FINDERS]
    if not wanted or unknown:
        raise ValueError(f"no_pii(): kinds must be some of {list(_PII_KINDS)}, got {list(wanted)!r}")
    if (refused := refusal("no_pii", len(output))) is not None:
        return refused
    found: list[_Pii] = []
    # Cards and IBANs first: their digit runs must not also be reported as phone numbers.
    for kind in ("card", "iban", "email", "phone"):
        if kind in wanted:
            found += [p for p in _FINDERS[kind](output) if not any(_overlap(p, q) for q in found)]
    if not found:
        return CheckResult.of("no_pii", True, f"no {'/'.join(wanted)} found")
    found.sort(key=lambda p: p.start)
    listed = "; ".join(f"{p.kind} {mask(p.kind, p.text)}" for p in found[:5])
    more = f"; and {len(found) - 5} more" if len(found) > 5 else ""
    return CheckResult.of(
        "no_pii", False, f"found personal data: {listed}{more}", tuple(mask(p.kind, p.text) for p in found)
    )


def _overlap(a: _Pii, b: _Pii) -> bool:
    return a.start < b.end and b.start < a.end
