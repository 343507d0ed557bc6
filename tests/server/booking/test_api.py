"""The booking JSON API against a real Balie on a loopback port: SQLite, PostgreSQL, and a
real Radicale for the calendar writes.

The server runs on the real clock, so tests book a date a few days ahead (whatever the
``dates`` endpoint offers) and make a hold lapse by moving its expiry in the database
rather than by waiting.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import jwt
import pytest
from sqlalchemy import select, update

from server.booking.appkeys import FEED_TOKENS, LINK_KEYS
from server.booking.links import issue_manage_link
from server.booking.offers import TTL as OFFER_TTL
from server.config import CalDAVCredentials
from server.db.schema import appointments, staff
from server.messages import outbox
from server.messages.model import State, Template
from tests.leaks import logged, metrics_labels, metrics_text
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
from tests.server.calendars.conftest import AUTH, PASSWORD, USER, Radicale, make_calendar
from tests.server.calendars.conftest import start_radicale as start_radicale_server
from tests.server.db.support import create_postgres_database, drop_postgres_database
from tests.support import free_port

# --- a server and a tenant to book in -----------------------------------------------------


def event_of(data: bytes) -> tuple[str, dict[str, str]]:
    """The METHOD and the one VEVENT's properties as text."""
    calendar = icalendar.Calendar.from_ical(data)
    (event,) = calendar.walk("VEVENT")
    return str(calendar["METHOD"]), {name: str(value) for name, value in event.items()}


# --- the flow -----------------------------------------------------------------------------


