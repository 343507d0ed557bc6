"""Phone numbers as residents type them (server/messages/phones.py).

The numbers are the numbering plans' own examples or fictional: 06 12345678 (the Dutch
mobile example), 020 1234567 (an Amsterdam landline example), +32 470 12 34 56 (Belgian)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.messages.errors import BadPhoneNumber
from server.messages.phones import (
    PhoneProblem,
    is_mobile,
    mobile_number,
    phone_number,
    problem_of,
    readable,
    resident_message,
)

MOBILE = "+31612345678"


@pytest.mark.parametrize(
    "typed",
    [
        "0612345678",
        "06-12 34 56 78",
        "06 12345678",
        "06-12345678",
        "(06) 12 34 56 78",
        "+31 6 1234 5678",
        "+31 (0)6 1234 5678",
        "+31612345678",
        "0031612345678",
        "00 31 6 12345678",
        " 0612345678 ",
        "06\u00a012345678",  # a no-break space, from a copied e-mail signature
    ],
)
def test_a_dutch_mobile_number_however_typed_becomes_e164(typed: str) -> None:
    assert mobile_number(typed) == MOBILE
    assert phone_number(typed) == MOBILE
    assert is_mobile(typed)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("+32 470 12 34 56", "+32470123456"),  # Belgium
        ("0032 470 12 34 56", "+32470123456"),
        ("+49 1512 3456789", "+4915123456789"),  # Germany
        ("+1 201 555 0123", "+12015550123"),  # the United States: fixed or mobile, one plan
    ],
)
def test_a_foreign_mobile_number_with_its_country_code_is_accepted(typed: str, e164: str) -> None:
    assert mobile_number(typed) == e164


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("020 1234567", PhoneProblem.NOT_MOBILE),  # a landline
        ("0800 0123", PhoneProblem.NOT_MOBILE),  # free phone
        ("0900 1234567", PhoneProblem.NOT_MOBILE),  # premium rate
        ("+32 2 123 45 67", PhoneProblem.TOO_SHORT),  # a Belgian mobile number has 9 digits
        ("0600000000", PhoneProblem.NOT_IN_USE),  # no Dutch mobile number starts 06 0
        ("06123456789", PhoneProblem.WRONG_LENGTH),  # one digit too many
        ("061234567", PhoneProblem.TOO_SHORT),
        ("0612", PhoneProblem.TOO_SHORT),
        ("+31", PhoneProblem.TOO_SHORT),
        ("+32 470 12 34 567", PhoneProblem.TOO_LONG),
        ("0" * 41, PhoneProblem.TOO_LONG),
        ("06 1234 5678 9999 9999 9999", PhoneProblem.TOO_LONG),
        ("bel me", PhoneProblem.NOT_DIGITS),
        ("0612345678x12", PhoneProblem.NOT_DIGITS),  # an extension: the library would take it
        ("0800-FLOWERS", PhoneProblem.NOT_DIGITS),  # a keypad word: the library would take it
        ("06+12345678", PhoneProblem.NOT_DIGITS),
        ("++31612345678", PhoneProblem.NOT_DIGITS),
        ("", PhoneProblem.EMPTY),
        ("   ", PhoneProblem.EMPTY),
        ("+999 1234", PhoneProblem.NOT_IN_USE),  # no such country code
    ],
)
def test_anything_else_is_refused_with_the_reason_and_never_the_number(
    typed: str, problem: PhoneProblem
) -> None:
    with pytest.raises(BadPhoneNumber) as refused:
        mobile_number(typed)
    assert problem_of(refused.value) is problem
    assert str(refused.value) == problem.value
    digits = "".join(ch for ch in typed if ch.isdigit())
    assert len(digits) < 4 or digits not in str(refused.value)
    assert not is_mobile(typed)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("020 1234567", "+31201234567"),
        ("020-123 45 67", "+31201234567"),
        ("0101234567", "+31101234567"),
        ("0800 0123", "+318000123"),  # free for the municipality too
        ("+32 2 224 21 11", "+3222242111"),  # a Belgian landline
        ("06 12345678", MOBILE),
    ],
)
def test_a_call_back_may_go_to_a_landline(typed: str, e164: str) -> None:
    assert phone_number(typed) == e164


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0900 1234567", PhoneProblem.COSTLY),
        ("0909 1234567", PhoneProblem.COSTLY),
        ("12345", PhoneProblem.TOO_SHORT),
        ("020 123456", PhoneProblem.TOO_SHORT),
        ("02012345678", PhoneProblem.WRONG_LENGTH),
        ("bel me", PhoneProblem.NOT_DIGITS),
        ("0600000000", PhoneProblem.NOT_IN_USE),
    ],
)
def test_a_call_back_is_not_made_to_a_paid_or_broken_number(
    typed: str, problem: PhoneProblem
) -> None:
    with pytest.raises(BadPhoneNumber) as refused:
        phone_number(typed)
    assert problem_of(refused.value) is problem


def test_every_problem_has_a_dutch_text_with_an_example_or_a_way_out() -> None:
    for problem in PhoneProblem:
        text = resident_message(problem)
        assert text.endswith(".") and ("06 12345678" in text or "Vul" in text or "Kijk" in text)
    assert "mobiel" in resident_message(PhoneProblem.NOT_MOBILE)


def test_a_foreign_bad_phone_number_error_reads_as_not_in_use() -> None:
    assert problem_of(BadPhoneNumber("something else")) is PhoneProblem.NOT_IN_USE


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+31612345678", "06 12345678"),
        ("+31201234567", "020 123 4567"),
        ("+32470123456", "+32 470 12 34 56"),
        ("06 00000000", "06 00000000"),  # stored before numbers were checked: as it was
        ("bel me", "bel me"),
    ],
)
def test_a_stored_number_reads_the_dutch_way(stored: str, shown: str) -> None:
    assert readable(stored) == shown


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789 ()./-+x\u00a0", max_size=45) | st.text(max_size=45))
def test_whatever_is_typed_is_a_refusal_or_an_e164_number_that_stays_itself(typed: str) -> None:
    for check in (mobile_number, phone_number):
        try:
            number = check(typed)
        except BadPhoneNumber as refused:
            assert isinstance(refused.args[0], PhoneProblem)
            continue
        assert number.startswith("+") and number[1:].isdigit() and len(number) <= 16
        assert check(number) == number
