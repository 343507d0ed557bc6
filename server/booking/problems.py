"""The one place booking errors become problems (RFC 9457), for the API and the pages alike.

The details stay Dutch in the JSON; they are marked so the resident pages translate them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from server.booking.errors import (
    BookingError,
    Conflict,
    HoldExpired,
    IdempotencyConflict,
    InvalidInput,
    InvalidState,
    LinkError,
    LinkExpired,
    LinkInvalid,
    LinkRevoked,
    NoStaffFree,
    NotFound,
    SlotTaken,
    SlotUnavailable,
    StaleVersion,
    StorageUnavailable,
    TooManyHolds,
)
from server.booking.wire import instant_iso
from server.core.language import N_
from server.core.problems import Problem

#: error class → (status, code, title, Dutch detail for the resident); most specific first.
#: The details stay Dutch in the JSON; they are marked so the resident pages translate them.
_PROBLEMS: Final[tuple[tuple[type[BookingError], int, str, str, str], ...]] = (
    (SlotTaken, 409, "slot-taken", "The slot was just taken", N_("Deze tijd is net bezet.")),
    (
        HoldExpired,
        409,
        "hold-expired",
        "The hold lapsed",
        N_("U was te lang bezig: de tijd is vrijgegeven. Kies opnieuw een tijd."),
    ),
    (
        StaleVersion,
        409,
        "stale-version",
        "The appointment changed since it was read",
        N_("De afspraak is intussen gewijzigd. Laad haar opnieuw."),
    ),
    (
        InvalidState,
        409,
        "invalid-state",
        "Not possible in the appointment's current state",
        N_("Dit kan niet meer met deze afspraak."),
    ),
    (
        IdempotencyConflict,
        409,
        "idempotency-conflict",
        "The Idempotency-Key was used for another request",
        N_("Dit verzoek is al eerder met andere gegevens gedaan."),
    ),
    (Conflict, 409, "conflict", "The request conflicts with the current state", ""),
    (NoStaffFree, 409, "no-staff-free", "Nobody is free at this time", N_("Deze tijd is bezet.")),
    (
        SlotUnavailable,
        422,
        "slot-unavailable",
        "The start is not offered",
        N_("Op deze tijd kunt u geen afspraak maken. Kies een andere tijd."),
    ),
    (
        LinkExpired,
        403,
        "link-expired",
        "The manage link expired when the appointment started",
        N_("De afspraak is al begonnen; deze link werkt niet meer."),
    ),
    (
        LinkRevoked,
        403,
        "link-revoked",
        "The appointment changed since the manage link was sent",
        N_("De afspraak is gewijzigd of afgezegd; deze link werkt niet meer."),
    ),
    (
        LinkInvalid,
        403,
        "link-invalid",
        "The manage link is not valid here",
        N_("Deze link klopt niet. Gebruik de link uit uw bevestiging."),
    ),
    (LinkError, 403, "link-invalid", "The manage link cannot be used", ""),
    (InvalidInput, 422, "invalid-input", "A value is out of range", ""),
    (
        TooManyHolds,
        429,
        "too-many-holds",
        "This client holds as many slots as it may; book or release one first",
        N_(
            "U houdt al te veel tijden vast. Maak eerst een afspraak af, "
            "of wacht een kwartier en probeer het dan opnieuw."
        ),
    ),
    (
        StorageUnavailable,
        503,
        "storage-unavailable",
        "The database is unavailable; retry later",
        N_("Het lukt nu even niet. Probeer het over een paar minuten opnieuw."),
    ),
)


def problem_for(error: BookingError, subject: str) -> Problem:
    """The problem a booking error means. ``subject`` names what a :class:`NotFound` did not
    find (``purpose``, ``hold``, ``appointment``): the request knows, the error does not."""
    if isinstance(error, NotFound):
        return Problem(
            404,
            f"{subject}-not-found",
            f"No such {subject}",
            N_("Deze afspraak of dit onderwerp bestaat niet."),
        )
    for kind, status, code, title, detail in _PROBLEMS:
        if isinstance(error, kind):
            extra: dict[str, object] = {}
            if isinstance(error, StaleVersion):
                extra["current_version"] = error.current
            elif isinstance(error, InvalidState):
                extra["state"] = str(error.state)
            elif isinstance(error, SlotUnavailable):
                extra["reasons"] = [str(reason) for reason in error.reasons]
            elif isinstance(error, HoldExpired) and error.expired_at is not None:
                extra["expired_at"] = instant_iso(error.expired_at)
            # Booking messages name ids, states and times only, never personal data.
            return Problem(status, code, title, detail or str(error), extra=extra)
    return Problem(500, "booking-error", "Booking failed", type(error).__name__)  # pragma: no cover


@contextmanager
def translated(subject: str) -> Iterator[None]:
    """Booking errors inside become the problem they mean (see :func:`problem_for`)."""
    try:
        yield
    except BookingError as error:
        raise problem_for(error, subject) from None


@contextmanager
def revoked_on_change() -> Iterator[None]:
    """A manage link names the version it was sent for; an operation whose compare-and-swap
    on that version misses found the appointment changed since: the link is revoked. (An
    idempotent retry replays before the swap, so it still gets its answer.)"""
    try:
        yield
    except (InvalidState, StaleVersion) as error:
        raise LinkRevoked(
            f"the appointment changed since the manage link was sent: {error}"
        ) from None