async def test_the_whole_flow_from_purposes_to_cancel(server: Booking) -> None:
    tenant = await seed(server.engine)
    status, listed = await server.call("GET", server.api(tenant, "/purposes"))
    assert status == 200
    assert listed["tenant"] == {"id": tenant, "name": "Gemeente Test"}
    assert listed["purposes"] == [
        {
            "key": "intake",
            "name": "Wmo intake",
            "duration_minutes": 30,
            "identity": [{"label": "Burgerservicenummer (BSN)", "optional": False}],
        }
    ]

    starts = await free_times(server, tenant)
    first = datetime.fromisoformat(starts[0])
    assert first.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Amsterdam
    booked = await book(server, tenant, starts[0], contact={"email": EMAIL})
    assert booked["state"] == "booked" and booked["start"] == starts[0]
    assert len(booked["reference"]) == 8
    assert booked["join_url"].startswith(f"{server.url}/call/r_")
    assert "#token=" in booked["join_url"]
    assert booked["manage_url"].endswith("#token=" + booked["manage_token"])
    token = booked["manage_token"]

    # the slot is gone from the times on offer
    assert starts[0] not in await free_times(server, tenant)

    status, details = await server.call(
        "GET", server.api(tenant, f"/appointments/{booked['id']}"), token=token
    )
    assert status == 200, details
    assert details["state"] == "booked" and details["reference"] == booked["reference"]
    assert details["contact"] == {"email": EMAIL, "phone": None}

    status, invite = await server.call("GET", server.url + booked["invite_url"], token=token)
    assert status == 200
    method, event = event_of(invite)
    assert method == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert str(event["UID"]) == f"{booked['id']}@balie"
    assert str(event["URL"]).split("#")[0] == booked["join_url"].split("#")[0]

    # reschedule: a new appointment; the old one is cancelled and its invite a CANCEL
    status, moved = await server.call(
        "POST",
        server.api(tenant, f"/appointments/{booked['id']}/reschedule"),
        json={"start": starts[2]},
        key=key(),
        token=token,
    )
    assert status == 201, moved
    assert moved["rescheduled_from"] == booked["id"] and moved["start"] == starts[2]
    assert moved["join_url"].split("#")[0] != booked["join_url"].split("#")[0]  # a new room
    status, old_invite = await server.call("GET", server.url + booked["invite_url"], token=token)
    method, event = event_of(old_invite)
    assert (method, str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCEL", "CANCELLED", 1)
    status, old = await server.call(
        "GET", server.api(tenant, f"/appointments/{booked['id']}"), token=token
    )
    assert (status, old["state"]) == (200, "cancelled")
    assert "join_url" not in old

    new_token = moved["manage_token"]
    status, new_invite = await server.call("GET", server.url + moved["invite_url"], token=new_token)
    method, request_event = event_of(new_invite)
    assert method == "REQUEST" and int(request_event["SEQUENCE"]) == 0

    status, cancelled = await server.call(
        "POST",
        server.api(tenant, f"/appointments/{moved['id']}/cancel"),
        key=key(),
        token=new_token,
    )
    assert (status, cancelled["state"]) == (200, "cancelled")
    status, cancel_invite = await server.call(
        "GET", server.url + moved["invite_url"], token=new_token
    )
    method, cancel_event = event_of(cancel_invite)
    assert method == "CANCEL"
    assert str(cancel_event["UID"]) == str(request_event["UID"])
    assert int(cancel_event["SEQUENCE"]) > int(request_event["SEQUENCE"])
    assert starts[0] in await free_times(server, tenant)
    assert await count_appointments(server.engine, tenant) == {"cancelled": 2}


async def test_the_resident_link_works_from_shortly_before_start_until_after_the_end(
    server: Booking,
) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    booked = await book(server, tenant, starts[0])
    room = booked["join_url"].split("/call/")[1].split("#")[0]
    token = booked["join_url"].split("#token=")[1]
    claims = jwt.decode(token, options={"verify_signature": False})
    start = datetime.fromisoformat(booked["start"])
    end = datetime.fromisoformat(booked["end"])
    assert claims["room"] == room and claims["role"] == "resident"
    assert (claims["purpose"], claims["tenant"]) == ("intake", tenant)
    assert claims["nbf"] == int((start - timedelta(minutes=15)).timestamp())
    assert claims["exp"] == int((end + timedelta(hours=3)).timestamp())
    async with server.engine.connect() as conn:
        stored = (
            await conn.execute(
                select(appointments.c.room_id).where(appointments.c.id == booked["id"])
            )
        ).scalar_one()
    assert stored == room
    # every copy of the link takes the same seat
    _, details = await server.call(
        "GET", server.api(tenant, f"/appointments/{booked['id']}"), token=booked["manage_token"]
    )
    again = jwt.decode(details["join_url"].split("#token=")[1], options={"verify_signature": False})
    assert again["sub"] == claims["sub"]


async def test_the_staff_feed_lists_bookings_and_needs_its_token(
    server: Booking, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    booked = await book(server, tenant, starts[0], contact={"email": EMAIL})
    feed_token = server.app[FEED_TOKENS].issue(tenant, "s1")
    url = server.api(tenant, f"/staff/s1/feed/{feed_token}.ics")
    async with server.http.get(url) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "private, no-store"
        data = await response.read()
    (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["UID"]) == f"{booked['id']}@balie"
    room = booked["join_url"].split("#")[0]
    assert str(event["URL"]) == room  # the specialist's link: the room, no token
    assert EMAIL.encode() not in data and b"token" not in data
    for wrong in (
        server.api(tenant, "/staff/s1/feed/" + "A" * 43 + ".ics"),
        server.api(tenant, f"/staff/s2/feed/{feed_token}.ics"),
        server.api("other", f"/staff/s1/feed/{feed_token}.ics"),
    ):
        async with server.http.get(wrong) as response:
            assert response.status == 404
    assert feed_token not in caplog.text
    assert "/feed/***.ics" in caplog.text  # the access log saw the request, redacted

    await server.call(
        "POST",
        server.api(tenant, f"/appointments/{booked['id']}/cancel"),
        key=key(),
        token=booked["manage_token"],
    )
    async with server.http.get(url) as response:
        assert icalendar.Calendar.from_ical(await response.read()).walk("VEVENT") == []


async def test_explain_says_why_a_start_is_not_offered(server: Booking) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    await book(server, tenant, starts[0])
    url = server.api(tenant, "/slots/explain")
    status, taken = await server.call("GET", url, params={"purpose": "intake", "start": starts[0]})
    assert status == 200 and taken["available"] is False and taken["reasons"] == ["booked"]
    status, free = await server.call("GET", url, params={"purpose": "intake", "start": starts[1]})
    assert (free["available"], free["reasons"]) == (True, [])
    late = datetime.fromisoformat(starts[0]).replace(hour=21).isoformat()
    _, outside = await server.call("GET", url, params={"purpose": "intake", "start": late})
    assert outside["reasons"] == ["outside-hours"]
    status, problem = await server.call("GET", url, params={"purpose": "intake", "start": "soon"})
    assert (status, problem["code"]) == (400, "datetime-malformed")


# --- idempotency --------------------------------------------------------------------------


async def test_retries_with_the_same_key_replay_and_other_bodies_are_refused(
    server: Booking,
) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    hold_key = key()
    body = {"purpose": "intake", "start": starts[0]}
    status, held = await server.call("POST", server.api(tenant, "/holds"), json=body, key=hold_key)
    assert status == 201
    status, again = await server.call("POST", server.api(tenant, "/holds"), json=body, key=hold_key)
    assert (status, again["id"], again["version"]) == (201, held["id"], 1)
    status, other = await server.call(
        "POST", server.api(tenant, "/holds"), json=body | {"start": starts[1]}, key=hold_key
    )
    assert (status, other["code"]) == (409, "idempotency-conflict")

    book_key = key()
    confirm = {"hold_id": held["id"], "version": 1, "contact": {"email": EMAIL}}
    status, booked = await server.call(
        "POST", server.api(tenant, "/appointments"), json=confirm, key=book_key
    )
    assert status == 201
    status, replay = await server.call(
        "POST", server.api(tenant, "/appointments"), json=confirm, key=book_key
    )
    assert status == 201
    for field in ("id", "reference", "version", "manage_token", "state"):
        assert replay[field] == booked[field], field
    # the replay keeps the first room: a retry must not move the resident to another call
    assert replay["join_url"].split("#")[0] == booked["join_url"].split("#")[0]
    status, conflict = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json=confirm | {"contact": {"email": "other@example.invalid"}},
        key=book_key,
    )
    assert (status, conflict["code"]) == (409, "idempotency-conflict")

    cancel_key = key()
    cancel_url = server.api(tenant, f"/appointments/{booked['id']}/cancel")
    token = booked["manage_token"]
    first = await server.call("POST", cancel_url, key=cancel_key, token=token)
    second = await server.call("POST", cancel_url, key=cancel_key, token=token)
    assert first[0] == second[0] == 200 and first[1]["version"] == second[1]["version"]
    # a new key on the cancelled appointment: the link died with the change
    status, dead = await server.call("POST", cancel_url, key=key(), token=token)
    assert (status, dead["code"]) == (403, "link-revoked")
    assert await count_appointments(server.engine, tenant) == {"cancelled": 1}


# --- bad input changes nothing ------------------------------------------------------------


async def test_every_bad_request_gets_a_specific_problem_and_changes_nothing(
    server: Booking,
) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    booked = await book(server, tenant, starts[0])
    token = booked["manage_token"]
    status, held = await server.call(
        "POST",
        server.api(tenant, "/holds"),
        json={"purpose": "intake", "start": starts[1]},
        key=key(),
    )
    assert status == 201
    before = await count_appointments(server.engine, tenant)
    naive = datetime.fromisoformat(starts[2]).replace(tzinfo=None).isoformat()
    misaligned = (datetime.fromisoformat(starts[2]) + timedelta(minutes=7)).isoformat()
    details = f"/appointments/{booked['id']}"
    hold = {"purpose": "intake", "start": starts[2]}
    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("GET", "/purposes/nope/dates", {}, 404, "purpose-not-found"),
        (
            "GET",
            "/purposes/nope/times",
            {"params": {"date": "2030-01-01"}},
            404,
            "purpose-not-found",
        ),
        (
            "GET",
            "/purposes/intake/dates",
            {"params": {"from": "2030-13-01"}},
            400,
            "date-malformed",
        ),
        (
            "GET",
            "/purposes/intake/dates",
            {"params": {"from": "2030-02-01", "to": "2030-01-01"}},
            400,
            "date-range-invalid",
        ),
        ("GET", "/purposes/intake/times", {}, 400, "date-missing"),
        ("GET", "/purposes/intake/times", {"params": {"date": "3 maart"}}, 400, "date-malformed"),
        ("POST", "/holds", {"json": hold}, 400, "idempotency-key-missing"),
        ("POST", "/holds", {"json": hold, "key": "with space"}, 400, "idempotency-key-invalid"),
        (
            "POST",
            "/holds",
            {"json": hold | {"purpose": "nope"}, "key": key()},
            404,
            "purpose-not-found",
        ),
        (
            "POST",
            "/holds",
            {"json": hold | {"start": naive}, "key": key()},
            400,
            "datetime-without-offset",
        ),
        (
            "POST",
            "/holds",
            {"json": hold | {"start": "morgen"}, "key": key()},
            400,
            "datetime-malformed",
        ),
        ("POST", "/holds", {"json": {"start": starts[2]}, "key": key()}, 400, "field-missing"),
        ("POST", "/holds", {"json": hold | {"bsn": "1"}, "key": key()}, 400, "field-unknown"),
        (
            "POST",
            "/holds",
            {"json": hold | {"start": misaligned}, "key": key()},
            422,
            "slot-unavailable",
        ),
        ("POST", "/holds", {"json": hold | {"start": starts[0]}, "key": key()}, 409, "slot-taken"),
        (
            "POST",
            "/holds",
            {"json": hold | {"staff_id": "s9"}, "key": key()},
            422,
            "slot-unavailable",
        ),
        ("POST", "/holds", {"json": ["not", "an", "object"], "key": key()}, 400, "malformed-json"),
        (
            "POST",
            "/appointments",
            {"json": {"hold_id": held["id"], "version": 7}, "key": key()},
            409,
            "stale-version",
        ),
        (
            "POST",
            "/appointments",
            {"json": {"hold_id": held["id"], "version": "1"}, "key": key()},
            400,
            "field-invalid",
        ),
        (
            "POST",
            "/appointments",
            {"json": {"hold_id": str(uuid.uuid4()), "version": 1}, "key": key()},
            404,
            "hold-not-found",
        ),
        (
            "POST",
            "/appointments",
            {"json": {"hold_id": booked["id"], "version": booked["version"]}, "key": key()},
            409,
            "invalid-state",
        ),
        (
            "POST",
            "/appointments",
            {
                "json": {"hold_id": held["id"], "version": 1, "contact": {"email": "test@"}},
                "key": key(),
            },
            422,
            "contact-invalid",
        ),
        (
            "POST",
            "/appointments",
            {
                "json": {"hold_id": held["id"], "version": 1, "contact": {"phone": "call me"}},
                "key": key(),
            },
            422,
            "contact-invalid",
        ),
        ("GET", details, {}, 401, "link-missing"),
        ("GET", details, {"token": "m1.nope.nope.nope"}, 403, "link-invalid"),
        (
            "GET",
            details,
            {"token": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")},
            403,
            "link-invalid",
        ),
        ("GET", f"/appointments/{held['id']}", {"token": token}, 403, "link-invalid"),
        ("GET", "/appointments/not-a-uuid", {"token": token}, 404, "appointment-not-found"),
        ("POST", details + "/cancel", {"token": token}, 400, "idempotency-key-missing"),
        ("POST", details + "/cancel", {"key": key()}, 401, "link-missing"),
        (
            "POST",
            details + "/reschedule",
            {"json": {"start": misaligned}, "key": key(), "token": token},
            422,
            "slot-unavailable",
        ),
        (
            "POST",
            details + "/reschedule",
            {"json": {"start": starts[1]}, "key": key(), "token": token},
            409,
            "slot-taken",
        ),
        (
            "POST",
            details + "/reschedule",
            {"json": {}, "key": key(), "token": token},
            400,
            "field-missing",
        ),
    ]
    for method, path, options, expected_status, code in cases:
        status, problem = await server.call(method, server.api(tenant, path), **options)
        assert (status, problem.get("code")) == (expected_status, code), (method, path, problem)
        assert problem["status"] == expected_status and problem["title"]
    _, stale = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json={"hold_id": held["id"], "version": 7},
        key=key(),
    )
    assert stale["current_version"] == 1
    async with server.http.post(
        server.api(tenant, "/holds"), data="purpose=intake", headers={"Idempotency-Key": key()}
    ) as response:
        assert response.status == 415
    assert await count_appointments(server.engine, tenant) == before


