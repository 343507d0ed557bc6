"""What else happens when an appointment changes, inside the change's own transaction.

The booking service calls a :class:`ChangeHook` after every change it commits, on the same
connection, before the commit: whatever the hook writes (the outbox's messages and calendar
writes, server/messages/) commits with the change or not at all. A crash can therefore never
leave a booking without its confirmation, or a cancellation with its reminders still due.
Booking does not import the hook's implementation; the application passes one in.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from server.booking.appointment import Appointment


class ChangeReason(StrEnum):
    """Why an appointment was cancelled or moved: what the resident is told differs."""

    #: the resident (or a planner on their behalf) asked
    ASKED = "asked"
    #: the specialist is absent: cancelled so the resident picks a new time, or handed to a
    #: colleague at the same time and in the same call
    ABSENCE = "absence"
    #: an earlier-time offer (a hold) let go: its slot goes to the next in line
    OFFER_LET_GO = "offer-let-go"


class ChangeHook(Protocol):
    async def changed(
        self,
        conn: AsyncConnection,
        appointment: Appointment,
        now: datetime,
        *,
        moved_to: Appointment | None = None,
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> None:
        """``appointment`` is as the transaction left it; ``moved_to`` is the appointment a
        reschedule replaced it with (it is reported next, on its own)."""
