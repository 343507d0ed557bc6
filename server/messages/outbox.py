"""The outbox table: writing messages inside the caller's transaction, claiming and finishing
them in the worker's, and the planner's overview.

Writes follow :mod:`server.messages.model`'s machine, checked twice: the pure machine decides
the new row, and the UPDATE is a compare-and-set on the state and attempt count it read, so
a worker whose lease ran out (and whose row another worker claimed since) cannot overwrite
the newer attempt's outcome.

Claiming, per dialect:

- *PostgreSQL*: ``FOR UPDATE SKIP LOCKED`` on the due rows, so several workers (one per node)
  take disjoint batches without waiting for each other.
- *SQLite*: one writer at a time (``BEGIN IMMEDIATE``), so select-then-update cannot race.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Row, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.schema import outbox
from server.db.tx import locked
from server.messages.model import LEASE, Channel, Message, State, Template

o = outbox.c

#: the planner's overview lists at most this many unsent messages
OVERVIEW_LIMIT: Final = 200


@dataclass(frozen=True, slots=True)
class Job:
    """One message with what it is about: claimed, what the worker needs to deliver it and
    record the outcome; listed, what the planner sees (never an address or a text)."""

    message: Message
    tenant_id: str
    channel: Channel
    template: Template
    subject_id: str
    due_at: datetime


async def enqueue(
    conn: AsyncConnection,
    *,
    tenant_id: str,
    channel: Channel,
    template: Template,
    subject_id: str,
    now: datetime,
    due_at: datetime | None = None,
    again: bool = False,
) -> None:
    """Write a message in the caller's transaction. Writing the same (channel, template,
    subject) again changes nothing: a message exists once, whoever asks twice. With
    ``again`` it is sent anew (a second earlier time offered to the same resident)."""
    values = {
        "id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "channel": channel.value,
        "template": template.value,
        "subject_id": subject_id,
        "state": State.PENDING.value,
        "due_at": due_at or now,
        "not_before": due_at or now,
        "attempts": 0,
        "created_at": now,
        "updated_at": now,
    }
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(outbox).values(values)
    if not again:
        await conn.execute(statement.on_conflict_do_nothing())
        return
    fresh = {
        "state": State.PENDING.value,
        "due_at": values["due_at"],
        "not_before": values["not_before"],
        "attempts": 0,
        "lease_until": None,
        "last_error": None,
        "sent_at": None,
        "updated_at": now,
    }
    unique = [o.tenant_id, o.channel, o.template, o.subject_id]
    await conn.execute(statement.on_conflict_do_update(index_elements=unique, set_=fresh))


async def drop_pending(
    conn: AsyncConnection,
    tenant_id: str,
    subject_id: str,
    templates: Collection[Template],
    now: datetime,
) -> int:
    """Drop the subject's messages of ``templates`` that have not gone out yet (the reminders
    of an appointment that was cancelled); the count dropped. One being sent right now
    keeps its lease: it is about to arrive anyway, and its delivery re-checks the
    appointment."""
    result = await conn.execute(
        update(outbox)
        .where(_of_subject(tenant_id, subject_id, templates), o.state == State.PENDING.value)
        .values(state=State.DROPPED.value, updated_at=now)
    )
    return result.rowcount


async def revive_dropped(
    conn: AsyncConnection,
    tenant_id: str,
    subject_id: str,
    templates: Collection[Template],
    now: datetime,
) -> int:
    """Make the subject's dropped messages of ``templates`` that are still ahead pending again
    (reminders turned back on); the count revived."""
    result = await conn.execute(
        update(outbox)
        .where(
            _of_subject(tenant_id, subject_id, templates),
            o.state == State.DROPPED.value,
            o.due_at > now,
        )
        .values(state=State.PENDING.value, not_before=o.due_at, attempts=0, updated_at=now)
    )
    return result.rowcount


def _of_subject(
    tenant_id: str, subject_id: str, templates: Collection[Template]
) -> ColumnElement[bool]:
    return and_(
        o.tenant_id == tenant_id,
        o.subject_id == subject_id,
        o.template.in_([t.value for t in templates]),
    )


async def claim_due(
    conn: AsyncConnection, now: datetime, *, limit: int = 1, lease: timedelta = LEASE
) -> list[Job]:
    """Claim up to ``limit`` due messages (pending and due, or sending with a lapsed lease),
    oldest due first, in the caller's write transaction."""
    due = or_(
        and_(o.state == State.PENDING.value, o.not_before <= now),
        and_(o.state == State.SENDING.value, o.lease_until <= now),
    )
    query = select(outbox).where(due).order_by(o.not_before, o.id).limit(limit)
    jobs = []
    for row in (await conn.execute(locked(conn, query, skip=True))).all():
        claimed = _message(row).claim(now, lease)
        await conn.execute(
            update(outbox)
            .where(o.id == row.id)
            .values(
                state=claimed.state.value,
                attempts=claimed.attempts,
                lease_until=claimed.lease_until,
                updated_at=now,
            )
        )
        jobs.append(_job(row, claimed))
    return jobs


