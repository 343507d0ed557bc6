"""OpenID4VP through the running server, end to end: the resident's page starts a session,
a wallet made of libraries not written here (``sd-jwt`` for SD-JWT VC, ``cbor2``/``cwt`` for
mdoc) fetches the signed request and answers over HTTP, the page finishes, the resident is
seated in the lobby and the specialist's verified panel shows the values. The same vault,
binding, audit and retention as Yivi results; the database and the logs hold no value."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import String, Text, cast, or_, select

from identity.sessions import Binding, Verification
from server.call.rooms import IssuedRoom
from server.config import ClusterSettings, DatabaseSettings
from server.db.appkeys import ENGINE
from server.db.schema import audit_events, metadata, openid4vp_transactions, vault_entries
from server.verification import openid4vp_setup
from server.verification.appkeys import GATE
from signaling.roles import Role
from tests.identity.openid4vp.support import BSN, FAKE_VALUES
from tests.leaks import logged, metrics_text
from tests.redis_server import RedisServer
from tests.server.call.cluster import BUS_KEYS
from tests.server.verification.openid4vp_support import (
    Pkis,
    ScriptedWallet,
    StatusLists,
    make_pkis,
    openid4vp_balie,
    openid4vp_config,
    vp_token,
)
from tests.server.verification.support import Browser
from tests.support import LiveServer, SignalClient, live_server


@pytest.fixture(scope="module")
def pkis() -> Pkis:
    return make_pkis()


@pytest.fixture
async def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pkis: Pkis
) -> AsyncIterator[LiveServer]:
    async with openid4vp_balie(tmp_path, monkeypatch, pkis) as (live, _):
        yield live


@pytest.fixture
async def wallet(server: LiveServer) -> AsyncIterator[ScriptedWallet]:
    made = ScriptedWallet(server.url)
    yield made
    await made.close()


@pytest.fixture
async def browsers(server: LiveServer) -> AsyncIterator[list[Browser]]:
    made = [Browser(server.url) for _ in range(2)]
    yield made
    for browser in made:
        await browser.close()


async def start(browser: Browser, room: IssuedRoom, flow: str = "cross-device") -> dict[str, Any]:
    await browser.open(room.room)
    token = room.seat(Role.RESIDENT).token
    status, started = await browser.call(
        "POST", room.room, "/session", token, {"wallet": "openid4vp", "flow": flow}
    )
    assert status == 200, started
    assert set(started) == {"wallet", "authorization_request", "flow", "expires_at"}
    return dict(started)


async def progress(browser: Browser, room: IssuedRoom) -> str:
    status, body = await browser.call("GET", room.room, "/progress", room.seat(Role.RESIDENT).token)
    assert status == 200, body
    return str(body["status"])


async def test_an_nl_pid_admits_the_resident_and_the_specialist_sees_it(
    server: LiveServer,
    browsers: list[Browser],
    wallet: ScriptedWallet,
    pkis: Pkis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_wallet(caplog)
    resident, specialist = browsers
    room = server.issue_room(purpose="bijstand", tenant="demo")
    token = room.seat(Role.RESIDENT).token
    await resident.open(room.room)
    status, state = await resident.call("GET", room.room, "", token)
    assert state["wallets"] == ["yivi", "openid4vp"]
    for refused in ({"wallet": "another"}, {"wallet": "openid4vp", "flow": "sideways"}):
        status, problem = await resident.call("POST", room.room, "/session", token, refused)
        assert (status, problem["code"]) == (400, "unknown-wallet")

    started = await start(resident, room)
    assert started["authorization_request"].startswith("openid4vp://?client_id=x509_hash%3A")
    assert await progress(resident, room) == "waiting"
    # the page asks too early: nothing is consumed
    status, early = await resident.finish(room)
    assert (status, early["code"]) == (409, "not-finished")

    request = await wallet.fetch(started["authorization_request"])
    assert request.claims["response_mode"] == "direct_post.jwt"
    assert await progress(resident, room) == "connected"
    assert (await wallet.refetch(request))[0] == 400  # served once
    answered = await wallet.answer(request, wallet.nl_pid_form(request, pkis.nl))
    assert answered == (200, {})
    assert await progress(resident, room) == "done"

    status, verdict = await resident.finish(room)
    assert status == 200, verdict
    assert verdict == {
        "verified": True,
        "wallet": "openid4vp",
        "attributes": [{"label": "Burgerservicenummer (BSN)"}, {"label": "Naam"}],
    }
    # the same gate as Yivi's: seated in the lobby, not before
    seat = await SignalClient.connect(resident.http, server)
    assert (await seat.join(token))["state"] == "lobby"
    await seat.close()

    status, panel = await specialist.call("GET", room.room, "", room.seat(Role.SPECIALIST).token)
    assert status == 200 and panel["verified"] and panel["demo"] is False
    assert panel["verifier"] == "NL Wallet / EU-wallet (OpenID4VP)"
    rows = {row["name"]: row for row in panel["attributes"]}
    assert rows["full_name"]["value"] == "Test Persoon"
    assert rows["bsn"]["masked"] and "value" not in rows["bsn"]
    status, revealed = await specialist.call(
        "POST", room.room, "/reveal", room.seat(Role.SPECIALIST).token, {"attribute": "bsn"}
    )
    assert (status, revealed["value"]) == (200, BSN)

    # consumed once: a second finish is refused, a replayed answer too
    assert (await resident.finish(room))[0] == 409
    replay = await wallet.answer(request, wallet.nl_pid_form(request, pkis.nl))
    assert replay == (400, {"error": "invalid_request", "error_description": "response.state"})

    async with server.app[ENGINE].connect() as conn:
        actions = (
            await conn.execute(
                select(audit_events.c.action).where(audit_events.c.subject == f"room:{room.room}")
            )
        ).scalars()
        assert "identity.verified" in set(actions)
    await assert_no_value_anywhere(server, caplog)


async def test_an_mdoc_pid_passes_too(
    server: LiveServer, browsers: list[Browser], wallet: ScriptedWallet, pkis: Pkis
) -> None:
    room = server.issue_room(purpose="bijstand", tenant="demo")
    request = await wallet.fetch((await start(browsers[0], room))["authorization_request"])
    answered = await wallet.answer(
        request, request.encrypted({"pid_mdoc": [wallet.mdoc_pid(request, pkis.eu)]})
    )
    assert answered == (200, {})
    status, verdict = await browsers[0].finish(room)
    assert status == 200 and verdict["verified"] is True
    seat = await SignalClient.connect(browsers[0].http, server)
    assert (await seat.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
    await seat.close()


async def test_a_result_claimed_meanwhile_is_refused_and_counted_under_the_wallet(
    server: LiveServer,
    browsers: list[Browser],
    wallet: ScriptedWallet,
    pkis: Pkis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another node (a second tab) claims the result between this node's look at the
    session and its own claim: refused once, and counted under the verifier that ran the
    session, not under Yivi's."""
    room = server.issue_room(purpose="bijstand", tenant="demo")
    request = await wallet.fetch((await start(browsers[0], room))["authorization_request"])
    answered = await wallet.answer(request, wallet.nl_pid_form(request, pkis.nl))
    assert answered == (200, {})
    verifications = server.app[GATE].verifications
    claim = verifications.claim

    async def claimed_meanwhile(verification_id: str, binding: Binding) -> Verification:
        await claim(verification_id, binding)  # the other node's, on the same database
        return await claim(verification_id, binding)

    monkeypatch.setattr(verifications, "claim", claimed_meanwhile)
    status, problem = await browsers[0].finish(room)
    assert (status, problem["code"]) == (403, "refused-already-used")
    refused = 'outcome="refused",reason="already-used"'
    metrics = metrics_text(server.app)
    assert f'balie_verifications_total{{{refused},verifier="openid4vp"}} 1.0' in metrics
    assert f'{refused},verifier="{server.app[GATE].verifier.name}"' not in metrics


