"""Busy time from outside Balie (staff calendars), behind one small interface.

The CalDAV connector (``server/calendars/``) implements :class:`BusySource`; booking only
calls it. What happens when a calendar cannot be read is each staff member's own, explicit
choice (``staff.calendar_failure``), not a silent flag:

- ``hide``: offer none of their slots (nothing is double-booked against an unseen meeting);
- ``ignore``: offer their slots as if the calendar were empty (nobody is turned away).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from server.booking.model import Busy

log = logging.getLogger(__name__)


class CalendarFailure(StrEnum):
    HIDE = "hide"  #: the calendar is unreadable: offer none of the staff member's slots
    IGNORE = "ignore"  #: the calendar is unreadable: offer slots as if it were empty


@dataclass(frozen=True, slots=True)
class CalendarRef:
    """One staff member's calendar, as configured (``staff.calendar_source``)."""

    staff_id: str
    #: opaque to booking; the connector parses it (a CalDAV URL, a config key, ...)
    source: str


class BusySource(Protocol):
    """Reads busy blocks from staff calendars."""

    async def busy(
        self, tenant_id: str, calendars: Sequence[CalendarRef], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Busy]]:
        """Busy blocks overlapping [start, end) per staff id.

        A staff id missing from the answer means that calendar could not be read; raising
        means none could. Either way the staff member's ``calendar_failure`` choice applies.
        """
        ...


class NoBusySource:
    """The embedded default: no external calendars, every calendar reads as empty."""

    async def busy(
        self, tenant_id: str, calendars: Sequence[CalendarRef], start: datetime, end: datetime
    ) -> Mapping[str, Sequence[Busy]]:
        return {calendar.staff_id: () for calendar in calendars}


async def read_busy(
    source: BusySource,
    tenant_id: str,
    calendars: Sequence[CalendarRef],
    start: datetime,
    end: datetime,
) -> tuple[list[Busy], frozenset[str]]:
    """(busy blocks, staff ids whose calendar failed). Translates the source's errors here,
    at the boundary: a broken calendar server must not break booking."""
    if not calendars:
        return [], frozenset()
    try:
        answer = await source.busy(tenant_id, calendars, start, end)
    except Exception as error:
        # The error's type only: connector messages may quote calendar URLs or event text.
        log.warning("busy source failed for %d calendars: %s", len(calendars), type(error).__name__)
        return [], frozenset(c.staff_id for c in calendars)
    blocks: list[Busy] = []
    failed: set[str] = set()
    for calendar in calendars:
        found = answer.get(calendar.staff_id)
        if found is None:
            failed.add(calendar.staff_id)
        else:
            blocks.extend(b for b in found if b.staff_id == calendar.staff_id)
    return blocks, frozenset(failed)
