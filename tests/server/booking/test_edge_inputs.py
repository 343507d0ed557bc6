"""The attacker's edge inputs (issue 10) against the JSON API of a real Balie: each is refused
with a 4xx problem that names what is wrong and changes nothing, never a 5xx.

- a body nested a hundred thousand levels deep, which made the JSON parser raise
  ``RecursionError`` past ``json_body``;
- control characters and lone surrogates in any text of a body (PostgreSQL refuses a NUL in
  text with an error that became a 500; SQLite stored it), on both databases;
- a version too large for its column;
- a tenant that does not exist, which a booking answered with 503 "retry later" (its
  idempotency key could not be written for a tenant that is not there);
- idempotency keys that cannot be random.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.booking import wire
from server.booking.appkeys import FEED_TOKENS
from server.call.rooms import issue_room
from server.core.appkeys import KEYS
from server.db.schema import appointments
from signaling.roles import Role
from tests.server.booking.support import (
    EMAIL,
    PHONE,
    Booking,
    book,
    booking_server,
    count_appointments,
    free_times,
    key,
    seed,
)

NUL = "\x00"


@pytest.fixture
async def any_server(tmp_path: Path, database_url: str) -> AsyncIterator[Booking]:
    """A running Balie on SQLite, then on PostgreSQL."""
    async with booking_server(tmp_path, database_url=database_url) as live:
        yield live


async def raw_post(
    server: Booking, url: str, data: str, *, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST ``data`` as it is (no client-side JSON encoding) as application/json."""
    sent = {"Content-Type": "application/json", "Idempotency-Key": key()} | (headers or {})
    async with server.http.post(url, data=data.encode("utf-8", "surrogatepass"), headers=sent) as r:
        return r.status, await r.json(content_type=None)


# --- nesting ------------------------------------------------------------------------------


async def test_a_deeply_nested_body_is_malformed_json_not_a_server_error(server: Booking) -> None:
    tenant = await seed(server.engine)
    room = issue_room(
        server.config, server.app[KEYS], now=int(time.time()), roles=(Role.SPECIALIST,)
    )
    specialist = room.seat(Role.SPECIALIST).token
    reveal = f"{server.url}/api/rooms/{room.room}/verification/reveal"
    deep_list = "[" * 100_000
    deep_object = '{"purpose": ' + "[" * 40 + "]" * 40 + "}"
    for url, body, headers in (
        (server.api(tenant, "/holds"), deep_list, {}),
        (server.api(tenant, "/holds"), deep_object, {}),
        (server.api(tenant, "/appointments"), deep_list, {}),
        (reveal, deep_list, {"Authorization": f"Bearer {specialist}"}),
        (
            reveal,
            '{"attribute": ' + "[" * 40 + "]" * 40 + "}",
            {"Authorization": f"Bearer {specialist}"},
        ),
    ):
        status, problem = await raw_post(server, url, body, headers=headers)
        assert (status, problem["code"]) == (400, "malformed-json"), (url, body[:30])
    assert await count_appointments(server.engine, tenant) == {}


# --- control characters -------------------------------------------------------------------

#: C0 (NUL, ESC, a newline), DEL and C1: none belongs in a key, an address or a number
CONTROLS = (NUL, "\x1b", "\n", "\x7f", "\x85")


async def test_control_characters_in_any_text_are_refused_and_change_nothing(
    any_server: Booking,
) -> None:
    server = any_server
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    booked = await book(server, tenant, starts[0])
    status, held = await server.call(
        "POST",
        server.api(tenant, "/holds"),
        json={"purpose": "intake", "start": starts[1]},
        key=key(),
    )
    assert status == 201, held
    before = await count_appointments(server.engine, tenant)
    hold = {"purpose": "intake", "start": starts[2]}
    confirm = {"hold_id": held["id"], "version": 1}
    reschedule = server.api(tenant, f"/appointments/{booked['id']}/reschedule")
    token = booked["manage_token"]
    for control in CONTROLS:
        cases: list[tuple[str, dict[str, Any], str | None]] = [
            ("/appointments", confirm | {"contact": {"email": f"test{control}@x.invalid"}}, None),
            ("/appointments", confirm | {"contact": {"phone": f"+31 6 0000{control}0000"}}, None),
            ("/appointments", confirm | {"hold_id": held["id"] + control}, None),
            ("/appointments", confirm | {f"hold_id{control}": held["id"]}, None),
            ("/holds", hold | {"purpose": f"intake{control}"}, None),
            ("/holds", hold | {"staff_id": f"s1{control}"}, None),
            ("/holds", hold | {"start": starts[2] + control}, None),
            (reschedule, {"start": f"{control}{starts[3]}"}, token),
        ]
        for path, body, manage in cases:
            url = path if path.startswith("http") else server.api(tenant, path)
            status, problem = await server.call("POST", url, json=body, key=key(), token=manage)
            assert status in (400, 422), (path, body, problem)
            assert control not in str(problem.get("detail", "")) + str(problem.get("title"))
            assert "x.invalid" not in str(problem)  # the value is never echoed
    # a lone surrogate cannot be stored either (no database encodes it)
    lone = '{"hold_id": "%s", "version": 1, "contact": {"email": "\\ud800@x.invalid"}}'
    status, problem = await raw_post(server, server.api(tenant, "/appointments"), lone % held["id"])
    assert (status, problem["code"], problem["field"]) == (400, "field-invalid", "contact.email")

    assert await count_appointments(server.engine, tenant) == before
    async with server.engine.connect() as conn:
        contacts = (
            await conn.execute(
                select(appointments.c.contact_email, appointments.c.contact_phone).where(
                    appointments.c.tenant_id == tenant
                )
            )
        ).all()
    assert {tuple(row) for row in contacts} == {(None, None)}
    # and a clean address still books
    status, done = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json=confirm | {"contact": {"email": EMAIL, "phone": PHONE}},
        key=key(),
    )
    assert (status, done["state"]) == (201, "booked")


