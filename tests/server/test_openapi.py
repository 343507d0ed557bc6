"""docs/openapi.yaml is true: Schemathesis fuzzes every operation of a running Balie.

A real Balie runs on a loopback port in a thread of its own (Schemathesis calls it with
blocking ``requests``), with a seeded tenant, two booked appointments, one live hold, and a
room whose tokens name that tenant and purpose. Schemathesis gets past authentication with
real credentials (:class:`Credentials`): the room tokens of that room for ``/api/rooms/…``
(the specialist's for reveal and renew, the resident's elsewhere, with a browser-session
cookie), an appointment's manage token for the manage operations (the second appointment's
for the reschedule, as a cancel may have come first), the staff member's feed token in the
feed's path, and the probe secret (``BALIE_PROBE_SECRET`` is set) for the probe route.
Four in five generated ids in paths, queries and bodies are replaced by real ones (tenant,
purpose, appointment, room, staff member, a free start, the hold: the ``flatmap_*`` hooks
below), the rest stay as generated, so the fuzzer reaches both the handlers' answers and
their refusals. Every POST that carries a well-formed
``Idempotency-Key`` gets a fresh UUID v4 instead; missing and malformed keys stay.

What must hold for every answer: no 5xx, a documented status code, the documented content
type, a body and headers that match the response schema, and 405 with ``Allow`` for a method
the path does not take. The budget is fixed (``MAX_EXAMPLES`` per operation, no Hypothesis
deadline); no test here times anything. Run alone::

    .venv/bin/pytest -q tests/server/test_openapi.py
"""

from __future__ import annotations

import asyncio
import re
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    missing_required_header,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from sqlalchemy import update

from server.booking.appkeys import FEED_TOKENS
from server.call.rooms import issue_room
from server.config import BookingSettings, DatabaseSettings
from server.core.appkeys import KEYS
from server.db.appkeys import ENGINE
from server.db.schema import appointments
from signaling.roles import Role
from tests.server.booking.support import seed
from tests.support import config_for, live_server

SPEC: Final = Path(__file__).parents[2] / "docs" / "openapi.yaml"
ROUTES: Final = Path(__file__).parent / "routes.txt"
#: examples per operation in the fuzzing phase (the coverage phase adds its own edge cases)
MAX_EXAMPLES: Final = 100
#: how often a generated path or query value is replaced by a real one
REAL_VALUES: Final = 0.8
#: keys the spec's pattern allows; such a generated key is replaced by a fresh UUID v4 (a
#: generated one may repeat, or look too regular for the server, by design)
SPEC_KEY: Final = re.compile(r"[A-Za-z0-9._~+/=:-]{16,128}")
CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    unsupported_method,
    missing_required_header,
]
#: room operations only the specialist may call
SPECIALIST_PATHS: Final = ("/verification/reveal", "/verification/renew")
BROWSER_COOKIE: Final = "balie_browser"
#: the running Balie's BALIE_PROBE_SECRET, so the probe route answers more than 404
PROBE_SECRET: Final = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Credentials:
    """What the fuzzer needs to get past authentication, and the values it aims at."""

    url: str
    tenant: str
    purpose: str
    staff: str
    feed_token: str
    appointment: str
    manage_token: str
    #: another booked appointment, for the reschedule (the first may be cancelled by then)
    moved: str
    moved_token: str
    room: str
    resident_token: str
    specialist_token: str
    browser: str
    #: free starts on a day ahead (a hold or a reschedule to one of them succeeds)
    starts: tuple[str, ...]
    #: a live hold of the tenant (booking it succeeds, once)
    hold: str


#: the running server's credentials, for the hooks and the auth provider below (which the
#: schema holds from import on, before the server runs)
_LIVE: dict[str, Credentials] = {}


