"""Time: the application's one clock, and the zone every wall-clock time is in.

Everything that asks "what time is it" for a page, a booking or a session asks the clock
the application was built with (``app[CLOCK]``), so tests move time instead of sleeping.
This module is pure (no aiohttp): the booking engine imports the zone from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Final
from zoneinfo import ZoneInfo

#: residents, staff calendars and opening hours all live in this zone
AMSTERDAM: Final = ZoneInfo("Europe/Amsterdam")

#: returns the current aware instant
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def local_day(moment: datetime) -> date:
    """The date in Amsterdam at ``moment``."""
    return moment.astimezone(AMSTERDAM).date()
