"""A municipality's own details: how residents reach it, who answers for their data, and how
accessible its Balie is.

Pure: no database, no web framework, no clock (the form's "not in the future" check takes
``today`` from the caller). A :class:`TenantProfile` checks its fields when it is made, so a
profile that exists is a profile that can be shown; :func:`from_form` reads the
administrator's form and names every field in error at once (:class:`ProfileInvalid`).

**The stored form** (``tenants.profile``, JSON) mirrors the field names, with a version a
reader insists on, so a later form is never misread::

    {"version": 1, "phone": "14 0XX", "phone_hours": "...", "email": "...", ...}

:func:`to_data` writes it, :func:`from_data` reads and checks it (:class:`BadProfileData`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from server.core.language import N_
from server.municipality.errors import BadProfileData, FieldProblem, ProfileInvalid

#: the stored form's version: a reader refuses any other
DATA_VERSION: Final = 1

MAX_LINE: Final = 200
MAX_URL: Final = 500
MAX_EMAIL: Final = 254
MAX_ADDRESS_LINES: Final = 4
MAX_ISSUES: Final = 20
MAX_ISSUE: Final = 300
#: digits in a phone number: "14 020" (the municipalities' short number) has 5, an
#: international number at most 15 (E.164)
MIN_PHONE_DIGITS: Final = 5
MAX_PHONE_DIGITS: Final = 15

_PHONE: Final = re.compile(r"\+?[0-9][0-9 ()-]*")
# a plain check, not RFC 5322: an address the municipality types in, shown as a mailto link
_EMAIL: Final = re.compile(r"[^@\s<>\"]+@[^@\s<>\".]+(\.[^@\s<>\".]+)+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")


class AccessibilityStatus(StrEnum):
    """The compliance statuses of the Dutch government's model accessibility statement
    (digitoegankelijk.nl: A to D; E, "no statement", is not a statement one can make)."""

    FULL = "voldoet"
    PARTIAL = "voldoet-gedeeltelijk"
    FIRST_STEPS = "eerste-maatregelen"
    NOT = "voldoet-niet"


#: the form's labels for each status
STATUS_LABELS: Final = {
    AccessibilityStatus.FULL: N_("Voldoet volledig"),
    AccessibilityStatus.PARTIAL: N_("Voldoet gedeeltelijk"),
    AccessibilityStatus.FIRST_STEPS: N_("Eerste maatregelen genomen"),
    AccessibilityStatus.NOT: N_("Voldoet niet"),
}

# --- what the administrator is told ---------------------------------------------------------

REQUIRED: Final = N_("Vul dit in.")
TOO_LONG: Final = N_("Dit is te lang: gebruik hoogstens %(max)d tekens.")
ONE_LINE: Final = N_("Gebruik één regel, zonder tabs of andere speciale tekens.")
BAD_PHONE: Final = N_(
    "Vul een telefoonnummer in met alleen cijfers, spaties, streepjes en haakjes, en "
    "eventueel een + vooraan. Bijvoorbeeld 14 020 of 020-1234567."
)
PHONE_DIGITS: Final = N_("Een telefoonnummer heeft %(min)d tot %(max)d cijfers.")
BAD_EMAIL: Final = N_("Vul een e-mailadres in zoals naam@gemeente.nl.")
BAD_URL: Final = N_("Vul een volledige link in die begint met https://.")
EMAIL_OR_FORM: Final = N_("Vul een e-mailadres in, of een link naar een contactformulier.")
TOO_MANY_LINES: Final = N_("Gebruik hoogstens %(max)d regels.")
LINE_TOO_LONG: Final = N_("Elke regel mag hoogstens %(max)d tekens hebben.")
CHOOSE_STATUS: Final = N_("Kies hoe goed Balie aan de eisen voldoet.")
BAD_DATE: Final = N_("Vul een datum in als jjjj-mm-dd, bijvoorbeeld 2026-03-01.")
FUTURE_DATE: Final = N_("Deze datum ligt in de toekomst. Vul de datum in waarop u keek.")
ISSUES_NEEDED: Final = N_(
    "Voldoet Balie niet volledig? Noem dan de bekende problemen, één per regel."
)
ISSUES_BUT_FULL: Final = N_(
    "Er staan bekende problemen in de lijst. Dan voldoet Balie niet volledig: kies een "
    "andere status of maak de lijst leeg."
)


@dataclass(frozen=True, slots=True)
class TenantProfile:
    """What a municipality fills in once; every field is checked when the profile is made."""

    #: the phone number residents call (shown as written, dialled by its digits)
    phone: str
    #: when the phone line is open, in the municipality's own words
    phone_hours: str
    #: at least one of these two: an e-mail address, or the link to a contact form
    email: str | None
    form_url: str | None
    #: the visiting address, one line per line as on an envelope; None: not shown
    visiting_address: tuple[str, ...] | None
    #: who answers for the processing (the AVG's controller), as the statement names it
    controller: str
    #: how to reach the data protection officer (functionaris gegevensbescherming)
    privacy_officer_email: str
    #: the municipality's general privacy statement, linked from Balie's; None: none
    privacy_url: str | None
    accessibility_status: AccessibilityStatus
    #: when the accessibility was last assessed (the statement's date)
    accessibility_date: date
    #: problems known to remain, one sentence each
    known_issues: tuple[str, ...]

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise ProfileInvalid(problems)

    @property
    def phone_dial(self) -> str:
        """The number for a ``tel:`` link: digits, with a leading + kept."""
        digits = re.sub(r"[^0-9]", "", self.phone)
        return "+" + digits if self.phone.startswith("+") else digits


#: the form's fields, in the order the form shows them (and reports errors in)
FIELDS: Final = tuple(f.name for f in fields(TenantProfile))


# --- checks -----------------------------------------------------------------------------------


def _line(value: str, limit: int = MAX_LINE) -> FieldProblem | None:
    if not value:
        return FieldProblem(REQUIRED)
    if _CONTROL.search(value):
        return FieldProblem(ONE_LINE)
    if len(value) > limit:
        return FieldProblem(TOO_LONG, {"max": limit})
    return None


def _phone(value: str) -> FieldProblem | None:
    problem = _line(value, 32)
    if problem is not None:
        return problem
    if not _PHONE.fullmatch(value):
        return FieldProblem(BAD_PHONE)
    digits = sum(char.isdigit() for char in value)
    if not MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
        return FieldProblem(PHONE_DIGITS, {"min": MIN_PHONE_DIGITS, "max": MAX_PHONE_DIGITS})
    return None


def _email(value: str | None) -> FieldProblem | None:
    if value is None:
        return None
    problem = _line(value, MAX_EMAIL)
    if problem is not None:
        return problem
    return None if _EMAIL.fullmatch(value) else FieldProblem(BAD_EMAIL)


def _url(value: str | None) -> FieldProblem | None:
    if value is None:
        return None
    problem = _line(value, MAX_URL)
    if problem is not None:
        return problem
    parts = urlsplit(value)
    # https only: the pages link to it, and a javascript: or http: link has no place there
    if parts.scheme != "https" or not parts.hostname or " " in value:
        return FieldProblem(BAD_URL)
    return None


def _lines(values: tuple[str, ...], most: int, longest: int) -> FieldProblem | None:
    if len(values) > most:
        return FieldProblem(TOO_MANY_LINES, {"max": most})
    for value in values:
        if _CONTROL.search(value):
            return FieldProblem(ONE_LINE)
        if not value or len(value) > longest:
            return FieldProblem(LINE_TOO_LONG, {"max": longest})
    return None


def _status(value: object) -> FieldProblem | None:
    # the type says so, but a caller passing the plain string would otherwise slip through
    return None if isinstance(value, AccessibilityStatus) else FieldProblem(CHOOSE_STATUS)


def _problems(profile: TenantProfile) -> dict[str, FieldProblem]:
    checks: dict[str, FieldProblem | None] = {
        "phone": _phone(profile.phone),
        "phone_hours": _line(profile.phone_hours),
        "email": _email(profile.email),
        "form_url": _url(profile.form_url),
        "visiting_address": None
        if profile.visiting_address is None
        else _lines(profile.visiting_address, MAX_ADDRESS_LINES, MAX_LINE)
        or (FieldProblem(REQUIRED) if not profile.visiting_address else None),
        "controller": _line(profile.controller),
        "privacy_officer_email": _email(profile.privacy_officer_email),
        "privacy_url": _url(profile.privacy_url),
        "accessibility_status": _status(profile.accessibility_status),
        "known_issues": _lines(profile.known_issues, MAX_ISSUES, MAX_ISSUE),
    }
    if profile.email is None and profile.form_url is None:
        checks["email"] = FieldProblem(EMAIL_OR_FORM)
    if checks["known_issues"] is None:
        full = profile.accessibility_status is AccessibilityStatus.FULL
        if full and profile.known_issues:
            checks["known_issues"] = FieldProblem(ISSUES_BUT_FULL)
        elif not full and not profile.known_issues:
            checks["known_issues"] = FieldProblem(ISSUES_NEEDED)
    return {name: problem for name, problem in checks.items() if problem is not None}


# --- the administrator's form -------------------------------------------------------------


def _optional(value: str) -> str | None:
    return value or None


def _split(value: str) -> tuple[str, ...]:
    """A textarea's non-empty lines, trimmed."""
    return tuple(line.strip() for line in value.splitlines() if line.strip())


