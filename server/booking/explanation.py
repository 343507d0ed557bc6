"""Why a start is or is not offered: the reasons, the findings per staff member, and the
explanation a planner reads.

:meth:`SlotSearch.explain <server.booking.slots.SlotSearch.explain>` builds these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo


class Reason(StrEnum):
    """Why a staff member cannot take a slot."""

    SKILL = "skill"  #: they lack the purpose's skill
    NO_RULE = "no-rule"  #: they have no hours at all on that date
    OUTSIDE_HOURS = "outside-hours"  #: the slot does not fit inside their hours
    EXCEPTION = "exception"  #: a closed exception (holiday, training) covers it
    #: a public holiday closes the date (the detail names it) and no extra hours open it
    PUBLIC_HOLIDAY = "public-holiday"
    NOT_ALIGNED = "not-aligned"  #: it is not on the slot grid of their hours
    NOTICE = "notice"  #: it starts too soon
    HORIZON = "horizon"  #: its date is not bookable yet (or any more)
    CAP = "cap"  #: they reached a daily cap that date
    BUSY = "busy"  #: a busy block from their calendar overlaps it (buffers included)
    BOOKED = "booked"  #: one of their bookings overlaps it (buffers included)
    HELD = "held"  #: a live hold on them overlaps it (buffers included)


@dataclass(frozen=True, slots=True)
class Finding:
    reason: Reason
    detail: str  #: in plain words, with local times; no personal data


@dataclass(frozen=True, slots=True)
class StaffVerdict:
    staff_id: str
    findings: tuple[Finding, ...]

    @property
    def available(self) -> bool:
        return not self.findings


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a start is or is not offered: every reason, for every staff member."""

    start: datetime
    end: datetime
    zone: ZoneInfo
    staff: tuple[StaffVerdict, ...]
    #: the Dutch name of the public holiday that closes the date under the tenant's rules
    holiday: str | None = None

    @property
    def available(self) -> bool:
        """True exactly when :func:`available_times` offers this start."""
        return any(verdict.available for verdict in self.staff)

    @property
    def offered_by(self) -> tuple[str, ...]:
        return tuple(verdict.staff_id for verdict in self.staff if verdict.available)

    def lines(self) -> list[str]:
        """The explanation as text for a planner, one line per finding."""
        when = f"{_local(self.start, self.zone)} – {_local(self.end, self.zone)}"
        if self.available:
            head = f"{when}: available with {', '.join(self.offered_by)}"
        else:
            head = f"{when}: not available"
        out = [head]
        for verdict in self.staff:
            if verdict.available:
                out.append(f"  {verdict.staff_id}: free")
            out += [f"  {verdict.staff_id}: {f.reason}: {f.detail}" for f in verdict.findings]
        return out


def _local(moment: datetime, zone: ZoneInfo) -> str:
    # %Z tells CEST from CET, which is what tells the two 02:30s of an October Sunday apart.
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
