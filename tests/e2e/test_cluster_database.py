"""PostgreSQL briefly away under two real ``balie serve`` processes (one Redis, one database
behind a TCP proxy the test stops and starts again, as a database restart looks to a node).

What must hold, on people's paths: while the database is away, whatever needs it answers
503 "try again in a moment" with ``Retry-After``, as problem JSON on the API (a forms
platform confirming a hold, a resident starting the identity step) and as a readable Dutch
page for people (a resident confirming on the booking pages, a member of staff signing in);
``/healthz`` keeps answering and ``/readyz`` turns unready naming the database; a call in
progress goes on, media and chat; nothing crashes and no node logs a traceback or anything
personal (contact details, the BSN). Once the
database is back, without a restart, both nodes are ready again, the bookings that were
refused go through on retry, each once, and stay booked, and the identity step succeeds.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

import aiohttp
import pytest
from sqlalchemy.engine import make_url

from signaling.close_codes import CloseCode
from signaling.roles import Role
from tests.e2e import processes
from tests.e2e.peers import TestPeer
from tests.e2e.processes import (
    Cluster,
    bounded,
    chat_both_ways,
    connect,
    database,
    healthy,
    start_call,
)
from tests.proxy import CuttableProxy
from tests.redis_server import RedisServer
from tests.server.booking.support import (
    EMAIL,
    PHONE,
    BookingClient,
    count_appointments,
    free_times,
    hold,
    key,
    seed,
)
from tests.server.resident.support import Resident, field, radios, times_page
from tests.server.resident.support import hold as hold_on_page
from tests.server.staff.support import csrf_of
from tests.server.verification.support import DEMO_VALUES, FAKE_BSN, Browser, verify
from tests.support import BalieProcess

pytestmark = pytest.mark.e2e

#: the title of the page a person reads while the database is away
TRY_AGAIN: Final = "Het lukt nu even niet"
#: generous: how long a node may take to be ready again once the database is back
RECOVERY: Final = 30.0

session = processes.session
peers = processes.peers


@dataclass
class Outage:
    """Two nodes whose database connections all pass through ``proxy``, and a tenant."""

    proxy: CuttableProxy
    cluster: Cluster
    #: the database itself, not through the proxy
    database_url: str
    a: BalieProcess
    b: BalieProcess
    tenant: str


@pytest.fixture
async def outage(tmp_path: Path, redis: RedisServer, postgres_url: str) -> AsyncIterator[Outage]:
    url = make_url(postgres_url)
    proxy = CuttableProxy(url.port or 5432, url.host or "127.0.0.1")
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    cluster = Cluster(tmp_path / "data", redis.url, proxied)
    cluster.env["BALIE_DATABASE_TIMEOUT"] = "2"
    try:
        a = await cluster.start()
        b = await cluster.start()
        async with database(postgres_url) as engine:
            tenant = await seed(engine)
        yield Outage(proxy, cluster, postgres_url, a, b, tenant)
    finally:
        await cluster.aclose()
        await proxy.stop()
        cluster.print_logs()


class Answer(NamedTuple):
    status: int
    kind: str
    retry_after: str
    text: str


async def ask(http: aiohttp.ClientSession, method: str, url: str, **options: Any) -> Answer:
    async with http.request(method, url, allow_redirects=False, **options) as response:
        return Answer(
            response.status,
            response.content_type,
            response.headers.get("Retry-After", ""),
            await response.text(),
        )


def try_again_json(answer: Answer) -> None:
    """What a program is told while the database is away: problem JSON, and when to retry."""
    assert (answer.status, answer.kind) == (503, "application/problem+json"), answer
    assert answer.retry_after.isdigit(), answer
    problem = json.loads(answer.text)
    assert problem["status"] == 503 and problem["code"] == "storage-unavailable", problem


def try_again_page(answer: Answer) -> None:
    """What a person reads: a Dutch page saying to try again in a few minutes."""
    assert (answer.status, answer.kind) == (503, "text/html"), answer
    assert answer.retry_after.isdigit(), answer
    assert 'lang="nl"' in answer.text and TRY_AGAIN in answer.text, answer.text


async def readiness(
    session: aiohttp.ClientSession, node: BalieProcess
) -> tuple[int, dict[str, str]]:
    async with session.get(node.url + "/readyz") as response:
        return response.status, (await response.json())["checks"]


async def ready_again(session: aiohttp.ClientSession, node: BalieProcess) -> None:
    """Wait until ``node`` says it is ready (the load balancer sends it people again)."""
    checks: dict[str, str] = {}
    for _ in range(int(RECOVERY / 0.2)):
        status, checks = await readiness(session, node)
        if status == 200:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(
        f"{node.url} not ready {RECOVERY} s after the database came back: {checks}"
    )


@bounded
async def test_postgresql_briefly_away_is_503_for_what_needs_it_and_the_call_goes_on(
    outage: Outage, session: aiohttp.ClientSession, peers: list[TestPeer]
) -> None:
    a, b, tenant = outage.a, outage.b, outage.tenant
    call = await start_call(session, outage.cluster, a, b, peers)
    await chat_both_ways(call, "Voor de storing")

    # before: a forms platform holds a slot on node B; a resident holds another on the pages
    # of node B and fills in the contact form; a member of staff opens the sign-in page on A
    platform = BookingClient(b.url, session)
    held = await hold(platform, tenant, (await free_times(platform, tenant))[0])
    async with AsyncExitStack() as stack:
        # browsers: they keep cookies (of 127.0.0.1 too) and ask for pages
        browser, staff = [
            await stack.enter_async_context(
                aiohttp.ClientSession(
                    cookie_jar=aiohttp.CookieJar(unsafe=True),
                    headers={"Origin": origin, "Accept": "text/html"},
                )
            )
            for origin in (b.url, a.url)
        ]
        resident = Resident(BookingClient(b.url, browser), browser)
        _, page = await times_page(resident, tenant)
        status, location = await hold_on_page(resident, tenant, page, radios(page, "start")[0])
        assert status == 303, location
        status, details = await resident.get(location)
        assert status == 200, details
        contact = {"key": field(details, "key"), "email": EMAIL, "phone": PHONE}
        sign_in = {
            "csrf_token": await csrf_of(staff, a.url + "/staff/sign-in"),
            "tenant": tenant,
            "login": "test-medewerker",
            "password": "test-wachtwoord",
        }
        # and a resident of a booked call opens its page, to show who they are
        room = outage.cluster.issue_room(purpose="intake", tenant=tenant)
        identity = Browser(a.url)
        stack.push_async_callback(identity.close)
        await identity.open(room.room)
        for node in (a, b):
            status, checks = await readiness(session, node)
            assert status == 200, checks

        await outage.proxy.refuse()

        for node in (a, b):
            # the load balancer's questions: the process lives, the node is not ready
            await healthy(session, node)
            status, checks = await readiness(session, node)
            assert status == 503 and checks["database"] != "ok", checks
            assert checks["signalling"] == "ok", checks
            # what needs the database says "not now", to programs and to people
            purposes = f"{node.url}/api/tenants/{tenant}/purposes"
            try_again_json(await ask(session, "GET", purposes))
            try_again_page(await ask(browser, "GET", f"{node.url}/afspraak/{tenant}"))
        # the forms platform confirms its hold
        confirmation = key()
        body = {"hold_id": held["id"], "version": held["version"], "contact": {"email": EMAIL}}
        confirm = platform.api(tenant, "/appointments")
        headers = {"Idempotency-Key": confirmation}
        try_again_json(await ask(session, "POST", confirm, json=body, headers=headers))
        # the resident confirms on the page
        confirm_page = f"{b.url}/afspraak/{tenant}/bevestigen"
        try_again_page(await ask(browser, "POST", confirm_page, data=contact))
        # the member of staff signs in, on the other node
        try_again_page(await ask(staff, "POST", a.url + "/staff/sign-in", data=sign_in))
        # the resident starts the identity step
        token = room.seat(Role.RESIDENT).token
        status, problem = await identity.call("POST", room.room, "/session", token, {})
        assert (status, problem["code"]) == (503, "storage-unavailable"), problem
        # joining the call itself cannot be checked now: "try again", not "show who you are"
        joining = await connect(session, b)
        await joining.send(type="join", token=token, room=room.room)
        assert (await joining.expect("error"))["code"] == "unavailable"
        assert await joining.expect_close() == CloseCode.UNAVAILABLE
        # the call needs no database: media and chat go on
        await call.media_grows(call.frames())
        await chat_both_ways(call, "Tijdens de storing")

        await outage.proxy.start()

        # ready again by themselves, without a restart; what was refused goes through once
        for node in (a, b):
            await ready_again(session, node)
        for _ in range(2):  # the retry, and a retry of the retry: one booking
            status, booked = await platform.call("POST", confirm, json=body, key=confirmation)
            assert status == 201 and booked["state"] == "booked", booked
            assert booked["id"] == held["id"]
        status, location = await resident.post(f"/afspraak/{tenant}/bevestigen", contact)
        assert status == 303 and location.endswith("/bevestiging"), location
        status, shown = await resident.get(location)
        assert status == 200 and TRY_AGAIN not in shown, shown
        status, verdict = await verify(identity, room, DEMO_VALUES)
        assert status == 200 and verdict["verified"] is True, verdict

    # and both stay booked: seen through the other node, and one row each
    other = BookingClient(a.url, session)
    path = f"/appointments/{held['id']}"
    status, details = await other.call("GET", other.api(tenant, path), token=booked["manage_token"])
    assert status == 200 and details["state"] == "booked", details
    async with database(outage.database_url) as engine:
        assert await count_appointments(engine, tenant) == {"booked": 2}

    await chat_both_ways(call, "Na de storing")
    await call.media_grows(call.frames())
    for node in (a, b):
        await healthy(session, node)
        assert "Traceback" not in node.printed, node.printed
        for personal in (EMAIL, PHONE, FAKE_BSN):
            assert personal not in node.printed, node.printed