def from_form(form: Mapping[str, str], today: date) -> TenantProfile:
    """The profile in the posted ``form`` (field names as :data:`FIELDS`), or
    :class:`ProfileInvalid` naming every field in error."""

    def value(name: str) -> str:
        return form.get(name, "").strip()

    problems: dict[str, FieldProblem] = {}
    try:
        status = AccessibilityStatus(value("accessibility_status"))
    except ValueError:
        problems["accessibility_status"] = FieldProblem(CHOOSE_STATUS)
        status = AccessibilityStatus.PARTIAL  # a stand-in, so the other checks still run
    try:
        checked = date.fromisoformat(value("accessibility_date"))
    except ValueError:
        problems["accessibility_date"] = FieldProblem(
            REQUIRED if not value("accessibility_date") else BAD_DATE
        )
        checked = today
    else:
        if checked > today:
            problems["accessibility_date"] = FieldProblem(FUTURE_DATE)
    address = _split(form.get("visiting_address", ""))
    try:
        profile = TenantProfile(
            phone=value("phone"),
            phone_hours=value("phone_hours"),
            email=_optional(value("email")),
            form_url=_optional(value("form_url")),
            visiting_address=address or None,
            controller=value("controller"),
            privacy_officer_email=value("privacy_officer_email"),
            privacy_url=_optional(value("privacy_url")),
            accessibility_status=status,
            accessibility_date=checked,
            known_issues=_split(form.get("known_issues", "")),
        )
    except ProfileInvalid as invalid:
        problems |= dict(invalid.problems)
        # the stand-in status is not the administrator's: its consequence is not theirs either
        if "accessibility_status" in problems:
            problems.pop("known_issues", None)
    if problems:
        raise ProfileInvalid({name: problems[name] for name in FIELDS if name in problems})
    return profile


