"""Dates and instants typed by a person or a program, within the years Balie reasons about.

A booking, an exception or a dashboard window lies in this century: a date such as
``9999-12-31`` or ``0001-01-01`` is a typo or a probe, and arithmetic on it (the next day,
the offset in Amsterdam) would overflow. Every date and date-time that comes in is read here
and refused outside :data:`FIRST_DATE`..:data:`LAST_DATE`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Final

FIRST_DATE: Final = date(2000, 1, 1)
LAST_DATE: Final = date(2099, 12, 31)
_ISO_DATE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: the instants those dates span, with a day's margin for any offset
_FIRST_INSTANT: Final = datetime.combine(FIRST_DATE, time(0), UTC)
_LAST_INSTANT: Final = datetime.combine(LAST_DATE, time(23, 59, 59), UTC)


def parse_date(raw: str) -> date | None:
    """``YYYY-MM-DD`` between :data:`FIRST_DATE` and :data:`LAST_DATE`, else None."""
    raw = raw.strip()
    if not _ISO_DATE.fullmatch(raw):
        return None
    try:
        parsed = date.fromisoformat(raw)
    except ValueError:
        return None
    return parsed if FIRST_DATE <= parsed <= LAST_DATE else None


def within_range(moment: datetime) -> bool:
    """Whether an aware ``moment`` lies within the dates Balie reasons about."""
    return _FIRST_INSTANT <= moment <= _LAST_INSTANT