# --- numbers ------------------------------------------------------------------------------


async def test_a_version_is_a_number_the_column_holds(server: Booking) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    status, held = await server.call(
        "POST",
        server.api(tenant, "/holds"),
        json={"purpose": "intake", "start": starts[0]},
        key=key(),
    )
    assert status == 201
    for version in (10**30, 2**31, 0, -1, 1.5, True, "1"):
        status, problem = await server.call(
            "POST",
            server.api(tenant, "/appointments"),
            json={"hold_id": held["id"], "version": version},
            key=key(),
        )
        assert (status, problem["code"], problem["field"]) == (400, "field-invalid", "version")
    # JSON knows numbers, not integers: 1.0 is the version 1 (as JSON Schema says)
    status, booked = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json={"hold_id": held["id"], "version": 1.0},
        key=key(),
    )
    assert (status, booked["state"]) == (201, "booked")


# --- unknown tenants ----------------------------------------------------------------------


async def test_an_unknown_tenant_is_not_found_on_every_tenant_route(server: Booking) -> None:
    real = await seed(server.engine)
    booked = await book(server, real, (await free_times(server, real))[0])
    token = booked["manage_token"]
    nobody = "t-nobody"
    appointment = f"/appointments/{booked['id']}"
    start = booked["start"]
    feed_token = server.app[FEED_TOKENS].issue(nobody, "s1")
    cases: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/purposes", {}),
        ("GET", "/purposes/intake/dates", {}),
        ("GET", "/purposes/intake/times", {"params": {"date": start[:10]}}),
        ("GET", "/slots/explain", {"params": {"purpose": "intake", "start": start}}),
        ("POST", "/holds", {"json": {"purpose": "intake", "start": start}, "key": key()}),
        (
            "POST",
            "/appointments",
            {"json": {"hold_id": str(uuid.uuid4()), "version": 1}, "key": key()},
        ),
        ("GET", appointment, {"token": token}),
        ("GET", appointment + "/invite.ics", {"token": token}),
        ("POST", appointment + "/cancel", {"token": token, "key": key()}),
        (
            "POST",
            appointment + "/reschedule",
            {"token": token, "key": key(), "json": {"start": start}},
        ),
        ("GET", f"/staff/s1/feed/{feed_token}.ics", {}),
    ]
    for method, path, options in cases:
        status, problem = await server.call(method, server.api(nobody, path), **options)
        assert (status, problem["code"]) == (404, "tenant-not-found"), (method, path, problem)
    assert await count_appointments(server.engine, real) == {"booked": 1}


# --- idempotency keys ---------------------------------------------------------------------

#: keys that look random to nobody: few different characters, or one piece repeated
PATTERNED_KEYS = (
    "k",
    "k-1",
    "a" * 32,
    "0000000000000000",
    "abcabcabcabcabcabcabc",
    "test-key-test-key-",
    "aaaaabbbbbcccccddddd",  # four different characters
)
#: and keys that are too short, too long, or outside the character set
WEAK_KEYS = (
    *PATTERNED_KEYS,
    "0123456789abcde",  # 15 characters
    "x" * 129,
    "with space 0123456789",
    "{0123456789abcdef}",
)


def test_random_keys_pass_and_patterned_ones_do_not() -> None:
    for _ in range(10_000):
        assert wire.random_enough(str(uuid.uuid4()))
        assert wire.random_enough(secrets.token_urlsafe(12))  # 16 characters
    assert [k for k in PATTERNED_KEYS if wire.random_enough(k)] == []


async def test_idempotency_keys_must_be_random_enough(server: Booking) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    for weak in WEAK_KEYS:
        status, problem = await server.call(
            "POST",
            server.api(tenant, "/holds"),
            json={"purpose": "intake", "start": starts[0]},
            key=weak,
        )
        assert (status, problem["code"]) == (400, "idempotency-key-invalid"), weak
    assert await count_appointments(server.engine, tenant) == {}
    good = (
        str(uuid.uuid4()),
        uuid.uuid4().hex,
        secrets.token_urlsafe(16),
        "01HV5Q4ZK8J3M2N7P9R6T0W1XY",  # a ULID
        "hold:" + str(uuid.uuid4()),
    )
    for start, strong in zip(starts, good, strict=False):
        status, held = await server.call(
            "POST",
            server.api(tenant, "/holds"),
            json={"purpose": "intake", "start": start},
            key=strong,
        )
        assert status == 201, (strong, held)
    assert await count_appointments(server.engine, tenant) == {"held": len(good)}
