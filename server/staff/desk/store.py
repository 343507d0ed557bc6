"""The desk's own SQL: the outcome a specialist records when closing an appointment.

The appointment's state change itself goes through the booking service (compare-and-swap,
audited there); this table adds what the state cannot say: whether a follow-up is needed,
and who recorded the outcome when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.audit import audit
from server.db.engine import writer
from server.db.schema import appointment_outcomes

COMPLETED = "completed"
NO_SHOW = "no_show"


@dataclass(frozen=True, slots=True)
class RecordedOutcome:
    outcome: str  #: ``completed`` or ``no_show``
    follow_up: bool


async def record_outcome(
    engine: AsyncEngine,
    tenant_id: str,
    appointment_id: str,
    *,
    outcome: str,
    follow_up: bool,
    actor: str,
    at: datetime,
) -> None:
    """Store (or replace) the outcome; a follow-up is also written to the audit trail."""
    t = appointment_outcomes.c
    values = {"outcome": outcome, "follow_up": follow_up, "recorded_by": actor, "recorded_at": at}
    async with writer(engine).begin() as conn:
        changed = await conn.execute(
            update(appointment_outcomes)
            .where(and_(t.tenant_id == tenant_id, t.appointment_id == appointment_id))
            .values(values)
        )
        if changed.rowcount == 0:
            await conn.execute(
                insert(appointment_outcomes).values(
                    tenant_id=tenant_id, appointment_id=appointment_id, **values
                )
            )
        if follow_up:
            await audit(
                conn, tenant_id, at, actor, "appointment.follow_up", f"appointment:{appointment_id}"
            )


async def outcomes_of(
    engine: AsyncEngine, tenant_id: str, appointment_ids: Sequence[str]
) -> dict[str, RecordedOutcome]:
    """The recorded outcomes of these appointments, by appointment id."""
    if not appointment_ids:
        return {}
    t = appointment_outcomes.c
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(t.appointment_id, t.outcome, t.follow_up).where(
                t.tenant_id == tenant_id, t.appointment_id.in_(list(appointment_ids))
            )
        )
        return {row.appointment_id: RecordedOutcome(row.outcome, row.follow_up) for row in rows}


__all__ = ["COMPLETED", "NO_SHOW", "RecordedOutcome", "outcomes_of", "record_outcome"]
