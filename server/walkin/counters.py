"""A purpose's walk-in counter in SQL: its opening hours and when its queue counts as full.

A purpose without a row has no walk-in counter: residents can only book it. The planner sets
the row (server/staff/planner); the resident's pages and the queue read it. The hours are
stored in their checked form (:func:`server.walkin.hours.to_data`) and checked again when
read, so a row edited by hand into nonsense is an error that says where, not a counter that
silently opens at the wrong time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.schema import purposes, walkin_counters
from server.db.tx import reading, writing
from server.walkin.hours import OpeningHours, from_data, to_data
from server.walkin.queue import InvalidTicket, UnknownPurpose

c = walkin_counters.c
#: the average conversation when the planner has not said otherwise
DEFAULT_HANDLING: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Counter:
    """One purpose's walk-in counter."""

    purpose: str
    hours: OpeningHours
    #: most residents waiting at once; beyond it a new arrival is offered a booking or a
    #: call-back instead of a place. None: no limit
    max_waiting: int | None = None
    #: the same for the expected wait. None: no limit
    max_wait: timedelta | None = None
    #: the average conversation, for the expected wait
    handling: timedelta = DEFAULT_HANDLING

    def __post_init__(self) -> None:
        if self.max_waiting is not None and self.max_waiting < 0:
            raise InvalidTicket(f"max_waiting {self.max_waiting} is negative")
        if self.max_wait is not None and self.max_wait < timedelta(0):
            raise InvalidTicket(f"max_wait {self.max_wait} is negative")
        if self.handling <= timedelta(0) or self.handling % timedelta(minutes=1):
            raise InvalidTicket(f"handling {self.handling} is not a positive whole of minutes")

    def full(self, waiting: int, expected: timedelta | None) -> bool:
        """Whether a new arrival finds the queue full: as many waiting as allowed, or the
        expected wait for them past the limit."""
        if self.max_waiting is not None and waiting >= self.max_waiting:
            return True
        return self.max_wait is not None and expected is not None and expected > self.max_wait


class WalkinCounters:
    """The walk-in counters of every tenant on one database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant_id: str, purpose: str) -> Counter | None:
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(
                    select(walkin_counters).where(c.tenant_id == tenant_id, c.purpose == purpose)
                )
            ).first()
        return None if row is None else _counter(row)

    async def all(self, tenant_id: str) -> dict[str, Counter]:
        """The tenant's counters by purpose key (active purposes only)."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(walkin_counters)
                .join(
                    purposes,
                    (purposes.c.tenant_id == c.tenant_id) & (purposes.c.key == c.purpose),
                )
                .where(c.tenant_id == tenant_id, purposes.c.active)
                .order_by(c.purpose)
            )
            return {row.purpose: _counter(row) for row in rows}

    async def save(self, tenant_id: str, counter: Counter, now: datetime) -> None:
        """Create or replace the purpose's counter."""
        values = _row(counter) | {"updated_at": now}
        async with writing(self._engine) as conn:
            known = await conn.execute(
                select(purposes.c.key).where(
                    purposes.c.tenant_id == tenant_id, purposes.c.key == counter.purpose
                )
            )
            if known.first() is None:
                raise UnknownPurpose(f"no purpose {counter.purpose!r} in tenant {tenant_id!r}")
            changed = await conn.execute(
                update(walkin_counters)
                .where(c.tenant_id == tenant_id, c.purpose == counter.purpose)
                .values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(
                    insert(walkin_counters).values(
                        tenant_id=tenant_id, purpose=counter.purpose, **values
                    )
                )

    async def remove(self, tenant_id: str, purpose: str) -> bool:
        """Close the purpose's counter for good (booked appointments only); whether it had one."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                delete(walkin_counters).where(c.tenant_id == tenant_id, c.purpose == purpose)
            )
        return bool(result.rowcount)


def _row(counter: Counter) -> dict[str, Any]:
    return {
        "hours": to_data(counter.hours),
        "max_waiting": counter.max_waiting,
        "max_wait_minutes": None
        if counter.max_wait is None
        else int(counter.max_wait.total_seconds() // 60),
        "handling_minutes": int(counter.handling.total_seconds() // 60),
    }


def _counter(row: Row[Any]) -> Counter:
    return Counter(
        purpose=row.purpose,
        hours=from_data(row.hours),
        max_waiting=row.max_waiting,
        max_wait=None if row.max_wait_minutes is None else timedelta(minutes=row.max_wait_minutes),
        handling=timedelta(minutes=row.handling_minutes),
    )
