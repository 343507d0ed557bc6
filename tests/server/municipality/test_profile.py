"""The municipality's profile: every field checked when it is made, the administrator's form
naming every field in error at once, and the stored form read back as written (and refused
when it is not one we wrote)."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from server.municipality.errors import BadProfileData, ProfileInvalid
from server.municipality.profile import (
    BAD_EMAIL,
    BAD_PHONE,
    BAD_URL,
    CHOOSE_STATUS,
    DATA_VERSION,
    EMAIL_OR_FORM,
    FIELDS,
    FUTURE_DATE,
    ISSUES_BUT_FULL,
    ISSUES_NEEDED,
    ONE_LINE,
    PHONE_DIGITS,
    REQUIRED,
    TOO_LONG,
    TOO_MANY_LINES,
    AccessibilityStatus,
    TenantProfile,
    form_values,
    from_data,
    from_form,
    to_data,
)

TODAY = date(2026, 12, 6)

GOOD_FORM = {
    "phone": "14 020",
    "phone_hours": "Maandag tot en met vrijdag van 8.30 tot 17.00 uur",
    "email": "balie@voorbeeld.example",
    "form_url": "https://voorbeeld.example/contact",
    "visiting_address": "Stadhuisplein 1\r\n\r\n1000 AA  Voorbeeld\n",
    "controller": "Het college van burgemeester en wethouders van Voorbeeld",
    "privacy_officer_email": "fg@voorbeeld.example",
    "privacy_url": "",
    "accessibility_status": "voldoet-gedeeltelijk",
    "accessibility_date": "2026-11-30",
    "known_issues": "De grafiek heeft geen tekst.\n  Ondertiteling ontbreekt.  \n",
}


def good_profile(**changes: Any) -> TenantProfile:
    return dataclasses.replace(from_form(GOOD_FORM, TODAY), **changes)


def problems_of(form: dict[str, str]) -> dict[str, str]:
    """Field → the Dutch message (untranslated, unformatted) of each field in error."""
    with pytest.raises(ProfileInvalid) as refused:
        from_form(form, TODAY)
    return {name: problem.message for name, problem in refused.value.problems.items()}


def test_a_good_form_becomes_a_profile_with_tidy_lines() -> None:
    profile = from_form(GOOD_FORM, TODAY)
    assert profile.phone == "14 020"
    assert profile.phone_dial == "14020"
    assert profile.visiting_address == ("Stadhuisplein 1", "1000 AA  Voorbeeld")
    assert profile.privacy_url is None  # empty optional fields are "not given"
    assert profile.accessibility_status is AccessibilityStatus.PARTIAL
    assert profile.accessibility_date == date(2026, 11, 30)
    assert profile.known_issues == ("De grafiek heeft geen tekst.", "Ondertiteling ontbreekt.")


def test_an_international_number_keeps_its_plus_for_dialling() -> None:
    assert good_profile(phone="+31 (0)20-123 4567").phone_dial == "+310201234567"


def test_an_empty_form_names_every_required_field_and_nothing_else() -> None:
    assert problems_of({}) == {
        "phone": REQUIRED,
        "phone_hours": REQUIRED,
        "email": EMAIL_OR_FORM,
        "controller": REQUIRED,
        "privacy_officer_email": REQUIRED,
        "accessibility_status": CHOOSE_STATUS,
        "accessibility_date": REQUIRED,
    }


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("phone", "bel ons", BAD_PHONE),
        ("phone", "06-12345678 of 06-87654321", BAD_PHONE),
        ("phone", "1234", PHONE_DIGITS),
        ("phone", "0" * 16, PHONE_DIGITS),
        ("phone", "14\t020", ONE_LINE),
        ("phone_hours", "x" * 201, TOO_LONG),
        ("phone_hours", "ma\x07-vr", ONE_LINE),
        ("email", "balie", BAD_EMAIL),
        ("email", "balie@voorbeeld", BAD_EMAIL),
        ("email", "<balie@voorbeeld.example>", BAD_EMAIL),
        ("form_url", "http://voorbeeld.example/contact", BAD_URL),
        ("form_url", "javascript:alert(1)", BAD_URL),
        ("form_url", "https:///contact", BAD_URL),
        ("privacy_url", "voorbeeld.example/privacy", BAD_URL),
        ("visiting_address", "1\n2\n3\n4\n5", TOO_MANY_LINES),
        ("privacy_officer_email", "fg at voorbeeld", BAD_EMAIL),
        ("accessibility_status", "prima", CHOOSE_STATUS),
        (
            "accessibility_date",
            "30-11-2026",
            "Vul een datum in als jjjj-mm-dd, bijvoorbeeld 2026-03-01.",
        ),
        ("accessibility_date", "2026-12-07", FUTURE_DATE),
        ("known_issues", "", ISSUES_NEEDED),
        ("known_issues", "\n".join(["Iets."] * 21), TOO_MANY_LINES),
    ],
)
def test_each_bad_field_is_named_with_its_own_message(name: str, value: str, message: str) -> None:
    assert problems_of(GOOD_FORM | {name: value}) == {name: message}


def test_the_limits_come_with_their_numbers() -> None:
    with pytest.raises(ProfileInvalid) as refused:
        from_form(GOOD_FORM | {"phone": "1234"}, TODAY)
    assert refused.value.problems["phone"].text() == "Een telefoonnummer heeft 5 tot 15 cijfers."


def test_a_form_url_alone_will_do_instead_of_an_email_address() -> None:
    profile = from_form(GOOD_FORM | {"email": ""}, TODAY)
    assert (profile.email, profile.form_url) == (None, "https://voorbeeld.example/contact")
    assert problems_of(GOOD_FORM | {"email": "", "form_url": ""}) == {"email": EMAIL_OR_FORM}


def test_full_compliance_and_known_issues_contradict_each_other() -> None:
    full = GOOD_FORM | {"accessibility_status": "voldoet"}
    assert problems_of(full) == {"known_issues": ISSUES_BUT_FULL}
    assert from_form(full | {"known_issues": ""}, TODAY).known_issues == ()


def test_an_unknown_status_does_not_also_blame_the_issues() -> None:
    assert problems_of(GOOD_FORM | {"accessibility_status": "", "known_issues": ""}) == {
        "accessibility_status": CHOOSE_STATUS
    }


def test_errors_come_in_the_order_of_the_form() -> None:
    form = GOOD_FORM | {"known_issues": "", "phone": "", "controller": ""}
    assert list(problems_of(form)) == ["phone", "controller", "known_issues"]
    assert list(problems_of(form)) == [name for name in FIELDS if name in problems_of(form)]


def test_a_profile_cannot_be_made_wrong_in_code_either() -> None:
    with pytest.raises(ProfileInvalid) as refused:
        good_profile(phone="", accessibility_status="voldoet", visiting_address=())
    assert set(refused.value.problems) == {"phone", "accessibility_status", "visiting_address"}


def test_the_form_shows_a_profile_as_it_reads_it_back() -> None:
    profile = from_form(GOOD_FORM, TODAY)
    assert from_form(form_values(profile), TODAY) == profile
    assert form_values(None) == {}


def test_the_stored_form_is_versioned_plain_json_and_reads_back() -> None:
    profile = from_form(GOOD_FORM, TODAY)
    data = to_data(profile)
    assert data == {
        "version": DATA_VERSION,
        "phone": "14 020",
        "phone_hours": "Maandag tot en met vrijdag van 8.30 tot 17.00 uur",
        "email": "balie@voorbeeld.example",
        "form_url": "https://voorbeeld.example/contact",
        "visiting_address": ["Stadhuisplein 1", "1000 AA  Voorbeeld"],
        "controller": "Het college van burgemeester en wethouders van Voorbeeld",
        "privacy_officer_email": "fg@voorbeeld.example",
        "privacy_url": None,
        "accessibility_status": "voldoet-gedeeltelijk",
        "accessibility_date": "2026-11-30",
        "known_issues": ["De grafiek heeft geen tekst.", "Ondertiteling ontbreekt."],
    }
    assert from_data(data) == profile
    assert from_data(to_data(good_profile(visiting_address=None))).visiting_address is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"version": 2}, "version"),
        ({"version": True}, "version"),
        ({"phone": 14020}, "phone"),
        ({"email": ["a@b.nl"]}, "email"),
        ({"known_issues": "Iets."}, "known_issues"),
        ({"visiting_address": [1]}, "visiting_address"),
        ({"accessibility_status": "prima"}, "accessibility_status"),
        ({"accessibility_date": "gisteren"}, "accessibility_date"),
        ({"phone": "bel ons"}, "phone"),
        ({"email": None, "form_url": None}, "email"),
    ],
)
def test_a_stored_form_we_did_not_write_is_refused_with_where(
    change: dict[str, object], where: str
) -> None:
    data = to_data(from_form(GOOD_FORM, TODAY)) | change
    with pytest.raises(BadProfileData) as refused:
        from_data(data)
    assert refused.value.where == where


@pytest.mark.parametrize("data", [None, [], "profile", {"version": 1}])
def test_a_stored_form_of_the_wrong_shape_is_refused(data: object) -> None:
    with pytest.raises(BadProfileData):
        from_data(data)


def test_an_extra_key_is_refused_rather_than_dropped() -> None:
    with pytest.raises(BadProfileData, match="extra"):
        from_data(to_data(from_form(GOOD_FORM, TODAY)) | {"extra": 1})
