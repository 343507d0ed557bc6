"""The planner console's SQL: staff and their hours, exceptions, and the numbers.

Plain reads and small write transactions on the tables the booking service reads
(``availability_rules``, ``availability_exceptions``), so a change shows up in the next slot
search at once. Every statement filters on the tenant: another tenant's staff member or
exception is simply not found. Every change writes an audit event with the planner as actor
and the staff member as subject; never a value of a person.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.booking.model import WeeklyRule
from server.db.audit import audit
from server.db.schema import (
    appointments,
    audit_events,
    availability_exceptions,
    availability_rules,
    feedback,
    staff,
)
from server.db.tx import reading, writing

#: audit actions of this console
RULES_REPLACED = "availability.rules_replace"
EXCEPTION_ADDED = "availability.exception_add"
EXCEPTION_REMOVED = "availability.exception_remove"
#: asked inside a change's write transaction, before anything is written: False leaves it
#: unwritten (server/staff/planner/absences.py: no booking may be left with someone absent)
Guard = Callable[[AsyncConnection], Awaitable[bool]]
#: the booking service's audit actions that bracket the wait in the lobby
CHECK_IN = "appointment.check_in"
ADMIT = "appointment.start_call"
#: how far before a window's start a check-in may lie and still pair with an admit in it
_LOOKBACK: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: str
    name: str
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DayException:
    id: int
    staff_id: str
    day: date
    kind: str  #: closed | extra
    start: time | None
    end: time | None
    reason: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """An appointment as the dashboard counts it: when, what, how it ended. No person."""

    start: datetime
    purpose_key: str
    state: str


@dataclass(frozen=True, slots=True)
class Wait:
    """From check-in (waiting, verified) to admit, of one appointment."""

    admitted_at: datetime
    seconds: float


@dataclass(frozen=True, slots=True)
class Score:
    at: datetime
    purpose_key: str | None
    score: int


class PlannerStore:
    """Reads and writes of the planner console, on one engine. ``changed(tenant_id)`` is
    told after hours or exceptions changed (the booking service forgets its offers)."""

    def __init__(
        self, engine: AsyncEngine, *, changed: Callable[[str], None] = lambda _tenant: None
    ) -> None:
        self._engine = engine
        self._changed = changed

    # --- staff and hours -------------------------------------------------------------------

    async def staff(self, tenant_id: str) -> list[StaffRow]:
        """The tenant's active staff members, by name."""
        query = (
            select(staff.c.id, staff.c.name, staff.c.skills)
            .where(staff.c.tenant_id == tenant_id, staff.c.active)
            .order_by(staff.c.name, staff.c.id)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [StaffRow(r.id, r.name, tuple(r.skills)) for r in rows]

    async def weekly_hours(
        self, tenant_id: str, staff_ids: Sequence[str]
    ) -> dict[str, list[WeeklyRule]]:
        """Each staff member's weekly blocks, by weekday and start."""
        found: dict[str, list[WeeklyRule]] = {staff_id: [] for staff_id in staff_ids}
        if not staff_ids:
            return found
        query = (
            select(availability_rules)
            .where(
                availability_rules.c.tenant_id == tenant_id,
                availability_rules.c.staff_id.in_(list(staff_ids)),
            )
            .order_by(availability_rules.c.weekday, availability_rules.c.start_time)
        )
        async with reading(self._engine) as conn:
            for row in await conn.execute(query):
                found[row.staff_id].append(WeeklyRule(row.weekday, row.start_time, row.end_time))
        return found

    async def exceptions(
        self, tenant_id: str, staff_ids: Sequence[str], first: date, last: date
    ) -> list[DayException]:
        """Exceptions of these staff on ``first``..``last``, by day."""
        if not staff_ids:
            return []
        table = availability_exceptions
        query = (
            select(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c.staff_id.in_(list(staff_ids)),
                table.c.day.between(first, last),
            )
            .order_by(table.c.day, table.c.start_time, table.c.id)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [
            DayException(r.id, r.staff_id, r.day, r.kind, r.start_time, r.end_time, r.reason)
            for r in rows
        ]

    async def replace_hours(
        self,
        tenant_id: str,
        staff_id: str,
        blocks: Iterable[WeeklyRule],
        *,
        actor: str,
        now: datetime,
        guard: Guard | None = None,
    ) -> bool:
        """Replace the staff member's weekly hours, all or nothing; False (nothing written)
        when ``guard`` says no."""
        rows = [
            {
                "tenant_id": tenant_id,
                "staff_id": staff_id,
                "weekday": block.weekday,
                "start_time": block.start,
                "end_time": block.end,
            }
            for block in blocks
        ]
        async with writing(self._engine) as conn:
            if guard is not None and not await guard(conn):
                return False
            await conn.execute(
                delete(availability_rules).where(
                    availability_rules.c.tenant_id == tenant_id,
                    availability_rules.c.staff_id == staff_id,
                )
            )
            if rows:
                await conn.execute(insert(availability_rules), rows)
            await audit(conn, tenant_id, now, actor, RULES_REPLACED, f"staff:{staff_id}")
        self._changed(tenant_id)
        return True

    async def add_exceptions(
        self,
        tenant_id: str,
        staff_id: str,
        days: Sequence[date],
        kind: str,
        hours: tuple[time, time] | None,
        reason: str,
        *,
        actor: str,
        now: datetime,
        guard: Guard | None = None,
    ) -> bool:
        """One exception per day in ``days`` (a holiday spans several), all or nothing;
        False (nothing written) when ``guard`` says no."""
        start, end = hours if hours is not None else (None, None)
        rows = [
            {
                "tenant_id": tenant_id,
                "staff_id": staff_id,
                "day": day,
                "kind": kind,
                "start_time": start,
                "end_time": end,
                "reason": reason,
            }
            for day in days
        ]
        async with writing(self._engine) as conn:
            if guard is not None and not await guard(conn):
                return False
            await conn.execute(insert(availability_exceptions), rows)
            await audit(conn, tenant_id, now, actor, EXCEPTION_ADDED, f"staff:{staff_id}")
        self._changed(tenant_id)
        return True

    async def remove_exception(
        self, tenant_id: str, staff_id: str, exception_id: int, *, actor: str, now: datetime
    ) -> bool:
        """Remove one exception; False if the staff member has no such exception."""
        table = availability_exceptions
        async with writing(self._engine) as conn:
            result = await conn.execute(
                delete(table).where(
                    table.c.tenant_id == tenant_id,
                    table.c.staff_id == staff_id,
                    table.c.id == exception_id,
                )
            )
            if result.rowcount != 1:
                return False
            await audit(conn, tenant_id, now, actor, EXCEPTION_REMOVED, f"staff:{staff_id}")
        self._changed(tenant_id)
        return True

    # --- the numbers -----------------------------------------------------------------------

    async def outcomes(self, tenant_id: str, low: datetime, high: datetime) -> list[Outcome]:
        """Appointments starting in [low, high) that reached a call or were missed."""
        query = select(
            appointments.c.starts_at, appointments.c.purpose_key, appointments.c.state
        ).where(
            appointments.c.tenant_id == tenant_id,
            appointments.c.starts_at >= low,
            appointments.c.starts_at < high,
            appointments.c.state.in_(("in_call", "completed", "no_show")),
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [Outcome(r.starts_at, r.purpose_key, r.state) for r in rows]

    async def waits(self, tenant_id: str, low: datetime, high: datetime) -> list[Wait]:
        """Lobby waits whose admit falls in [low, high): from the booking service's audit
        events ``appointment.check_in`` and ``appointment.start_call`` of one appointment."""
        # A wait begins at most a few hours before its admit; look back a day for check-ins.
        table = audit_events
        query = (
            select(table.c.subject, table.c.action, table.c.at)
            .where(
                and_(
                    table.c.tenant_id == tenant_id,
                    table.c.action.in_((CHECK_IN, ADMIT)),
                    table.c.at >= low - _LOOKBACK,
                    table.c.at < high,
                )
            )
            .order_by(table.c.at, table.c.id)
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        checked_in: dict[str, datetime] = {}
        waits = []
        for row in rows:
            if row.action == CHECK_IN:
                checked_in[row.subject] = row.at
            elif row.subject in checked_in and row.at >= low:
                began = checked_in.pop(row.subject)
                waits.append(Wait(row.at, max(0.0, (row.at - began).total_seconds())))
        return waits

    async def scores(self, tenant_id: str, low: datetime, high: datetime) -> list[Score]:
        """Feedback scores given in [low, high); the free-text comment is never read."""
        query = select(feedback.c.at, feedback.c.purpose_key, feedback.c.score).where(
            feedback.c.tenant_id == tenant_id, feedback.c.at >= low, feedback.c.at < high
        )
        async with reading(self._engine) as conn:
            rows = (await conn.execute(query)).all()
        return [Score(r.at, r.purpose_key, r.score) for r in rows]
