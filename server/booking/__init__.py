"""Booking: the slot engine now; storage, API and calendar connectors plug in around it.

The engine is pure: no database, no clock, no network. The storage layer builds a
:class:`SlotRequest` from what it loaded for :meth:`SlotRequest.span`. Its modules:

- :mod:`server.booking.errors` – the exception tree, every one a :class:`BookingError`;
- :mod:`server.booking.model` – the inputs: hours, exceptions, busy time, allocations, staff,
  purpose rules and the request;
- :mod:`server.booking.explanation` – why a start is or is not offered;
- :mod:`server.booking.slots` – the engine: :class:`SlotSearch` and the public functions;
- :mod:`server.booking.intervals` – wall-clock time and interval arithmetic.
"""

from server.booking.errors import (
    BookingError,
    InvalidInput,
    InvalidInterval,
    InvalidPurpose,
    InvalidRequest,
    InvalidRule,
    NoStaffFree,
)
from server.booking.explanation import Explanation, Finding, Reason, StaffVerdict
from server.booking.model import (
    AMSTERDAM,
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

__all__ = [
    "AMSTERDAM",
    "Allocation",
    "AllocationKind",
    "AvailabilityException",
    "BookingError",
    "Busy",
    "ExceptionKind",
    "Explanation",
    "Finding",
    "InvalidInput",
    "InvalidInterval",
    "InvalidPurpose",
    "InvalidRequest",
    "InvalidRule",
    "NoStaffFree",
    "PurposeRules",
    "Reason",
    "Slot",
    "SlotRequest",
    "SlotSearch",
    "Staff",
    "StaffVerdict",
    "WeeklyRule",
    "available_dates",
    "available_times",
    "explain",
    "pick_staff",
]
