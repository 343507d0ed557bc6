"""A new municipality (tenant) with its first administrator: ``balie tenant create``.

The administrator gets a random password and a TOTP secret, printed once by the command
and stored only as an argon2id hash and a sealed secret (server/staff/accounts.py); the
operator hands them over in person or over a channel the municipality trusts. Tenant and
account are added in one transaction, with audit events, so a failure leaves neither.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import KeyRing
from server.db.audit import audit
from server.db.engine import writer
from server.db.schema import tenants
from server.staff.accounts import PASSWORD_HASHER, insert_account, new_totp_secret, seal_totp
from server.staff.model import Role

#: a tenant id is a short slug: it appears in URLs and in every row of the tenant
TENANT_ID: Final = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
#: what the first account may do: run the schedule as well as administer
FIRST_ROLES: Final = (Role.ADMIN, Role.PLANNER)


@dataclass(frozen=True, slots=True)
class FirstAdministrator:
    tenant_id: str
    account_id: str
    login: str
    password: str
    totp_secret: str

    def __repr__(self) -> str:  # never the credentials
        return f"FirstAdministrator(tenant_id={self.tenant_id!r}, login={self.login!r})"


class TenantExists(ValueError):
    """The tenant id is taken (nothing was changed)."""


async def create_tenant(
    engine: AsyncEngine,
    keys: KeyRing,
    *,
    tenant_id: str,
    name: str,
    login: str,
    display_name: str,
    now: datetime,
    roles: Sequence[Role] = FIRST_ROLES,
) -> FirstAdministrator:
    """Add the tenant and its first administrator; raises :class:`ValueError` (with the
    field in its message) for bad input and :class:`TenantExists` when the id is taken."""
    if not TENANT_ID.fullmatch(tenant_id):
        raise ValueError(
            f"tenant id {tenant_id!r} must be 2-63 lower-case letters, digits or '-', "
            "starting with a letter or digit"
        )
    for field, value, most in (
        ("--name", name, 200),
        ("--admin-login", login, 128),
        ("--admin-name", display_name, 200),
    ):
        if not value.strip() or len(value) > most:
            raise ValueError(f"{field} must be 1-{most} characters")
    password = secrets.token_urlsafe(15)
    totp_secret = new_totp_secret()
    password_hash = await asyncio.to_thread(PASSWORD_HASHER.hash, password)
    account_id = str(uuid.uuid4())
    try:
        async with writer(engine).begin() as conn:
            await conn.execute(
                insert(tenants).values(id=tenant_id, name=name.strip(), created_at=now)
            )
            tenant = f"tenant:{tenant_id}"
            await audit(conn, tenant_id, now, "operator:cli", "tenant.created", tenant)
            await insert_account(
                conn,
                tenant_id=tenant_id,
                account_id=account_id,
                login=login,
                display_name=display_name.strip(),
                roles=roles,
                password_hash=password_hash,
                sealed=seal_totp(keys, tenant_id, account_id, totp_secret),
                staff_id=None,
                now=now,
            )
            subject = f"staff_account:{account_id}"
            await audit(conn, tenant_id, now, "operator:cli", "staff_account.created", subject)
    except IntegrityError:  # the tenant's primary key: the only constraint a new tenant meets
        raise TenantExists(f"tenant {tenant_id!r} exists already; nothing was changed") from None
    return FirstAdministrator(tenant_id, account_id, login.strip().lower(), password, totp_secret)