async def test_same_device_needs_the_response_code_the_wallet_sent_back(
    server: LiveServer, browsers: list[Browser], wallet: ScriptedWallet, pkis: Pkis
) -> None:
    resident, attacker = browsers
    room = server.issue_room(purpose="bijstand", tenant="demo")
    started = await start(resident, room, "same-device")
    request = await wallet.fetch(started["authorization_request"])
    status, body = await wallet.answer(request, wallet.nl_pid_form(request, pkis.nl))
    assert status == 200
    back = urlsplit(body["redirect_uri"])
    assert (back.netloc, back.path, back.query) == ("balie.test", "/identiteit/wallet", "")
    code = back.fragment.removeprefix("response_code=")
    # the page it lands on is ours, and needs no secret in its address
    async with resident.http.get(wallet.local(body["redirect_uri"].split("#")[0])) as page:
        assert page.status == 200
        assert page.headers["Cache-Control"] == "no-store"

    token = room.seat(Role.RESIDENT).token
    # another browser cannot finish it, even with the code
    await attacker.open(room.room)
    status, refused = await attacker.call(
        "POST", room.room, "/result", token, {"response_code": code}
    )
    assert status == 409, refused
    # this browser without the code: refused, and nothing admitted
    status, refused = await resident.call(
        "POST", room.room, "/result", token, {"response_code": "not-the-code"}
    )
    assert (status, refused["code"]) == (403, "refused-session-mismatch")
    state = (await resident.call("GET", room.room, "", token))[1]
    assert state["verified"] is False


