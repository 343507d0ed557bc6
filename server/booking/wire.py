"""The booking API's wire format: reading request values, writing times.

Shared by the JSON API and the resident's pages, which check the same values the same way.
Every refusal is a :class:`~server.core.problems.Problem` that names the field, never echoes
the value (a contact field holds personal data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Final

from aiohttp import web

from server.booking.appointment import APPOINTMENT_ID, CONTACT_EMAIL, Contact
from server.core.clock import AMSTERDAM
from server.core.dates import FIRST_DATE, LAST_DATE, parse_date, within_range
from server.core.language import N_
from server.core.problems import Problem
from server.messages.errors import BadPhoneNumber
from server.messages.phones import PhoneProblem, mobile_number, problem_of, resident_message
from signaling.messages import ID_PATTERN

#: UUIDs, ULIDs, hex, base64 and base64url, with a prefix if need be ("hold:…"); at least 16
#: characters (96 random bits in base64url) and as long as the column allows
_IDEMPOTENCY_KEY: Final = re.compile(r"[A-Za-z0-9._~+/=:-]{16,128}")
#: a random key of 16 characters or more shows far more different characters than this (a
#: UUID v4 falls below it less than once in 10^14): fewer means a counter, a word or a pattern
MIN_KEY_CHARACTERS: Final = 6
#: the largest version a request may name (the column is a 32-bit integer)
MAX_VERSION: Final = 2**31 - 1


def local_iso(moment: datetime) -> str:
    """ISO 8601 with the Amsterdam offset, the way the resident reads the time."""
    return moment.astimezone(AMSTERDAM).isoformat()


def instant_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- reading requests ---------------------------------------------------------------------


def tenant_of(request: web.Request) -> str:
    tenant = request.match_info["tenant"]
    if not ID_PATTERN.fullmatch(tenant):
        raise Problem(404, "tenant-not-found", "No such tenant")
    return tenant


def purpose_of(request: web.Request) -> str:
    purpose = request.match_info["purpose"]
    if not ID_PATTERN.fullmatch(purpose):
        raise Problem(404, "purpose-not-found", "No such purpose")
    return purpose


def appointment_id_of(request: web.Request) -> str:
    appointment_id = request.match_info["appointment"]
    if not APPOINTMENT_ID.fullmatch(appointment_id):
        raise Problem(404, "appointment-not-found", "No such appointment")
    return appointment_id


def idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        raise Problem(
            400,
            "idempotency-key-missing",
            "Send an Idempotency-Key header (a fresh random value per operation)",
        )
    if not (_IDEMPOTENCY_KEY.fullmatch(key) and random_enough(key)):
        raise Problem(
            400,
            "idempotency-key-invalid",
            "Idempotency-Key must be a fresh random value (a UUID v4): 16-128 characters "
            "from A-Z a-z 0-9 -._~+/=:, not a counter, word or repeated pattern",
        )
    return key


def random_enough(key: str) -> bool:
    """Could ``key`` be random? Refuses few different characters and one piece repeated
    (``abcabcabc…``): keys a client typed or counted, which another client may send too."""
    if len(set(key)) < MIN_KEY_CHARACTERS:
        return False
    return not any(key[period:] == key[:-period] for period in range(1, len(key) // 2 + 1))


def optional_date(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    parsed = parse_date(raw)
    if parsed is None:
        raise Problem(
            400,
            "date-malformed",
            f"{name} must be a date YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE}",
            extra={"field": name},
        )
    return parsed


def instant_from(raw: object, name: str) -> datetime:
    if not isinstance(raw, str) or not raw:
        raise Problem(400, "field-missing", f"{name} is required", extra={"field": name})
    try:
        if len(raw) > 40:
            raise ValueError
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Problem(
            400,
            "datetime-malformed",
            f"{name} must be an ISO 8601 date-time with an offset",
            extra={"field": name},
        ) from None
    if moment.utcoffset() is None:
        raise Problem(
            400,
            "datetime-without-offset",
            f"{name} needs an offset (+01:00, +02:00 or Z): a local time is ambiguous",
            extra={"field": name},
        )
    if not within_range(moment):
        raise Problem(
            400,
            "datetime-malformed",
            f"{name} must lie between {FIRST_DATE} and {LAST_DATE}",
            extra={"field": name},
        )
    return moment


def only_fields(body: Mapping[str, object], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        # Names only, cut short: a client might send a value as a key by mistake.
        raise Problem(
            400,
            "field-unknown",
            "The body has fields this endpoint does not take",
            extra={"fields": [name[:40] for name in unknown[:10]]},
        )


def required_id(body: Mapping[str, object], name: str) -> str:
    value = body.get(name)
    if value is None:
        raise Problem(400, "field-missing", f"{name} is required", extra={"field": name})
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise Problem(400, "field-invalid", f"{name} must be a key", extra={"field": name})
    return value


def optional_id(body: Mapping[str, object], name: str) -> str | None:
    return None if body.get(name) is None else required_id(body, name)


def version_from(body: Mapping[str, object]) -> int:
    version = body.get("version")
    if type(version) is float and version.is_integer():
        version = int(version)  # JSON has numbers, not integers: 2.0 is the number 2
    if type(version) is not int or not 1 <= version <= MAX_VERSION:
        raise Problem(
            400,
            "field-invalid",
            f"version must be a whole number from 1 to {MAX_VERSION}",
            extra={"field": "version"},
        )
    return version


def contact_from(raw: object) -> Contact | None:
    """The resident's contact details, checked for shape; errors never echo the value."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise Problem(400, "field-invalid", "contact must be an object", extra={"field": "contact"})
    only_fields(raw, {"email", "phone"})
    email, phone = raw.get("email"), raw.get("phone")
    if email is not None and not (isinstance(email, str) and CONTACT_EMAIL.fullmatch(email)):
        raise Problem(
            422,
            "contact-invalid",
            "contact.email is not an e-mail address",
            N_("Dit e-mailadres klopt niet."),
            extra={"field": "contact.email"},
        )
    if phone is not None:
        phone = _mobile_from(phone)
    return Contact(email=email or None, phone=phone or None)


def _mobile_from(raw: object) -> str:
    """The number a confirmation can go to by SMS, as E.164 (+31612345678): the form and the
    API store it one way, whatever way it was typed."""
    if not isinstance(raw, str):
        problem = PhoneProblem.NOT_DIGITS
    else:
        try:
            return mobile_number(raw)
        except BadPhoneNumber as error:
            problem = problem_of(error)
    raise Problem(
        422,
        "contact-invalid",
        f"contact.phone: {problem}",
        resident_message(problem),
        extra={"field": "contact.phone"},
    )
