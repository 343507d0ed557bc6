"""Phone numbers as residents type them, checked and written as E.164 (``+31612345678``).

Pure: no I/O. Google's numbering-plan data (the ``phonenumbers`` library) decides what is a
number in use and what is a mobile one, so a new range needs a library update, not a code
change. A number without a country code is read as Dutch; a foreign number needs ``+`` or
``00`` and is accepted when valid in its own country.

Refusals raise :class:`~server.messages.errors.BadPhoneNumber` with a
:class:`PhoneProblem` as the message: a plain English sentence for logs that never holds the
number. :func:`problem_of` gets it back, and :func:`resident_message` gives the Dutch text
(marked for translation) a form shows.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType
from phonenumbers import ValidationResult as Possible

from server.core.language import N_
from server.messages.errors import BadPhoneNumber

#: the country of a number typed without a country code
DEFAULT_REGION: Final = "NL"
#: longer is not a phone number however it is written (and bounds the library's work)
MAX_TYPED: Final = 40
#: what people type in a number: digits, spaces, dashes, dots, brackets ("+31 (0)6 ..."),
#: and one + in front. Letters are refused here: the library would read them as a keypad
#: word (0800-FLOWERS) or an extension ("x12"), which no resident means in this field.
_TYPED: Final = re.compile(r"\+?[0-9 ()./-]+")
#: where an SMS can go. FIXED_LINE_OR_MOBILE: countries whose plan does not tell them apart
#: (the United States, Canada); CM.com's status report says whether it arrived.
_MOBILE: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
#: numbers a specialist may call back; not premium rate or shared cost (0900, 0906, 0909
#: bill the caller, here the municipality), pagers or voicemail access numbers
_CALLABLE: Final = _MOBILE | {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.UAN,
    PhoneNumberType.TOLL_FREE,
}
_COSTLY: Final = frozenset({PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST})
#: the kinds of number residents have, whose lengths a refusal is measured against
_RESIDENTS: Final = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE)


class PhoneProblem(StrEnum):
    """Why a number is refused; the value is the exception's message (logs, never shown)."""

    EMPTY = "no phone number was given"
    NOT_DIGITS = "a phone number has only digits, spaces, dashes and a + in front"
    TOO_SHORT = "too few digits for a phone number"
    TOO_LONG = "too many digits for a phone number"
    WRONG_LENGTH = "the number of digits does not fit the numbering plan"
    NOT_IN_USE = "not a number of any numbering plan"
    NOT_MOBILE = "not a mobile number: an SMS cannot go there"
    COSTLY = "a premium-rate or shared-cost number: not called back"


# Dutch for the resident (B1), marked for translation; the form translates where it shows
# them. One text per problem, the same on every form, with an example that fits it.
_FOR_RESIDENT: Final[dict[PhoneProblem, str]] = {
    PhoneProblem.EMPTY: N_("Vul een telefoonnummer in, bijvoorbeeld 06 12345678."),
    PhoneProblem.NOT_DIGITS: N_(
        "Gebruik alleen cijfers in een telefoonnummer, bijvoorbeeld 06 12345678."
    ),
    PhoneProblem.TOO_SHORT: N_(
        "Dit telefoonnummer heeft te weinig cijfers. Een Nederlands nummer heeft 10 cijfers, "
        "bijvoorbeeld 06 12345678."
    ),
    PhoneProblem.TOO_LONG: N_(
        "Dit telefoonnummer heeft te veel cijfers. Een Nederlands nummer heeft 10 cijfers, "
        "bijvoorbeeld 06 12345678."
    ),
    PhoneProblem.WRONG_LENGTH: N_(
        "Dit telefoonnummer heeft te veel of te weinig cijfers. Een Nederlands nummer heeft "
        "10 cijfers, bijvoorbeeld 06 12345678."
    ),
    PhoneProblem.NOT_IN_USE: N_(
        "Dit telefoonnummer bestaat niet. Kijk of u alle cijfers goed hebt ingevuld."
    ),
    PhoneProblem.NOT_MOBILE: N_(
        "Dit is geen mobiel nummer. Een sms kan alleen naar een mobiel nummer, "
        "bijvoorbeeld 06 12345678."
    ),
    PhoneProblem.COSTLY: N_(
        "Naar een betaalnummer, zoals een 0900-nummer, bellen we niet. Vul een ander nummer in."
    ),
}


def mobile_number(text: str) -> str:
    """The mobile number ``text`` means, as E.164; :class:`BadPhoneNumber` if it is not one
    an SMS can go to."""
    return _checked(text, mobile=True)