def form_values(profile: TenantProfile | None) -> dict[str, str]:
    """The form's fields filled in with ``profile`` (empty without one)."""
    if profile is None:
        return {}
    return {
        "phone": profile.phone,
        "phone_hours": profile.phone_hours,
        "email": profile.email or "",
        "form_url": profile.form_url or "",
        "visiting_address": "\n".join(profile.visiting_address or ()),
        "controller": profile.controller,
        "privacy_officer_email": profile.privacy_officer_email,
        "privacy_url": profile.privacy_url or "",
        "accessibility_status": profile.accessibility_status.value,
        "accessibility_date": profile.accessibility_date.isoformat(),
        "known_issues": "\n".join(profile.known_issues),
    }


# --- the stored form ----------------------------------------------------------------------


def to_data(profile: TenantProfile) -> dict[str, object]:
    """The profile as stored in ``tenants.profile``."""
    return {
        "version": DATA_VERSION,
        "phone": profile.phone,
        "phone_hours": profile.phone_hours,
        "email": profile.email,
        "form_url": profile.form_url,
        "visiting_address": None
        if profile.visiting_address is None
        else list(profile.visiting_address),
        "controller": profile.controller,
        "privacy_officer_email": profile.privacy_officer_email,
        "privacy_url": profile.privacy_url,
        "accessibility_status": profile.accessibility_status.value,
        "accessibility_date": profile.accessibility_date.isoformat(),
        "known_issues": list(profile.known_issues),
    }


_KEYS: Final = frozenset({"version", *FIELDS})


def from_data(data: object) -> TenantProfile:
    """Read the stored form back; :class:`BadProfileData` if it is not one :func:`to_data`
    could have written."""
    if not isinstance(data, dict):
        raise BadProfileData("not an object")
    if set(data) != _KEYS:
        raise BadProfileData("unexpected or missing keys: " + ", ".join(sorted(set(data) ^ _KEYS)))
    # by type too: True is not version 1
    if type(data["version"]) is not int or data["version"] != DATA_VERSION:
        raise BadProfileData(f"not version {DATA_VERSION}", "version")

    def text(name: str, *, optional: bool = False) -> str | None:
        found = data[name]
        if found is None and optional:
            return None
        if not isinstance(found, str):
            raise BadProfileData("not a string", name)
        return found

    def texts(name: str, *, optional: bool = False) -> tuple[str, ...] | None:
        found = data[name]
        if found is None and optional:
            return None
        if not isinstance(found, list) or not all(isinstance(item, str) for item in found):
            raise BadProfileData("not a list of strings", name)
        return tuple(found)

    def required(found: str | None) -> str:
        assert found is not None  # text() without optional returns a string or raises
        return found

    try:
        status = AccessibilityStatus(required(text("accessibility_status")))
    except ValueError:
        raise BadProfileData("not a known status", "accessibility_status") from None
    try:
        checked = date.fromisoformat(required(text("accessibility_date")))
    except ValueError:
        raise BadProfileData("not an ISO date", "accessibility_date") from None
    try:
        return TenantProfile(
            phone=required(text("phone")),
            phone_hours=required(text("phone_hours")),
            email=text("email", optional=True),
            form_url=text("form_url", optional=True),
            visiting_address=texts("visiting_address", optional=True),
            controller=required(text("controller")),
            privacy_officer_email=required(text("privacy_officer_email")),
            privacy_url=text("privacy_url", optional=True),
            accessibility_status=status,
            accessibility_date=checked,
            known_issues=texts("known_issues") or (),
        )
    except ProfileInvalid as invalid:
        raise BadProfileData(
            "refused by the profile's checks", ", ".join(invalid.problems)
        ) from None
