"""Server-side staff sessions.

The cookie carries 256 random bits; the table stores their SHA-256, so reading the database
does not give anyone a live session. A session moves through stages, and every move gets a
*new* id (the old row is deleted), so an id seen before sign-in is worthless after it
(session fixation, ASVS 7.2.4):

- ``anonymous``: a sign-in form was shown; the row only holds that form's CSRF secret;
- ``password``: the first factor passed; only the code page accepts it;
- ``active``: signed in; ends after ``idle`` without requests or at ``expires_at``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import writer
from server.db.schema import staff_sessions
from server.staff.accounts import audit_account
from server.staff.model import AccountRef

#: how long an unused sign-in form stays valid
ANONYMOUS_LIFETIME: Final = timedelta(minutes=30)
#: time between a correct password and the code
PASSWORD_STAGE_LIFETIME: Final = timedelta(minutes=5)

s = staff_sessions.c


class Stage(StrEnum):
    ANONYMOUS = "anonymous"
    PASSWORD = "password"  # noqa: S105 (a stage name, not a secret)
    ACTIVE = "active"


@dataclass(frozen=True, slots=True)
class Session:
    id_hash: str
    stage: Stage
    account: AccountRef | None
    method: str | None
    csrf_secret: str
    created_at: datetime
    last_seen: datetime
    expires_at: datetime

    def __repr__(self) -> str:  # neither the id hash nor the CSRF secret
        return f"Session(stage={self.stage.value!r}, account={self.account!r})"

    def idle_expires_at(self, idle: timedelta) -> datetime:
        if self.stage is not Stage.ACTIVE:
            return self.expires_at  # the short stages only have their absolute limit
        return self.last_seen + idle

    def ends_at(self, idle: timedelta) -> datetime:
        return min(self.expires_at, self.idle_expires_at(idle))

    def expired(self, now: datetime, idle: timedelta) -> bool:
        return now >= self.ends_at(idle)


def id_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(row: Row[Any]) -> Session:
    account = (
        AccountRef(str(row.tenant_id), str(row.account_id))
        if row.account_id is not None and row.tenant_id is not None
        else None
    )
    return Session(
        id_hash=str(row.id_hash),
        stage=Stage(row.stage),
        account=account,
        method=row.method,
        csrf_secret=str(row.csrf_secret),
        created_at=row.created_at,
        last_seen=row.last_seen,
        expires_at=row.expires_at,
    )


class SessionStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def start(
        self,
        stage: Stage,
        *,
        now: datetime,
        lifetime: timedelta,
        account: AccountRef | None = None,
        method: str | None = None,
        replaces: str | None = None,
    ) -> tuple[str, Session]:
        """A new session with a fresh id (returned once, for the cookie); the session
        ``replaces`` (an id hash) is deleted in the same transaction."""
        token = secrets.token_urlsafe(32)
        session_hash = id_hash(token)
        csrf_secret = secrets.token_urlsafe(32)
        values = {
            "id_hash": session_hash,
            "tenant_id": account.tenant_id if account else None,
            "account_id": account.account_id if account else None,
            "stage": stage.value,
            "method": method,
            "csrf_secret": csrf_secret,
            "created_at": now,
            "last_seen": now,
            "expires_at": now + lifetime,
        }
        async with writer(self._engine).begin() as conn:
            if replaces is not None:
                await conn.execute(delete(staff_sessions).where(s.id_hash == replaces))
            await conn.execute(insert(staff_sessions).values(**values))
        return token, Session(
            id_hash=session_hash,
            stage=stage,
            account=account,
            method=method,
            csrf_secret=csrf_secret,
            created_at=now,
            last_seen=now,
            expires_at=now + lifetime,
        )

    async def load(self, token: str) -> Session | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(staff_sessions).where(s.id_hash == id_hash(token)))
            ).first()
        return None if row is None else _session(row)

    async def touch(self, session: Session, now: datetime) -> None:
        async with writer(self._engine).begin() as conn:
            await conn.execute(
                update(staff_sessions).where(s.id_hash == session.id_hash).values(last_seen=now)
            )

    async def end(self, session: Session, now: datetime) -> None:
        async with writer(self._engine).begin() as conn:
            await conn.execute(delete(staff_sessions).where(s.id_hash == session.id_hash))
            if session.account is not None and session.stage is Stage.ACTIVE:
                ref = session.account
                await audit_account(conn, ref.tenant_id, ref.account_id, "staff.sign_out", now)

    async def end_all(self, account: AccountRef, now: datetime) -> int:
        """Sign the account out everywhere (also an admin's kill switch)."""
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(
                delete(staff_sessions).where(
                    s.tenant_id == account.tenant_id, s.account_id == account.account_id
                )
            )
            await audit_account(
                conn, account.tenant_id, account.account_id, "staff.sign_out_everywhere", now
            )
        return int(result.rowcount)

    async def sweep(self, now: datetime, idle: timedelta) -> int:
        """Delete sessions past either limit (expired ones are refused anyway)."""
        stale = (s.expires_at <= now) | (
            (s.stage == Stage.ACTIVE.value) & (s.last_seen <= now - idle)
        )
        async with writer(self._engine).begin() as conn:
            result = await conn.execute(delete(staff_sessions).where(stale))
        return int(result.rowcount)