async def finish(conn: AsyncConnection, before: Message, after: Message, now: datetime) -> bool:
    """Record an attempt's outcome, if the row is still the attempt ``before`` claimed; False
    when another worker claimed it since (its outcome wins)."""
    result = await conn.execute(
        update(outbox)
        .where(
            o.id == before.id,
            o.state == before.state.value,
            o.attempts == before.attempts,
        )
        .values(
            state=after.state.value,
            attempts=after.attempts,
            not_before=after.not_before,
            lease_until=after.lease_until,
            last_error=after.last_error,
            sent_at=after.sent_at,
            updated_at=now,
        )
    )
    return result.rowcount == 1


async def retry(conn: AsyncConnection, tenant_id: str, message_id: str, now: datetime) -> bool:
    """The planner's "opnieuw versturen": a failed message is due again; False if the message
    is not (any longer) a failed one of this tenant."""
    row = (
        await conn.execute(select(outbox).where(o.tenant_id == tenant_id, o.id == message_id))
    ).one_or_none()
    if row is None or row.state != State.FAILED.value:
        return False
    return await finish(conn, _message(row), _message(row).retried(now), now)


async def counts(conn: AsyncConnection, tenant_id: str) -> dict[State, int]:
    """How many of the tenant's messages are in each state."""
    rows = await conn.execute(
        select(o.state, func.count()).where(o.tenant_id == tenant_id).group_by(o.state)
    )
    found = {State(state): count for state, count in rows.all()}
    return {state: found.get(state, 0) for state in State}


async def unsent(
    conn: AsyncConnection, tenant_id: str, *, limit: int = OVERVIEW_LIMIT
) -> list[Job]:
    """The tenant's failed messages and those being retried (pending after a failure),
    failed first, then by due time."""
    failing = or_(
        o.state == State.FAILED.value,
        and_(o.state.in_([State.PENDING.value, State.SENDING.value]), o.attempts > 0),
    )
    query = (
        select(outbox)
        .where(o.tenant_id == tenant_id, failing)
        .order_by((o.state == State.FAILED.value).desc(), o.due_at)
        .limit(limit)
    )
    return [_job(row) for row in (await conn.execute(query)).all()]


async def of_subjects(
    conn: AsyncConnection, tenant_id: str, subject_ids: Iterable[str]
) -> list[Job]:
    """Every message about these subjects (a planner's view of one appointment; tests)."""
    ids = list(subject_ids)
    query = (
        select(outbox)
        .where(o.tenant_id == tenant_id, o.subject_id.in_(ids))
        .order_by(o.created_at, o.id)
    )
    return [_job(row) for row in (await conn.execute(query)).all()]


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        state=State(row.state),
        attempts=row.attempts,
        not_before=row.not_before,
        lease_until=row.lease_until,
        last_error=row.last_error,
        sent_at=row.sent_at,
    )


def _job(row: Row[Any], message: Message | None = None) -> Job:
    return Job(
        message=message or _message(row),
        tenant_id=row.tenant_id,
        channel=Channel(row.channel),
        template=Template(row.template),
        subject_id=row.subject_id,
        due_at=row.due_at,
    )
