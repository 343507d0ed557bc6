"""Staff sign-in against a real Balie server on loopback (SQLite), with the account store
also run on PostgreSQL. Time moves by the staff service's injectable clock, never by sleeping.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pyotp
import pytest
from aiohttp import web
from sqlalchemy import insert, select

from identity.vault import KeyRing, new_key_config_entry
from server.config import Config
from server.core.limits import LocalLimiter
from server.db import create_engine, writer
from server.db.appkeys import ENGINE
from server.db.schema import staff_accounts, tenants
from server.staff import AccountRef, AccountStore, Role, require_staff
from server.staff.accounts import MAX_FAILURES, PASSWORD_HASHER, PasswordTotpAuthenticator
from server.staff.demo import DEMO_HASHER
from server.staff.sign_in import REFUSED
from tests.leaks import logged, metrics_text
from tests.server.db.support import Database, module_database
from tests.server.staff.support import (
    OTHER_PASSWORD,
    OTHER_SECRET,
    OTHER_TENANT,
    Staffed,
    code_step,
    csrf_of,
    password_step,
    session_cookie,
    sign_in,
    staff_client,
    staffed_server,
)
from tests.support import MovableClock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _planner_page(request: web.Request) -> web.Response:
    principal = await require_staff(request, role=Role.PLANNER)
    return web.Response(text=f"planner ok {principal.login}")


async def _tenant_page(request: web.Request) -> web.Response:
    await require_staff(request, tenant=request.match_info["tenant"])
    return web.Response(text="tenant ok")


async def _action(request: web.Request) -> web.Response:
    await require_staff(request)
    return web.Response(text="done")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    # pages a later issue adds; here they exercise require_staff's refusals
    routes = [
        ("GET", "/test/planner", _planner_page),
        ("GET", "/test/tenant/{tenant}", _tenant_page),
        ("POST", "/test/action", _action),
    ]
    async with staffed_server(tmp_path, clock=MovableClock(T0), routes=routes) as running:
        yield running


async def _status(session: aiohttp.ClientSession, server: Staffed, path: str = "/staff") -> int:
    async with session.get(server.url + path, allow_redirects=False) as response:
        return response.status


async def _page_csrf(session: aiohttp.ClientSession, server: Staffed) -> str:
    return await csrf_of(session, f"{server.url}/staff")


# --- signing in ----------------------------------------------------------------------------


async def test_sign_in_with_password_and_code(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    await sign_in(client, server, "specialist")
    async with client.get(f"{server.url}/staff") as response:
        assert response.status == 200
        page = await response.text()
    assert "Welkom, Anna (demo)" in page
    assert "Specialist" in page and "Planner" not in page
    assert "Gemeente Voorbeeld (demo)" in page


async def test_session_id_is_new_at_each_stage_and_cookie_is_strict(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    async with client.get(f"{server.url}/staff/sign-in") as response:
        set_cookie = response.headers.getall("Set-Cookie")[0]
    anonymous = session_cookie(client)
    assert anonymous is not None and len(anonymous) >= 43  # >= 256 bits
    assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
    assert set_cookie.startswith("balie_staff=") and "Path=/" in set_cookie
    password, _ = server.creds("specialist")
    assert (await password_step(client, server, "specialist", password)).status == 303
    pending = session_cookie(client)
    step2, _ = await code_step(client, server, server.code("specialist"))
    assert step2.status == 303
    active = session_cookie(client)
    assert pending is not None and active is not None
    assert len({anonymous, pending, active}) == 3
    # the pre-login ids are dead: replaying them signs nobody in
    async with staff_client(server) as stranger:
        for old in (anonymous, pending):
            stranger.cookie_jar.update_cookies({"balie_staff": old})
            assert await _status(stranger, server) == 303


async def test_wrong_password_and_unknown_login_get_the_same_answer(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    texts = []
    for login, password in (("specialist", "wrong"), ("nobody", "wrong")):
        response = await password_step(client, server, login, password)
        assert response.status == 200
        async with client.get(f"{server.url}/staff") as page:
            assert page.url.path == "/staff/sign-in"
        texts.append(response)
    for login, password in (("specialist", "wrong"), ("nobody", "wrong")):
        token = await csrf_of(client, f"{server.url}/staff/sign-in")
        form = {"csrf_token": token, "tenant": "demo", "login": login, "password": password}
        async with client.post(f"{server.url}/staff/sign-in", data=form) as response:
            assert REFUSED in await response.text()


async def test_password_alone_does_not_sign_in(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    password, _ = server.creds("specialist")
    assert (await password_step(client, server, "specialist", password)).status == 303
    assert await _status(client, server) == 303  # no second factor: not signed in
    for code in ("", "000000" if server.code("specialist") != "000000" else "111111", "abcdef"):
        response, text = await code_step(client, server, code)
        assert response.status == 200
        assert REFUSED in text
        assert await _status(client, server) == 303


async def test_a_code_is_accepted_once(server: Staffed) -> None:
    async with staff_client(server) as first, staff_client(server) as second:
        await sign_in(first, server)
        password, _ = server.creds("specialist")
        assert (await password_step(second, server, "specialist", password)).status == 303
        response, text = await code_step(second, server, server.code("specialist"))
        assert response.status == 200 and REFUSED in text  # same code, same step: replay
        server.clock.advance(seconds=30)
        response, _ = await code_step(second, server, server.code("specialist"))
        assert response.status == 303


async def test_real_password_hashes_are_argon2id(server: Staffed) -> None:
    assert PASSWORD_HASHER.type.name == "ID"
    assert (PASSWORD_HASHER.time_cost, PASSWORD_HASHER.memory_cost) == (3, 64 * 1024)
    auth = server.auth
    auth.password_totp.hasher = PASSWORD_HASHER
    password, _ = server.creds("planner")
    async with staff_client(server) as session:
        assert (await password_step(session, server, "planner", password)).status == 303
    async with server.app[ENGINE].connect() as conn:
        stored = (
            await conn.execute(
                select(staff_accounts.c.password_hash, staff_accounts.c.totp_sealed).where(
                    staff_accounts.c.id == "demo-planner"
                )
            )
        ).one()
    # the cheap demo hash was upgraded at sign-in
    assert stored.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    # the TOTP secret is sealed at rest
    assert stored.totp_sealed.startswith("v1.")
    assert server.creds("planner")[1] not in stored.totp_sealed


# --- sessions ------------------------------------------------------------------------------


async def test_idle_timeout_warns_extends_and_ends(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    await sign_in(client, server)
    server.clock.advance(minutes=14)
    async with client.get(f"{server.url}/staff/session") as response:
        state = await response.json()
    assert state["seconds_left"] == 60 and state["warn_seconds"] >= 20
    server.clock.advance(seconds=30)  # polling did not count as activity
    async with client.get(f"{server.url}/staff/session") as response:
        assert (await response.json())["seconds_left"] == 30
    token = await _page_csrf(client, server)  # a page view is activity
    server.clock.advance(minutes=14)
    async with client.post(
        f"{server.url}/staff/session", headers={"X-CSRF-Token": token}
    ) as response:
        assert (await response.json())["idle_seconds_left"] == 15 * 60
    server.clock.advance(minutes=15, seconds=1)
    async with client.get(f"{server.url}/staff/session") as response:
        assert response.status == 401
        assert (await response.json())["code"] in (
            "staff-session-expired",
            "staff-sign-in-required",
        )
    async with client.get(f"{server.url}/staff", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"].startswith("/staff/sign-in")


async def test_absolute_timeout_ends_an_active_session(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    await sign_in(client, server)
    for _ in range(8 * 6 - 1):  # a request every 10 minutes for just under 8 hours
        server.clock.advance(minutes=10)
        assert await _status(client, server) == 200
    server.clock.advance(minutes=10)
    assert await _status(client, server) == 303
    assert await _status(client, server, "/staff/session") == 401


async def test_sign_out_ends_only_this_session(server: Staffed) -> None:
    async with staff_client(server) as first, staff_client(server) as second:
        await sign_in(first, server)
        server.clock.advance(seconds=30)
        await sign_in(second, server)
        token = await _page_csrf(first, server)
        async with first.post(
            f"{server.url}/staff/sign-out", data={"csrf_token": token}, allow_redirects=False
        ) as response:
            assert response.status == 303
        assert await _status(first, server) == 303
        assert await _status(second, server) == 200


async def test_sign_out_everywhere_ends_other_sessions(server: Staffed) -> None:
    async with (
        staff_client(server) as first,
        staff_client(server) as second,
        staff_client(server) as other,
    ):
        await sign_in(first, server)
        server.clock.advance(seconds=30)
        await sign_in(second, server)
        await sign_in(other, server, "planner")
        kept = session_cookie(second)
        token = await _page_csrf(first, server)
        async with first.post(
            f"{server.url}/staff/sign-out-everywhere",
            data={"csrf_token": token},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
        assert await _status(first, server) == 303
        assert await _status(second, server) == 303
        assert await _status(other, server) == 200  # another account is untouched
        async with staff_client(server) as replay:
            replay.cookie_jar.update_cookies({"balie_staff": kept or ""})
            assert await _status(replay, server) == 303


async def test_disabled_account_loses_its_session(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    await sign_in(client, server)
    await server.auth.accounts.set_disabled(AccountRef("demo", "demo-specialist"), True, T0)
    assert await _status(client, server) == 303


# --- CSRF ----------------------------------------------------------------------------------


async def test_posts_without_the_right_token_or_origin_are_refused(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    await sign_in(client, server)
    token = await _page_csrf(client, server)
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {}),
        ({"csrf_token": "x" * 43}, {}),
        ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"csrf_token": token}, {"Origin": "null"}),
    ]
    for path in ("/staff/sign-out", "/staff/sign-out-everywhere", "/test/action"):
        for form, headers in cases:
            async with client.post(
                server.url + path, data=form, headers=headers, allow_redirects=False
            ) as response:
                assert response.status == 403, (path, form, headers)
                page = await response.text()
                assert "Dit formulier is verlopen" in page
                assert 'lang="nl"' in page
    assert await _status(client, server) == 200  # nothing was signed out
    async with client.post(f"{server.url}/test/action", data={"csrf_token": token}) as response:
        assert await response.text() == "done"


async def test_sign_in_form_needs_its_token(server: Staffed, client: aiohttp.ClientSession) -> None:
    password, _ = server.creds("specialist")
    await csrf_of(client, f"{server.url}/staff/sign-in")
    form = {"tenant": "demo", "login": "specialist", "password": password}
    async with client.post(f"{server.url}/staff/sign-in", data=form) as response:
        assert response.status == 403
    async with staff_client(server) as cookieless:
        form["csrf_token"] = "y" * 43
        async with cookieless.post(f"{server.url}/staff/sign-in", data=form) as response:
            assert response.status == 403


# --- authorisation -------------------------------------------------------------------------


async def test_a_specialist_cannot_open_a_planner_page(server: Staffed) -> None:
    async with staff_client(server) as specialist, staff_client(server) as planner:
        await sign_in(specialist, server, "specialist")
        await sign_in(planner, server, "planner")
        async with specialist.get(f"{server.url}/test/planner") as response:
            assert response.status == 403
            assert "U heeft hier geen toegang" in await response.text()
        async with specialist.get(
            f"{server.url}/test/planner", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 403
            assert (await response.json())["code"] == "staff-role-required"
        async with planner.get(f"{server.url}/test/planner") as response:
            assert response.status == 200


async def test_staff_of_one_tenant_cannot_open_anothers(server: Staffed) -> None:
    async with staff_client(server) as demo, staff_client(server) as other:
        await sign_in(demo, server, "specialist")
        await sign_in(other, server, "other")
        assert await _status(demo, server, f"/test/tenant/{OTHER_TENANT}") == 403
        assert await _status(demo, server, "/test/tenant/demo") == 200
        assert await _status(other, server, "/test/tenant/demo") == 403
        assert await _status(other, server, f"/test/tenant/{OTHER_TENANT}") == 200
        # the other tenant's planner is no planner of the demo tenant's pages either
        assert await _status(other, server, "/test/planner") == 200
        # the same login name in another tenant is another account
    async with staff_client(server) as fresh:
        response = await password_step(fresh, server, "other", OTHER_PASSWORD, tenant="demo")
        assert response.status == 200


async def test_pages_need_a_session(server: Staffed, client: aiohttp.ClientSession) -> None:
    assert await _status(client, server, "/staff") == 303
    assert await _status(client, server, "/test/planner") == 303
    assert await _status(client, server, "/staff/session") == 401


# --- brute force ---------------------------------------------------------------------------


async def test_lockout_after_repeated_failures_with_backoff(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    password, _ = server.creds("specialist")
    for attempt in range(1, MAX_FAILURES + 1):
        response = await password_step(client, server, "specialist", "wrong")
        assert response.status == (429 if attempt == MAX_FAILURES else 200)
    response = await password_step(client, server, "specialist", password)
    assert response.status == 429  # the right password does not open a locked account
    server.clock.advance(minutes=1, seconds=1)
    assert (await password_step(client, server, "specialist", password)).status == 303
    # wrong codes count too, and the lock doubles
    for _ in range(MAX_FAILURES):
        await code_step(client, server, "000000" if server.code("specialist") != "000000" else "1")
    assert (await password_step(client, server, "specialist", password)).status == 429
    server.clock.advance(minutes=1, seconds=1)
    assert (await password_step(client, server, "specialist", password)).status == 429
    server.clock.advance(minutes=1)
    assert (await password_step(client, server, "specialist", password)).status == 303
    response, _ = await code_step(client, server, server.code("specialist"))
    assert response.status == 303


async def test_sign_in_posts_are_rate_limited(
    server: Staffed, client: aiohttp.ClientSession
) -> None:
    server.auth.limiter = LocalLimiter(burst=2, per_minute=1)
    statuses = [(await password_step(client, server, "nobody", "wrong")).status for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_no_credentials_in_logs(
    server: Staffed, client: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password, secret = server.creds("specialist")
    await password_step(client, server, "specialist", "wrong-" + password)
    codes = [server.code("specialist")]
    await sign_in(client, server)
    token = await _page_csrf(client, server)
    async with client.post(f"{server.url}/test/action", data={"csrf_token": "bad"}):
        pass
    cookie = session_cookie(client)
    assert cookie is not None
    text = logged(caplog)  # the readable lines and the JSON lines
    assert "signed in" in text  # the events are logged, under their names ...
    assert '"event":"staff.sign_in_refused"' in text and '"event":"staff.signed_in"' in text
    assert '"event":"staff.csrf_refused"' in text
    # ... their secrets never, nor in the metrics, which count the events
    for secret_value in (password, secret, *codes, token, cookie):
        assert secret_value not in text
        assert secret_value not in metrics_text(server.app)
    assert 'balie_security_events_total{event="staff.sign_in_refused"}' in metrics_text(server.app)


# --- the account store on PostgreSQL -------------------------------------------------------


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from module_database("postgresql", tmp_path_factory.mktemp("pg"))


async def test_account_store_on_postgresql(postgres: Database, tmp_path: Path) -> None:
    from server.core.secrets import vault_keys

    engine = create_engine(postgres.url)
    try:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        async with writer(engine).begin() as conn:
            await conn.execute(insert(tenants).values(id=tenant, name="PG", created_at=T0))
        store = AccountStore(engine)
        keys = vault_keys(Config(data_dir=tmp_path))
        secret = pyotp.random_base32(32)
        account_id = await store.create(
            tenant_id=tenant,
            login=" Jan ",
            display_name="Jan",
            roles=[Role.PLANNER],
            password_hash=DEMO_HASHER.hash("geheim"),
            keys=keys,
            totp_secret=secret,
            now=T0,
        )
        clock = MovableClock(T0)
        authn = PasswordTotpAuthenticator(store, keys, clock, hasher=DEMO_HASHER)
        result = await authn.check_password(tenant, "JAN", "geheim")
        assert result.account == AccountRef(tenant, account_id)
        ref = AccountRef(tenant, account_id)
        code = pyotp.TOTP(secret).at(T0)
        assert (await authn.check_code(ref, code)).outcome.value == "ok"
        assert (await authn.check_code(ref, code)).outcome.value == "refused"  # replay
        for _ in range(MAX_FAILURES - 1):  # plus the replay: MAX_FAILURES in a row
            await authn.check_password(tenant, "jan", "wrong")
        assert (await authn.check_password(tenant, "jan", "geheim")).outcome.value == "locked"
        with pytest.raises(Exception, match=r"unique|duplicate"):
            await store.create(
                tenant_id=tenant,
                login="jan",
                display_name="Jan 2",
                roles=[],
                password_hash=None,
                keys=keys,
                totp_secret=None,
                now=T0,
            )
    finally:
        await engine.dispose()


async def test_a_totp_secret_the_vault_keys_do_not_open_is_an_operators_alarm(
    server: Staffed, caplog: pytest.LogCaptureFixture
) -> None:
    """After a restore with the wrong BALIE_VAULT_KEYS (or a key dropped too early) nobody
    passes the code step: the log says why, at ERROR, and the person is not locked out for
    the operator's mistake."""
    other_ring = KeyRing.from_config(new_key_config_entry("elsewhere"))
    store = AccountStore(server.app[ENGINE])
    authn = PasswordTotpAuthenticator(store, other_ring, server.clock, hasher=DEMO_HASHER)
    step1 = await authn.check_password(OTHER_TENANT, "other", OTHER_PASSWORD)
    assert step1.account is not None
    with caplog.at_level(logging.INFO):
        for _ in range(MAX_FAILURES + 1):
            result = await authn.check_code(step1.account, server.code("other"))
            assert result.outcome.value == "refused"
    events = [getattr(record, "event", None) for record in caplog.records]
    assert events.count("identity.vault_unreadable") == MAX_FAILURES + 1
    account = await store.get(OTHER_TENANT, step1.account.account_id)
    assert account is not None and account.failed_attempts == 0
    assert OTHER_SECRET not in caplog.text