async def test_a_lapsed_hold_cannot_be_booked(server: Booking) -> None:
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    _, held = await server.call(
        "POST",
        server.api(tenant, "/holds"),
        json={"purpose": "intake", "start": starts[0]},
        key=key(),
    )
    # Lapse it by moving its expiry, not by waiting 15 minutes.
    async with server.engine.begin() as conn:
        await conn.execute(
            update(appointments)
            .where(appointments.c.id == held["id"])
            .values(hold_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    status, problem = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json={"hold_id": held["id"], "version": 1},
        key=key(),
    )
    assert (status, problem["code"]) == (409, "hold-expired")
    assert await count_appointments(server.engine, tenant) == {"held": 1}


async def test_manage_links_are_bound_to_their_appointment_tenant_and_time(
    server: Booking,
) -> None:
    tenant, other = await seed(server.engine), await seed(server.engine)
    mine = await book(server, tenant, (await free_times(server, tenant))[0])
    theirs = await book(server, other, (await free_times(server, other))[0])
    # my token on their path, their token on my tenant's path, their id under my tenant
    for path_tenant, appointment, token in (
        (other, theirs["id"], mine["manage_token"]),
        (tenant, mine["id"], theirs["manage_token"]),
        (tenant, theirs["id"], theirs["manage_token"]),
        (tenant, theirs["id"], mine["manage_token"]),
    ):
        for method, suffix, idempotency_key in (
            ("GET", "", None),
            ("GET", "/invite.ics", None),
            ("POST", "/cancel", key()),
        ):
            status, problem = await server.call(
                method,
                server.api(path_tenant, f"/appointments/{appointment}{suffix}"),
                token=token,
                key=idempotency_key,
            )
            assert (status, problem["code"]) == (403, "link-invalid"), (path_tenant, suffix)
    # a genuine link whose appointment has started
    expired = issue_manage_link(
        server.app[LINK_KEYS], tenant, mine["id"], mine["version"], datetime.now(UTC)
    )
    status, problem = await server.call(
        "GET", server.api(tenant, f"/appointments/{mine['id']}"), token=expired
    )
    assert (status, problem["code"]) == (403, "link-expired")
    assert await count_appointments(server.engine, tenant) == {"booked": 1}
    assert await count_appointments(server.engine, other) == {"booked": 1}


async def test_no_personal_data_in_logs_or_urls(
    server: Booking, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await seed(server.engine)
    starts = await free_times(server, tenant)
    booked = await book(server, tenant, starts[0], contact={"email": EMAIL, "phone": PHONE})
    token = booked["manage_token"]
    path = f"/appointments/{booked['id']}"
    await server.call("GET", server.api(tenant, path), token=token)
    await server.call("GET", server.api(tenant, path + "/invite.ics"), token=token)
    status, problem = await server.call(
        "POST",
        server.api(tenant, "/appointments"),
        json={"hold_id": booked["id"], "version": 9, "contact": {"email": "x " + EMAIL}},
        key=key(),
    )
    assert status == 422 and EMAIL not in str(problem)  # refusals do not echo the value
    await server.call(
        "POST",
        server.api(tenant, path + "/reschedule"),
        json={"start": starts[1]},
        key=key(),
        token=token,
    )
    urls = [booked[name] for name in ("join_url", "manage_url", "invite_url")]
    # the log lines, readable and as JSON, and the metrics (which did count the booking)
    metrics = metrics_text(server.app)
    assert 'balie_booking_operations_total{operation="confirm",outcome="ok"} 1.0' in metrics
    for text in (logged(caplog), metrics_labels(server.app), *urls):
        assert EMAIL not in text and "example.invalid" not in text
        assert PHONE not in text and "12345678" not in text  # in no form at all
    assert token not in logged(caplog) and token not in metrics
    assert "POST /api/tenants/" in caplog.text  # the access log did run


async def test_a_booking_survives_a_restart(tmp_path: Path) -> None:
    async with booking_server(tmp_path) as first:
        tenant = await seed(first.engine)
        booked = await book(first, tenant, (await free_times(first, tenant))[0])
    async with booking_server(tmp_path) as second:
        status, details = await second.call(
            "GET",
            second.api(tenant, f"/appointments/{booked['id']}"),
            token=booked["manage_token"],
        )
        assert status == 200, details
        assert (details["state"], details["reference"]) == ("booked", booked["reference"])


async def test_the_flow_on_postgresql(tmp_path: Path) -> None:
    url = await create_postgres_database()
    try:
        async with booking_server(tmp_path, database_url=url) as server:
            tenant = await seed(server.engine)
            starts = await free_times(server, tenant)
            booked = await book(server, tenant, starts[0], contact={"email": EMAIL})
            taken = await server.call(
                "POST",
                server.api(tenant, "/holds"),
                json={"purpose": "intake", "start": starts[0]},
                key=key(),
            )
            assert (taken[0], taken[1]["code"]) == (409, "slot-taken")
            token = booked["manage_token"]
            status, details = await server.call(
                "GET", server.api(tenant, f"/appointments/{booked['id']}"), token=token
            )
            assert (status, details["contact"]["email"]) == (200, EMAIL)
            status, cancelled = await server.call(
                "POST",
                server.api(tenant, f"/appointments/{booked['id']}/cancel"),
                key=key(),
                token=token,
            )
            assert (status, cancelled["state"]) == (200, "cancelled")
            assert starts[0] in await free_times(server, tenant)
    finally:
        await drop_postgres_database(url)


# --- CalDAV ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    server = start_radicale_server(tmp_path_factory.mktemp("radicale"))
    try:
        yield server
    finally:
        server.stop()


async def test_bookings_are_written_to_and_removed_from_the_staff_caldav_calendar(
    tmp_path: Path, radicale: Radicale
) -> None:
    credentials = {"DAV": CalDAVCredentials(USER, PASSWORD)}
    async with booking_server(tmp_path, credentials=credentials) as server:
        link = await make_calendar(server.http, radicale)
        tenant = await seed(server.engine, calendar_source=f"{link.url}#credentials=DAV")
        starts = await free_times(server, tenant)

        # a meeting in the staff member's own calendar takes its time off the offer
        meeting_start = datetime.fromisoformat(starts[1]).astimezone(UTC)
        meeting = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
            "UID:meeting-1\r\nDTSTAMP:20260101T000000Z\r\n"
            f"DTSTART:{meeting_start:%Y%m%dT%H%M%SZ}\r\n"
            f"DTEND:{meeting_start + timedelta(minutes=30):%Y%m%dT%H%M%SZ}\r\n"
            "SUMMARY:Overleg\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
        async with server.http.put(
            link.url + "meeting-1.ics",
            data=meeting,
            headers={"Authorization": AUTH, "Content-Type": "text/calendar"},
        ) as response:
            assert response.status in (200, 201, 204)
        # the node may offer what it offered a moment ago for up to a second
        # (server/booking/offers.py); after that the meeting has taken its time
        await asyncio.sleep(OFFER_TTL)
        assert starts[1] not in await free_times(server, tenant)

        booked = await book(server, tenant, starts[0], contact={"email": EMAIL})
        await server.drain_calendar()
        event_url = f"{link.url}{booked['id']}@balie.ics"
        async with server.http.get(event_url, headers={"Authorization": AUTH}) as response:
            assert response.status == 200
            data = await response.read()
        (event,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
        assert str(event["UID"]) == f"{booked['id']}@balie"
        assert str(event["URL"]) == booked["join_url"].split("#")[0]
        assert EMAIL.encode() not in data and b"token" not in data

        status, _ = await server.call(
            "POST",
            server.api(tenant, f"/appointments/{booked['id']}/cancel"),
            key=key(),
            token=booked["manage_token"],
        )
        assert status == 200
        await server.drain_calendar()
        async with server.http.get(event_url, headers={"Authorization": AUTH}) as response:
            assert response.status == 404


async def test_a_calendar_that_cannot_be_written_does_not_stop_the_booking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # Nothing listens on this port; the staff member's failure choice is "ignore".
    dead = f"http://127.0.0.1:{free_port()}/dav/jan/"
    async with booking_server(tmp_path) as server:
        tenant = await seed(server.engine, calendar_source=dead)
        async with server.engine.begin() as conn:
            await conn.execute(
                update(staff).where(staff.c.tenant_id == tenant).values(calendar_failure="ignore")
            )
        booked = await book(server, tenant, (await free_times(server, tenant))[0])
        await server.drain_calendar()
        assert booked["state"] == "booked"
        # the write waits in the outbox for another try, and the planner sees why
        async with server.engine.connect() as conn:
            (write,) = await outbox.unsent(conn, tenant)
        assert (write.subject_id, write.template, write.message.state) == (
            booked["id"],
            Template.CALENDAR_BOOKED,
            State.PENDING,
        )
        reason = write.message.last_error
        assert reason is not None and reason.startswith("calendar: ")
        assert f"calendar calendar-booked of {booked['id']} (attempt 1): pending" in caplog.text
        assert "/dav/jan" not in caplog.text + reason  # the path may name a person


async def test_one_client_cannot_hold_a_purposes_slots(tmp_path: Path) -> None:
    """The attacker's run: one address held 20 of 40 slots, renewable at will. Now it holds
    at most BALIE_HOLDS_PER_CLIENT (5) at once, and the next is refused with 429."""
    async with booking_server(tmp_path) as server:
        tenant = await seed(server.engine)
        starts = await free_times(server, tenant)
        answers = []
        for start in starts[:8]:
            status, body = await server.call(
                "POST",
                server.api(tenant, "/holds"),
                json={"purpose": "intake", "start": start},
                key=key(),
            )
            answers.append((status, body.get("code")))
        assert answers[:5] == [(201, None)] * 5
        assert answers[5:] == [(429, "too-many-holds")] * 3
        counts = await count_appointments(server.engine, tenant)
        assert counts.get("held") == 5