async def _start(stack: AsyncExitStack, data_dir: Path) -> Credentials:
    config = config_for(
        data_dir,
        database=DatabaseSettings(url="", demo_data=False),
        booking=BookingSettings(caldav_timeout=5),
        probe_secret=PROBE_SECRET,
    )
    live = await stack.enter_async_context(live_server(data_dir, config=config))
    engine = live.app[ENGINE]
    tenant = await seed(engine)
    api = f"{live.url}/api/tenants/{tenant}"
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict[str, object]) -> dict[str, Any]:
            headers = {"Idempotency-Key": str(uuid.uuid4())}
            async with http.post(f"{api}{path}", json=body, headers=headers) as response:
                assert response.status == 201, await response.text()
                answer: dict[str, Any] = await response.json()
                return answer

        async with http.get(f"{api}/purposes/intake/dates") as response:
            day = (await response.json())["dates"][3]
        async with http.get(f"{api}/purposes/intake/times", params={"date": day}) as response:
            starts = tuple(t["start"] for t in (await response.json())["times"])
        held = await post("/holds", {"purpose": "intake", "start": starts[0]})
        booked = await post("/appointments", {"hold_id": held["id"], "version": 1})
        held = await post("/holds", {"purpose": "intake", "start": starts[1]})
        moved = await post("/appointments", {"hold_id": held["id"], "version": 1})
        hold = await post("/holds", {"purpose": "intake", "start": starts[2]})
    # A room of this tenant and purpose whose tokens are valid now (the booking's own are
    # not, until 15 minutes before its start); the appointment moves into it, so the room's
    # appointment endpoint has one to show.
    room = issue_room(
        config,
        live.app[KEYS],
        now=int(live.clock().timestamp()),
        roles=(Role.RESIDENT, Role.SPECIALIST),
        purpose="intake",
        tenant=tenant,
    )
    async with engine.begin() as conn:
        await conn.execute(
            update(appointments).where(appointments.c.id == booked["id"]).values(room_id=room.room)
        )
    return Credentials(
        url=live.url,
        tenant=tenant,
        purpose="intake",
        staff="s1",
        feed_token=live.app[FEED_TOKENS].issue(tenant, "s1"),
        appointment=booked["id"],
        manage_token=booked["manage_token"],
        moved=moved["id"],
        moved_token=moved["manage_token"],
        room=room.room,
        resident_token=room.seat(Role.RESIDENT).token,
        specialist_token=room.seat(Role.SPECIALIST).token,
        browser=secrets.token_urlsafe(16),
        starts=starts[3:],
        hold=hold["id"],
    )


