"""Staff test support: a live Balie with a movable clock, a second tenant, and the sign-in
steps a person takes (password, then the TOTP code), shared by the sign-in, desk and planner
tests."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
from aiohttp import web
from sqlalchemy import insert

from server.config import Config
from server.db import writer
from server.db.appkeys import ENGINE
from server.db.schema import tenants
from server.staff import STAFF, Role, StaffAuth
from server.staff.demo import DEMO_HASHER, demo_credentials
from tests.support import LiveServer, MovableClock, live_server

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OTHER_TENANT = "andere"
OTHER_PASSWORD = "ander-geheim-wachtwoord"
OTHER_SECRET = pyotp.random_base32(32)

Route = tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]


@dataclass
class Staffed:
    """A running Balie whose clock the test moves, with the demo staff and one more tenant."""

    live: LiveServer
    clock: MovableClock

    @property
    def url(self) -> str:
        return self.live.url

    @property
    def origin(self) -> str:
        return self.live.origin

    @property
    def app(self) -> web.Application:
        return self.live.app

    @property
    def config(self) -> Config:
        return self.live.config

    @property
    def auth(self) -> StaffAuth:
        return self.app[STAFF]

    def creds(self, login: str) -> tuple[str, str]:
        found = demo_credentials(self.config)[login]
        return found.password, found.totp_secret

    def code(self, login: str, at: datetime | None = None) -> str:
        secret = self.creds(login)[1] if login != "other" else OTHER_SECRET
        return pyotp.TOTP(secret).at(at or self.clock.now)


@asynccontextmanager
async def staffed_server(
    data_dir: Path,
    *,
    clock: MovableClock | None = None,
    routes: Sequence[Route] = (),
    **live: Any,
) -> AsyncIterator[Staffed]:
    """Balie on loopback with the demo staff (cheap password hashes) and tenant ``andere``;
    ``routes`` are added before it starts."""
    clock = clock or MovableClock()
    async with live_server(data_dir, clock=clock, routes=routes, **live) as running:
        # the real argon2 parameters cost ~0.2 s a hash; tested once, cheap elsewhere
        running.app[STAFF].password_totp.hasher = DEMO_HASHER
        await add_other_tenant(running.app, clock.now)
        yield Staffed(running, clock)


async def add_other_tenant(app: web.Application, now: datetime) -> None:
    async with writer(app[ENGINE]).begin() as conn:
        await conn.execute(insert(tenants).values(id=OTHER_TENANT, name="Andere", created_at=now))
    auth = app[STAFF]
    await auth.accounts.create(
        tenant_id=OTHER_TENANT,
        login="other",
        display_name="Other",
        roles=[Role.SPECIALIST, Role.PLANNER],
        password_hash=DEMO_HASHER.hash(OTHER_PASSWORD),
        keys=auth.keys,
        totp_secret=OTHER_SECRET,
        now=now,
    )


def staff_client(server: Staffed) -> aiohttp.ClientSession:
    """A browser-like client: keeps cookies, sends our Origin, asks for pages."""
    # unsafe: the jar otherwise ignores cookies of an IP-address host (127.0.0.1)
    return aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Origin": server.origin, "Accept": "text/html"},
    )


def session_cookie(session: aiohttp.ClientSession) -> str | None:
    for cookie in session.cookie_jar:
        if cookie.key == "balie_staff":
            return cookie.value
    return None


async def csrf_of(session: aiohttp.ClientSession, url: str) -> str:
    """The CSRF token in the form of the page at ``url``."""
    async with session.get(url) as response:
        assert response.status == 200
        found = CSRF.search(await response.text())
    assert found is not None
    return found.group(1)


async def password_step(
    session: aiohttp.ClientSession,
    server: Staffed,
    login: str,
    password: str,
    tenant: str = "demo",
) -> aiohttp.ClientResponse:
    token = await csrf_of(session, f"{server.url}/staff/sign-in?tenant={tenant}")
    form = {"csrf_token": token, "tenant": tenant, "login": login, "password": password}
    async with session.post(
        f"{server.url}/staff/sign-in", data=form, allow_redirects=False
    ) as response:
        await response.read()
        return response


async def code_step(
    session: aiohttp.ClientSession, server: Staffed, code: str
) -> tuple[aiohttp.ClientResponse, str]:
    token = await csrf_of(session, f"{server.url}/staff/sign-in/code")
    async with session.post(
        f"{server.url}/staff/sign-in/code",
        data={"csrf_token": token, "code": code},
        allow_redirects=False,
    ) as response:
        return response, await response.text()


async def sign_in(
    session: aiohttp.ClientSession, server: Staffed, login: str = "specialist"
) -> None:
    """Both sign-in steps as a person takes them; fails the test if either is refused."""
    if login == "other":
        password, tenant = OTHER_PASSWORD, OTHER_TENANT
    else:
        password, tenant = server.creds(login)[0], "demo"
    step1 = await password_step(session, server, login, password, tenant)
    assert step1.status == 303
    assert step1.headers["Location"] == "/staff/sign-in/code"
    step2, _ = await code_step(session, server, server.code(login))
    assert step2.status == 303, "the code was refused"
    assert step2.headers["Location"] == "/staff"


@asynccontextmanager
async def signed_in(server: Staffed, login: str) -> AsyncIterator[aiohttp.ClientSession]:
    async with staff_client(server) as session:
        await sign_in(session, server, login)
        yield session
