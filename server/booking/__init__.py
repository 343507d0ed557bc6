"""Booking: the pure slot engine, and the durable service built around it.

The engine is pure: no database, no clock, no network. The storage layer builds a
:class:`SlotRequest` from what it loaded for :meth:`SlotRequest.span`. Its modules:

- :mod:`server.booking.errors` – the exception tree, every one a :class:`BookingError`;
- :mod:`server.booking.model` – the inputs: hours, exceptions, busy time, allocations, staff,
  purpose rules and the request;
- :mod:`server.booking.explanation` – why a start is or is not offered;
- :mod:`server.booking.slots` – the engine: :class:`SlotSearch` and the public functions;
- :mod:`server.booking.intervals` – wall-clock time and interval arithmetic.

Around it, with the database (import them directly; this package stays free of SQL so the
engine imports light):

- :mod:`server.booking.service` – :class:`~server.booking.service.BookingService`:
  availability, hold → confirm → cancel/reschedule, idempotency, manage links;
- :mod:`server.booking.appointment` – appointment states, transitions, records;
- :mod:`server.booking.store` – the SQL; :mod:`server.booking.links` – signed manage links;
- :mod:`server.booking.busy` – :class:`~server.booking.busy.BusySource` for calendars.
"""

from server.booking.errors import (
    BookingError,
    Conflict,
    HoldExpired,
    IdempotencyConflict,
    InvalidInput,
    InvalidInterval,
    InvalidPurpose,
    InvalidRequest,
    InvalidRule,
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
)
from server.booking.explanation import Explanation, Finding, Reason, StaffVerdict
from server.booking.model import (
    Allocation,
    AllocationKind,
    AvailabilityException,
    Busy,
    ExceptionKind,
    PurposeRules,
    SlotRequest,
    Staff,
    WeeklyRule,
)
from server.booking.slots import (
    Slot,
    SlotSearch,
    available_dates,
    available_times,
    explain,
    pick_staff,
)
from server.core.clock import AMSTERDAM

__all__ = [
    "AMSTERDAM",
    "Allocation",
    "AllocationKind",
    "AvailabilityException",
    "BookingError",
    "Busy",
    "Conflict",
    "ExceptionKind",
    "Explanation",
    "Finding",
    "HoldExpired",
    "IdempotencyConflict",
    "InvalidInput",
    "InvalidInterval",
    "InvalidPurpose",
    "InvalidRequest",
    "InvalidRule",
    "InvalidState",
    "LinkError",
    "LinkExpired",
    "LinkInvalid",
    "LinkRevoked",
    "NoStaffFree",
    "NotFound",
    "PurposeRules",
    "Reason",
    "Slot",
    "SlotRequest",
    "SlotSearch",
    "SlotTaken",
    "SlotUnavailable",
    "Staff",
    "StaffVerdict",
    "StaleVersion",
    "StorageUnavailable",
    "WeeklyRule",
    "available_dates",
    "available_times",
    "explain",
    "pick_staff",
]