async def test_a_second_session_on_another_node_is_found_in_the_database(
    server: LiveServer, browsers: list[Browser], wallet: ScriptedWallet, pkis: Pkis
) -> None:
    """The transaction lives in SQL: the table holds it, keyed without the secret id."""
    room = server.issue_room(purpose="bijstand", tenant="demo")
    await start(browsers[0], room)
    async with server.app[ENGINE].connect() as conn:
        rows = (await conn.execute(select(openid4vp_transactions))).all()
    assert len(rows) == 1 and rows[0].state == "created"
    for value in FAKE_VALUES:
        assert value not in repr(rows)


def quiet_wallet(caplog: pytest.LogCaptureFixture) -> None:
    """Catch every server record; the wallet's own library logs its values at DEBUG, and a
    phone's log is not ours."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sd_jwt")


async def assert_no_value_anywhere(server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    """No fake value in the logs, nor in any text column of any table but the sealed vault
    (the OpenID4VP transactions included)."""
    text = logged(caplog)
    for value in FAKE_VALUES:
        assert value not in text, f"{value!r} in the logs"
    async with server.app[ENGINE].connect() as conn:
        for table in metadata.sorted_tables:
            columns = [
                c for c in table.columns if not (table is vault_entries and c.name == "sealed")
            ]
            texts = [cast(c, Text) if not isinstance(c.type, String | Text) else c for c in columns]
            hits = await conn.execute(
                select(table).where(or_(*[t.contains(v) for t in texts for v in FAKE_VALUES]))
            )
            assert hits.first() is None, f"personal data in table {table.name}"
    await asyncio.sleep(0)


async def test_plain_direct_post_when_the_municipality_chose_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pkis: Pkis
) -> None:
    async with openid4vp_balie(tmp_path, monkeypatch, pkis, response_mode="direct_post") as (
        live,
        _,
    ):
        browser, wallet = Browser(live.url), ScriptedWallet(live.url)
        try:
            room = live.issue_room(purpose="bijstand", tenant="demo")
            request = await wallet.fetch((await start(browser, room))["authorization_request"])
            assert request.claims["response_mode"] == "direct_post"
            presentation = wallet.nl_pid(request, pkis.nl)
            # a field given twice is not a wallet's answer
            twice = [("vp_token", "{}"), ("vp_token", "{}"), ("state", request.request_id)]
            async with wallet.http.post(wallet.local(request.response_uri), data=twice) as r:
                assert (r.status, (await r.json())["error_description"]) == (400, "response.form")
            form = {"vp_token": vp_token("pid_nl", presentation), "state": request.request_id}
            assert await wallet.answer(request, form) == (200, {})
            assert (await browser.finish(room))[0] == 200
        finally:
            await browser.close()
            await wallet.close()


async def test_two_nodes_on_postgresql_share_the_transaction(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    pkis: Pkis,
    postgres_url: str,
    redis: RedisServer,
) -> None:
    """The scale-out shape: the page starts on one node, the wallet fetches from the other
    and answers the first twice at once (one answer is taken), the page finishes on the
    second, and the resident is seated on the first."""
    monkeypatch.setattr(openid4vp_setup, "status_fetcher", StatusLists)
    configs = [
        dataclasses.replace(
            openid4vp_config(tmp_path, pkis),
            database=DatabaseSettings(url=postgres_url),
            cluster=ClusterSettings(redis_url=redis.url, bus_keys=BUS_KEYS),
        )
        for _ in range(2)
    ]
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(live_server(tmp_path, config=configs[0]))
        b = await stack.enter_async_context(live_server(tmp_path, config=configs[1]))
        browser, wallet = Browser(a.url), ScriptedWallet(b.url)
        stack.push_async_callback(browser.close)
        stack.push_async_callback(wallet.close)
        room = a.issue_room(purpose="bijstand", tenant="demo")
        request = await wallet.fetch((await start(browser, room))["authorization_request"])
        form = wallet.nl_pid_form(request, pkis.nl)
        wallet.live_url = a.url
        racing = await asyncio.gather(wallet.answer(request, form), wallet.answer(request, form))
        assert sorted(status for status, _ in racing) == [200, 400]
        browser.url = b.url
        assert await progress(browser, room) == "done"
        status, verdict = await browser.finish(room)
        assert (status, verdict["wallet"]) == (200, "openid4vp")
        seat = await SignalClient.connect(browser.http, a)
        assert (await seat.join(room.seat(Role.RESIDENT).token))["state"] == "lobby"
        await seat.close()