def phone_number(text: str) -> str:
    """The phone number ``text`` means (a landline too), as E.164; :class:`BadPhoneNumber`
    if it is not one, or one we do not call (premium rate, shared cost)."""
    return _checked(text, mobile=False)


def is_mobile(number: str) -> bool:
    """Can an SMS go to ``number`` (as stored: E.164, or as typed before numbers were)?"""
    try:
        mobile_number(number)
    except BadPhoneNumber:
        return False
    return True


def readable(number: str) -> str:
    """``number`` the way a Dutch reader writes it: ``06 12345678`` for a Dutch number,
    ``+32 470 12 34 56`` for a foreign one. Anything unreadable comes back as it was (a
    number stored before numbers were checked)."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_REGION)
    except NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    dutch = phonenumbers.region_code_for_number(parsed) == DEFAULT_REGION
    form = PhoneNumberFormat.NATIONAL if dutch else PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, form)


def problem_of(error: BadPhoneNumber) -> PhoneProblem:
    """The problem a :class:`BadPhoneNumber` from this module names."""
    found = error.args[0] if error.args else None
    return found if isinstance(found, PhoneProblem) else PhoneProblem.NOT_IN_USE


def resident_message(problem: PhoneProblem) -> str:
    """The Dutch text (marked for translation) that tells a resident what is wrong."""
    return _FOR_RESIDENT[problem]


# --- inside --------------------------------------------------------------------------------


def _checked(text: str, *, mobile: bool) -> str:
    parsed = _parsed(text)
    if not phonenumbers.is_valid_number(parsed):
        raise BadPhoneNumber(_why_invalid(parsed, mobile=mobile))
    kind = phonenumbers.number_type(parsed)
    if mobile and kind not in _MOBILE:
        raise BadPhoneNumber(PhoneProblem.NOT_MOBILE)
    if not mobile and kind not in _CALLABLE:
        # a pager or voicemail access number is in use, but not a resident's phone
        raise BadPhoneNumber(PhoneProblem.COSTLY if kind in _COSTLY else PhoneProblem.NOT_IN_USE)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _parsed(text: str) -> PhoneNumber:
    # a no-break space comes with a number copied from a web page or an e-mail signature
    typed = text.replace("\u00a0", " ").strip()
    if not typed:
        raise BadPhoneNumber(PhoneProblem.EMPTY)
    if len(typed) > MAX_TYPED:
        raise BadPhoneNumber(PhoneProblem.TOO_LONG)
    if not _TYPED.fullmatch(typed):
        raise BadPhoneNumber(PhoneProblem.NOT_DIGITS)
    try:
        return phonenumbers.parse(typed, DEFAULT_REGION)
    except NumberParseException as error:
        raise BadPhoneNumber(_why_unparsed(error)) from None


def _why_unparsed(error: NumberParseException) -> PhoneProblem:
    if error.error_type == NumberParseException.TOO_LONG:
        return PhoneProblem.TOO_LONG
    if error.error_type in (
        NumberParseException.TOO_SHORT_NSN,
        NumberParseException.TOO_SHORT_AFTER_IDD,
    ):
        return PhoneProblem.TOO_SHORT
    if error.error_type == NumberParseException.NOT_A_NUMBER:
        return PhoneProblem.TOO_SHORT  # "+31", "0": digits, just far too few of them
    return PhoneProblem.NOT_IN_USE  # an unknown country code


def _why_invalid(parsed: PhoneNumber, *, mobile: bool) -> PhoneProblem:
    # Measured against the lengths of the numbers residents have (mobile, landline), not of
    # every kind: "06 123456789" fits the length of some 0800 number, but is one digit too
    # many for a mobile one, and that is what the resident needs to hear.
    kinds = _RESIDENTS[:1] if mobile else _RESIDENTS
    reasons = {phonenumbers.is_possible_number_for_type_with_reason(parsed, k) for k in kinds}
    if Possible.IS_POSSIBLE in reasons or Possible.IS_POSSIBLE_LOCAL_ONLY in reasons:
        return PhoneProblem.NOT_IN_USE  # the right length, but no such range
    if reasons == {Possible.TOO_SHORT}:
        return PhoneProblem.TOO_SHORT
    if reasons == {Possible.TOO_LONG}:
        return PhoneProblem.TOO_LONG
    if reasons <= {Possible.TOO_SHORT, Possible.TOO_LONG, Possible.INVALID_LENGTH}:
        return PhoneProblem.WRONG_LENGTH
    return PhoneProblem.NOT_IN_USE  # an unknown country code