@pytest.fixture(scope="module")
def balie(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Credentials]:
    """A running Balie in a thread of its own, and the credentials the fuzzer uses."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="balie", daemon=True)
    thread.start()
    stack = AsyncExitStack()
    data_dir = tmp_path_factory.mktemp("balie")
    try:
        credentials = asyncio.run_coroutine_threadsafe(_start(stack, data_dir), loop).result(60)
        _LIVE["balie"] = credentials
        yield credentials
    finally:
        _LIVE.clear()
        asyncio.run_coroutine_threadsafe(stack.aclose(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


SCHEMA: Final = schemathesis.openapi.from_path(
    SPEC,
    config=schemathesis.Config.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all"},
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": True},
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": False},
            },
        }
    ),
)


def _real_values(
    location: str, operation: schemathesis.APIOperation[Any, Any, Any, Any]
) -> dict[str, st.SearchStrategy[object]]:
    """The real values of what ``operation`` takes in ``location``."""
    live = _LIVE["balie"]
    known: dict[str, st.SearchStrategy[object]] = {"purpose": st.just(live.purpose)}
    if location == "path":
        known |= {
            "tenant": st.just(live.tenant),
            "staff": st.just(live.staff),
            "token": st.just(live.feed_token),
            "appointment": st.just(
                live.moved if operation.path.endswith("/reschedule") else live.appointment
            ),
            "room_id": st.just(live.room),
        }
    if location == "body":
        return known | {
            "start": st.sampled_from(live.starts),
            "hold_id": st.just(live.hold),
            "version": st.just(1),
        }
    taken = {p.name for p in operation.iter_parameters() if p.location.value == location}
    return {name: value for name, value in known.items() if name in taken}


def _mixed(
    generated: dict[str, object], real: dict[str, st.SearchStrategy[object]]
) -> st.SearchStrategy[dict[str, object]]:
    """Each value real with probability REAL_VALUES, else as generated."""
    names = [name for name in sorted(real) if name in generated]
    if not names:
        return st.just(generated)

    def one(name: str) -> st.SearchStrategy[object]:
        # shrinks towards 0: the real value
        return st.integers(0, 9).flatmap(
            lambda n: real[name] if n < REAL_VALUES * 10 else st.just(generated[name])
        )

    return st.fixed_dictionaries({name: one(name) for name in names}).map(
        lambda chosen: generated | chosen
    )


@SCHEMA.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, object]
) -> st.SearchStrategy[dict[str, object]]:
    assert context.operation is not None
    return _mixed(path_parameters, _real_values("path", context.operation))


@SCHEMA.hook
def flatmap_query(
    context: schemathesis.HookContext, query: dict[str, object]
) -> st.SearchStrategy[dict[str, object]]:
    assert context.operation is not None
    return _mixed(query, _real_values("query", context.operation))


@SCHEMA.hook
def flatmap_body(context: schemathesis.HookContext, body: object) -> st.SearchStrategy[object]:
    assert context.operation is not None
    if not isinstance(body, dict):
        return st.just(body)
    return _mixed(body, _real_values("body", context.operation))


@SCHEMA.auth(refresh_interval=None)
class Tokens:
    """The credential each operation takes: room tokens (and the browser cookie) for the room
    operations, the manage token for an appointment's operations, the probe secret for the
    probe route.

    Schemathesis builds some cases (its coverage phase) when it collects the tests, before
    the server runs, so this names the credential (``Bearer resident``) and
    :func:`with_credentials` puts the real one in just before the call.
    """

    def get(self, case: schemathesis.Case[Any], context: schemathesis.AuthContext) -> str | None:
        path = context.operation.path
        if path.startswith("/api/rooms/"):
            return "specialist" if path.endswith(SPECIALIST_PATHS) else "resident"
        if "/appointments/{appointment}" in path:
            return "manage"
        if path == "/api/probe/rooms":
            return "probe"
        return None

    def set(
        self, case: schemathesis.Case[Any], data: str, context: schemathesis.AuthContext
    ) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
        if data not in ("manage", "probe"):
            case.cookies[BROWSER_COOKIE] = "browser"


def with_credentials(case: schemathesis.Case[Any], live: Credentials) -> None:
    """The real token and cookie for the names :class:`Tokens` put in."""
    tokens = {
        "Bearer resident": live.resident_token,
        "Bearer specialist": live.specialist_token,
        "Bearer manage": (
            live.moved_token if case.operation.path.endswith("/reschedule") else live.manage_token
        ),
        "Bearer probe": PROBE_SECRET,
    }
    token = tokens.get(str(case.headers.get("Authorization")))
    if token is not None:
        case.headers["Authorization"] = f"Bearer {token}"
    if case.cookies.get(BROWSER_COOKIE) == "browser":
        case.cookies[BROWSER_COOKIE] = live.browser


def fresh_idempotency_key(case: schemathesis.Case[Any]) -> None:
    """A fresh random key where the case has a well-formed one; missing and malformed keys
    stay, so their refusals are fuzzed too."""
    key = case.headers.get("Idempotency-Key")
    if isinstance(key, str) and SPEC_KEY.fullmatch(key):
        case.headers["Idempotency-Key"] = str(uuid.uuid4())


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_keeps_to_the_spec(
    case: schemathesis.Case[Any], balie: Credentials
) -> None:
    with_credentials(case, balie)
    fresh_idempotency_key(case)
    case.call_and_validate(base_url=balie.url, checks=CHECKS)


def test_every_api_route_is_in_the_spec_and_nothing_else() -> None:
    """The spec names exactly the JSON API's routes (``routes.txt`` is the router's list,
    kept by ``tests/server/test_routes.py``), plus health, readiness and the icon."""
    documented = {
        (method.upper(), path)
        for path, operations in SCHEMA.raw_schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    routed = {
        (method, path)
        for method, path, *_ in (line.split() for line in ROUTES.read_text().splitlines())
        if method in ("GET", "POST", "PUT", "PATCH", "DELETE")
        and (path.startswith("/api/") or path in ("/healthz", "/readyz", "/favicon.ico"))
    }
    assert sorted(routed - documented) == [], "routes missing from docs/openapi.yaml"
    assert sorted(documented - routed) == [], "documented operations no route answers"
