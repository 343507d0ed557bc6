"""The errors of :mod:`server.walkin`: one tree, every one a :class:`WalkinError`.

Opening hours (:mod:`server.walkin.hours`) are refused when they are built or read, with a
message and a ``where`` naming the weekday, the date or the place in the stored data. The
queue's branch is defined beside its state machine, in :mod:`server.walkin.queue`, and the
call-backs' in :mod:`server.walkin.callbacks`::

    WalkinError
    ├── InvalidHours         opening hours that cannot be (also a ValueError); .where says where
    │   ├── BadRange           a range that is empty or inverted, not whole minutes, or zoned
    │   ├── OverlappingRanges  two ranges of one weekday or one date overlap
    │   └── BadHoursData       the stored (JSON) form: wrong shape, type, key, value or version
    ├── InvalidQuery         a question put to the hours: a naive ``now``, a negative look-ahead
    │                        (also a ValueError)
    ├── InvalidTicket        (queue) a value out of range: naive time, empty purpose
    ├── TicketNotFound       (queue) no such ticket in this tenant
    ├── UnknownPurpose       (queue) no such active purpose in this tenant
    ├── MissingSkill         (queue) the specialist lacks the skill for the ticket's purpose
    ├── TicketConflict       (queue) the request contradicts the ticket's current state
    │   ├── InvalidState       the transition is not allowed from the current ``state``
    │   │   ├── TakenByOther     taken, but by another specialist
    │   │   └── GraceExpired     away for longer than the grace period
    │   └── TicketContended    the ticket kept changing under the store's attempts
    └── CallbackError        (call-backs) a request or change that cannot be made
        ├── BadPhone           not a number we can call back, ``problem`` says why (a ValueError)
        ├── BadWindow          a window the counter did not offer (also a ValueError)
        └── CallbackGone       no open call-back with this id for these purposes

Messages name weekdays, dates, times and states, never personal data (never a phone number).
"""


class WalkinError(Exception):
    """Base of every error raised by :mod:`server.walkin`."""


class InvalidHours(WalkinError, ValueError):
    """Opening hours that cannot be; ``where`` names the weekday ("Monday"), the date
    ("2026-12-24") or the place in the stored data ("exceptions[2].date")."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


class BadRange(InvalidHours):
    """A time range that is empty or inverted, not on a whole minute, or carries a zone."""


class OverlappingRanges(InvalidHours):
    """Two ranges of one weekday, or of one date's exception, overlap."""


class BadHoursData(InvalidHours):
    """The stored form of opening hours is malformed: not what :func:`to_data` writes."""


class InvalidQuery(WalkinError, ValueError):
    """A question put to the opening hours is malformed (a naive ``now``, a negative
    look-ahead)."""
