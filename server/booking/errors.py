"""The errors of :mod:`server.booking`: one tree, every one a :class:`BookingError`.

Bad input is refused when the value is built, with a message naming the value. The HTTP
layer maps each branch to one problem-JSON status (in brackets)::

    BookingError
    ├── InvalidInput         a value handed to the engine is out of range (also a ValueError) [422]
    │   ├── InvalidRule        weekly hours or an exception: weekday, times, kind
    │   ├── InvalidPurpose     duration, buffers, notice, horizon, interval, cap, skill
    │   ├── InvalidInterval    a busy block or allocation: naive or empty period, hold expiry
    │   └── InvalidRequest     naive ``now`` or start, staff listed twice, a bad cap or id
    ├── NoStaffFree          pick_staff was handed a slot that names no staff            [409]
    ├── NotFound             no such tenant, purpose, staff member or appointment
    │                        *in this tenant* (another tenant's rows are not found)       [404]
    ├── SlotUnavailable      the start is not offered: hours, notice, horizon, cap, skill [422]
    ├── Conflict             the request lost a race or contradicts the current state     [409]
    │   ├── SlotTaken          another hold or booking overlaps it (buffers included)
    │   ├── HoldExpired        the hold lapsed (and may be someone else's slot by now)
    │   ├── StaleVersion       the appointment changed since the caller read it (CAS)
    │   ├── InvalidState       the transition is not allowed from the current state
    │   └── IdempotencyConflict  an idempotency key was reused for a different request
    ├── TooManyHolds         this client already holds as many slots as it may            [429]
    ├── LinkError            a manage link cannot be used                                  [403]
    │   ├── LinkInvalid        malformed, forged, signed with an unknown key, other tenant
    │   ├── LinkExpired        the appointment has started
    │   └── LinkRevoked        the appointment changed since the link was sent
    └── StorageUnavailable   the database is unreachable or stayed busy; retry later     [503]

Messages name states, ids and times, never personal data (contact details).
"""

from datetime import datetime


class BookingError(Exception):
    """Base of every error raised by :mod:`server.booking`."""


class InvalidInput(BookingError, ValueError):
    """A value handed to the engine is out of range; the message names it."""


class InvalidRule(InvalidInput):
    """Weekly hours or an availability exception are malformed."""


class InvalidPurpose(InvalidInput):
    """A purpose's booking rules are out of range."""


class InvalidInterval(InvalidInput):
    """A busy block or allocation has a naive or empty period, or a bad hold expiry."""


class InvalidRequest(InvalidInput):
    """The request as a whole is malformed (naive ``now``, staff listed twice, ...)."""


class NoStaffFree(BookingError):
    """:func:`pick_staff` was handed a slot that names no staff member."""


class NotFound(BookingError):
    """No such tenant, purpose, staff member or appointment in the caller's tenant."""


class SlotUnavailable(BookingError):
    """The start is not a slot the rules offer (hours, notice, horizon, cap, skill).

    ``reasons`` are the engine's findings (:class:`~server.booking.explanation.Reason`
    values), so a client can say why without parsing the message.
    """

    def __init__(self, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reasons = reasons


class Conflict(BookingError):
    """The request lost a race or contradicts the appointment's current state."""


class SlotTaken(Conflict):
    """Another hold or booking of the staff member overlaps the slot (buffers included)."""


class HoldExpired(Conflict):
    """The hold lapsed before it was confirmed; hold a slot again."""

    def __init__(self, message: str, expired_at: datetime | None = None) -> None:
        super().__init__(message)
        self.expired_at = expired_at


class StaleVersion(Conflict):
    """The appointment changed since the caller read it; ``current`` is its version now."""

    def __init__(self, message: str, current: int) -> None:
        super().__init__(message)
        self.current = current


class InvalidState(Conflict):
    """The transition is not allowed from the appointment's current ``state``."""

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class IdempotencyConflict(Conflict):
    """The idempotency key was already used for a different operation or request."""


class LinkError(BookingError):
    """A manage link cannot be used."""


class LinkInvalid(LinkError):
    """Malformed, forged, signed with an unknown key, or for another tenant."""


class LinkExpired(LinkError):
    """The appointment has started: the link no longer manages it."""


class LinkRevoked(LinkError):
    """The appointment changed (rescheduled, cancelled, ...) since the link was sent."""


class TooManyHolds(BookingError):
    """The client already holds as many slots as one client may at once
    (``BALIE_HOLDS_PER_CLIENT``); a hold ends when it is booked, released or lapses."""


class StorageUnavailable(BookingError):
    """The database could not be reached, or stayed busy through the retries."""
