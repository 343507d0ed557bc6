"""What the administrator-page tests share: the page, posting its forms as a signed-in
administrator does, the errors it shows, and what it stored and audited."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Column, select

from server.db.appkeys import ENGINE
from server.db.schema import audit_events, tenants
from tests.server.staff.support import Staffed, csrf_of, signed_in

PAGE = "/staff/beheer/gemeente"


@pytest.fixture
async def admin(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    """The demo municipality's administrator, signed in (the module's ``server`` fixture)."""
    async with signed_in(server, "beheerder") as session:
        yield session


async def post(
    session: aiohttp.ClientSession, server: Staffed, form: dict[str, str], *, path: str = PAGE
) -> tuple[int, str, str]:
    token = await csrf_of(session, server.url + PAGE)
    async with session.post(
        server.url + path, data=form | {"csrf_token": token}, allow_redirects=False
    ) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


def errors_of(page: str) -> dict[str, str]:
    """Field id → its error message, as the page shows them next to the fields."""
    found = re.findall(
        r'<p class="error-message" id="([a-z_]+)-error"><span class="visually-hidden">'
        r"[^<]*</span>([^<]*)</p>",
        page,
    )
    return {name: html.unescape(message) for name, message in found}


async def stored(server: Staffed, column: Column[Any]) -> object:
    """What the demo tenant's row holds in ``column`` (``tenants.c.profile``, ...)."""
    async with server.app[ENGINE].connect() as conn:
        query = select(column).where(tenants.c.id == "demo")
        return (await conn.execute(query)).scalar_one()


async def saves(server: Staffed, action: str) -> list[tuple[str, str, str]]:
    """The audit events of ``action``: (actor, subject, tenant)."""
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(audit_events.c.actor, audit_events.c.subject, audit_events.c.tenant_id).where(
                audit_events.c.action == action
            )
        )
        return [tuple(row) for row in rows]
