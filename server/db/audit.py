"""The audit trail: who did what to which subject, and which attributes, never values."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.schema import audit_events


async def audit(
    conn: AsyncConnection,
    tenant_id: str,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    attributes: Sequence[str] = (),
) -> None:
    """Record an event inside the caller's transaction; ``attributes`` are names only."""
    await conn.execute(
        insert(audit_events).values(
            tenant_id=tenant_id,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            attributes=list(attributes),
        )
    )
