"""The resident's booking pages and the feedback form, against a real Balie on a loopback
port (SQLite): each step, bad input, double submits, a slot taken meanwhile, cancel,
reschedule, feedback, and what reaches the logs.

Pages are read as HTML with small regular expressions: the tests follow the links and forms
the page offers, as a browser without JavaScript would.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import pytest
from sqlalchemy import select, update

from server.booking.appkeys import BOOKING
from server.core.appkeys import KEYS
from server.db.schema import appointments, feedback
from server.resident.booking import HOLD_LAPSED
from server.resident.journey import SLOT_TAKEN
from signaling.roles import Role
from signaling.tokens import issue_room_token
from tests.server.booking.support import (
    EMAIL,
    Booking,
    count_appointments,
    seed,
)
from tests.server.resident.support import (
    Resident,
    book,
    field,
    hold,
    links,
    manage_link,
    open_manage_link,
    radios,
    room_and_token,
    times_page,
)

PHONE: Final = "06-12345678"  # the Dutch numbering plan's example mobile number


# --- the journey --------------------------------------------------------------------------


async def test_the_landing_page_lists_purposes_with_duration_and_identity(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    status, page = await resident.get(f"/afspraak/{tenant}")
    assert status == 200
    assert "Gemeente Test" in page and "Wmo intake" in page
    assert "ongeveer 30 minuten" in page
    assert "Burgerservicenummer (BSN)" in page
    assert links(page, rf"^/afspraak/{tenant}/kies/intake$")


async def test_an_unknown_tenant_or_purpose_is_a_dutch_page(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    for path in ("/afspraak/nobody", f"/afspraak/{tenant}/kies/nothing", "/afspraak/a%20b"):
        status, page = await resident.get(path)
        assert status == 404, path
        assert '<html lang="nl">' in page and ("bestaat niet" in page or "kent Balie niet" in page)


async def test_booking_step_by_step_ends_on_the_confirmation(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    status, page = await resident.get(f"/afspraak/{tenant}/kies/intake")
    assert "Week van" in page and "Latere week" in page
    _, page = await times_page(resident, tenant)
    starts = radios(page, "start")
    assert starts and all(datetime.fromisoformat(s).utcoffset() for s in starts)

    status, location = await hold(resident, tenant, page, starts[0])
    assert status == 303
    status, details = await resident.get(location)
    assert "We houden deze tijd 15 minuten voor u vast" in details
    assert "niet verplicht" in details and "alleen om u de bevestiging" in details
    assert await count_appointments(server.engine, tenant) == {"held": 1}

    form = {"key": field(details, "key"), "email": EMAIL, "phone": PHONE}
    status, location = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 303 and location.endswith("/bevestiging")
    status, confirmed = await resident.get(location)
    assert status == 200
    assert "Uw afspraak staat vast" in confirmed
    start = datetime.fromisoformat(starts[0])
    assert re.search(
        r"(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag) \d{1,2} \w+ om "
        + start.strftime("%H:%M"),
        confirmed,
    )
    (join,) = links(confirmed, r"/call/r_")
    assert "#token=" in join and "Naar het gesprek" in confirmed and "15 minuten" in confirmed
    assert links(confirmed, r"/afspraak\.ics$")
    manage = manage_link(confirmed)
    assert manage.split("#")[0] == server.url + location.removesuffix("/bevestiging")
    async with server.engine.connect() as conn:
        row = (
            await conn.execute(select(appointments).where(appointments.c.tenant_id == tenant))
        ).one()
    # the number as E.164, however it was typed
    assert (row.state, row.contact_email, row.contact_phone) == ("booked", EMAIL, "+31612345678")
    # no token, and nothing personal, in any URL the resident's browser asked for
    assert not [u for u in resident.urls if "token" in u or "@" in u or "12345678" in u]

    status, ics = await resident.get(location.replace("/bevestiging", "/afspraak.ics"))
    assert status == 200 and "BEGIN:VCALENDAR" in ics and "METHOD:REQUEST" in ics


async def test_cookies_are_http_only_same_site_and_scoped(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    form = {"key": field(page, "key"), "purpose": "intake", "day": field(page, "day")}
    async with resident.http.post(
        f"{server.url}/afspraak/{tenant}/vasthouden",
        data=form | {"start": radios(page, "start")[0]},
        allow_redirects=False,
    ) as response:
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert f"Path=/afspraak/{tenant}" in cookie and "Max-Age=900" in cookie


async def test_bad_input_gets_a_readable_page_and_changes_nothing(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    # no time chosen
    status, answer = await hold(resident, tenant, page, "")
    assert status == 422 and "Kies een tijd." in answer and 'href="#time-0"' in answer
    # a start that is not a time, or not on offer
    status, answer = await hold(resident, tenant, page, "gisteren")
    assert status == 422
    status, answer = await hold(resident, tenant, page, "2020-01-01T03:00:00+01:00")
    assert status == 409 and SLOT_TAKEN in answer
    # a form without its key
    status, answer = await resident.post(
        f"/afspraak/{tenant}/vasthouden", {"purpose": "intake", "start": radios(page, "start")[0]}
    )
    assert status == 400 and "niet compleet" in answer
    assert await count_appointments(server.engine, tenant) == {}
    # confirming without a hold
    status, answer = await resident.post(f"/afspraak/{tenant}/bevestigen", {"key": "k" * 20})
    assert status == 400 and "We weten niet welke tijd u koos" in answer

    status, location = await hold(resident, tenant, page, radios(page, "start")[0])
    _, details = await resident.get(location)
    form = {"key": field(details, "key"), "email": "geen-adres", "phone": "bel me"}
    status, answer = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 422
    assert "Er is een probleem" in answer and 'role="alert"' in answer
    assert 'href="#email"' in answer and 'href="#phone"' in answer
    assert "Dit e-mailadres klopt niet" in answer and 'aria-invalid="true"' in answer
    assert 'value="geen-adres"' in answer  # kept in the field, so it can be corrected
    assert await count_appointments(server.engine, tenant) == {"held": 1}


async def test_a_double_submit_books_once(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    start = radios(page, "start")[0]
    first = await hold(resident, tenant, page, start)
    again = await hold(resident, tenant, page, start)
    assert first == again == (303, f"/afspraak/{tenant}/gegevens")
    assert await count_appointments(server.engine, tenant) == {"held": 1}

    _, details = await resident.get(first[1])
    form = {"key": field(details, "key"), "email": "", "phone": ""}
    one = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    two = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert one == two and one[0] == 303
    assert await count_appointments(server.engine, tenant) == {"booked": 1}
    # back to the details page after confirming: the booking, not a second form
    assert await resident.get(first[1]) == one


async def test_a_time_taken_meanwhile_offers_the_other_times(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    starts = radios(page, "start")
    # someone else holds the first time while this resident reads the page
    await server.app[BOOKING].hold(tenant, "intake", datetime.fromisoformat(starts[0]))
    status, answer = await hold(resident, tenant, page, starts[0])
    assert status == 409
    assert "Deze tijd is net door iemand anders gekozen. Kies een andere tijd." in answer
    offered = radios(answer, "start")
    assert starts[0] not in offered and offered == starts[1:]
    assert await count_appointments(server.engine, tenant) == {"held": 1}


async def test_a_lapsed_hold_says_so_and_books_nothing(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    _, location = await hold(resident, tenant, page, radios(page, "start")[0])
    _, details = await resident.get(location)
    async with server.engine.begin() as conn:
        await conn.execute(
            update(appointments)
            .where(appointments.c.tenant_id == tenant)
            .values(hold_expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    form = {"key": field(details, "key"), "email": "", "phone": ""}
    status, answer = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 409 and HOLD_LAPSED in answer
    assert radios(answer, "start")  # choose again right there
    assert "booked" not in await count_appointments(server.engine, tenant)


async def test_a_post_from_another_site_is_refused(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    form = {"key": field(page, "key"), "purpose": "intake", "day": field(page, "day")}
    status, answer = await resident.post(
        f"/afspraak/{tenant}/vasthouden",
        form | {"start": radios(page, "start")[0]},
        headers={"Origin": "https://evil.example.invalid"},
    )
    assert status == 403 and "niet van onze website" in answer
    assert await count_appointments(server.engine, tenant) == {}


# --- manage: cancel, reschedule -----------------------------------------------------------


async def test_cancel_through_the_manage_link(
    server: Booking, resident: Resident, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = await seed(server.engine)
    confirmed, _ = await book(resident, tenant)
    link = manage_link(confirmed)
    path = urlsplit(link).path

    # a stranger's browser: the page without a token, then a wrong one
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        stranger = Resident(server, other)
        status, answer = await stranger.get(path + "/beheren")
        assert status == 401 and "Open de link uit uw bevestiging" in answer
        with caplog.at_level(logging.INFO, logger="server.booking.service"):
            status, answer = await stranger.post(path, {"link": "not-a-token"})
        assert status == 403 and "Deze link klopt niet" in answer and 'href="#link"' in answer
        refused = [r for r in caplog.records if getattr(r, "event", "") == "booking.link_refused"]
        assert len(refused) == 1 and "malformed" in refused[0].getMessage()

    status, location = await open_manage_link(resident, link)
    assert (status, location) == (303, path + "/beheren")
    status, page = await resident.get(location)
    assert status == 200 and "Afspraak afzeggen" in page and "Naar het gesprek" in page
    status, ask = await resident.get(path + "/afzeggen")
    assert status == 200 and "Wilt u deze afspraak afzeggen?" in ask
    assert await count_appointments(server.engine, tenant) == {
        "booked": 1
    }  # asking changes nothing
    form = {"key": field(ask, "key")}
    first = await resident.post(path + "/afzeggen", form)
    again = await resident.post(path + "/afzeggen", form)  # a double click replays
    assert first == again == (303, path + "/beheren")
    status, page = await resident.get(path + "/beheren")
    assert status == 200 and "afgezegd" in page and "Naar het gesprek" not in page
    assert await count_appointments(server.engine, tenant) == {"cancelled": 1}
    # a fresh cancel with the old link: it no longer works
    status, answer = await resident.post(path + "/afzeggen", {"key": "x" * 24})
    assert status == 403 and "werkt niet meer" in answer


async def test_reschedule_moves_the_booking_and_retires_the_old_link(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    confirmed, _ = await book(resident, tenant)
    old_link = manage_link(confirmed)
    path = urlsplit(old_link).path
    await open_manage_link(resident, old_link)
    status, page = await resident.get(path + "/verzetten")
    assert status == 200 and "Afspraak verzetten" in page
    day = links(page, r"/verzetten/\d{4}-")[0]
    status, page = await resident.get(day)
    assert status == 200
    new_start = radios(page, "start")[-1]
    form = {"key": field(page, "key"), "day": field(page, "day"), "start": new_start}
    status, location = await resident.post(path + "/verzetten", form)
    assert status == 303 and location.endswith("/bevestiging") and path not in location
    status, moved = await resident.get(location)
    assert status == 200 and "Uw afspraak is verzet" in moved
    new_link = manage_link(moved)
    assert new_link != old_link
    assert await count_appointments(server.engine, tenant) == {"booked": 1, "cancelled": 1}

    # the old link opens a page that says it changed, and can change nothing
    status, location = await open_manage_link(resident, old_link)
    status, page = await resident.get(location)
    assert "afgezegd of verzet" in page and "Afspraak afzeggen" not in page
    status, _ = await resident.get(path + "/verzetten")
    assert status == 403


async def test_a_reschedule_to_a_taken_time_keeps_the_booking(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    confirmed, _ = await book(resident, tenant)
    path = urlsplit(manage_link(confirmed)).path
    await open_manage_link(resident, manage_link(confirmed))
    _, page = await resident.get(
        links((await resident.get(path + "/verzetten"))[1], r"/verzetten/\d")[0]
    )
    start = radios(page, "start")[-1]
    await server.app[BOOKING].hold(tenant, "intake", datetime.fromisoformat(start))
    form = {"key": field(page, "key"), "day": field(page, "day"), "start": start}
    status, answer = await resident.post(path + "/verzetten", form)
    assert status == 409 and SLOT_TAKEN in answer
    assert await count_appointments(server.engine, tenant) == {"booked": 1, "held": 1}


# --- feedback -----------------------------------------------------------------------------


async def test_choosing_another_time_releases_the_first(
    server: Booking, resident: Resident
) -> None:
    """A browser holds one time at a time: going back and choosing another frees the first
    at once, instead of keeping both for a quarter of an hour."""
    tenant = await seed(server.engine)
    _, page = await times_page(resident, tenant)
    first, second = radios(page, "start")[:2]
    assert (await hold(resident, tenant, page, first))[0] == 303
    _, page = await times_page(resident, tenant)  # back to the times: a fresh form key
    assert (await hold(resident, tenant, page, second))[0] == 303
    counts = await count_appointments(server.engine, tenant)
    assert (counts.get("held"), counts.get("released")) == (1, 1)
    # the first time is offered again
    _, page = await times_page(resident, tenant)
    assert first in radios(page, "start")


async def test_feedback_is_stored_once_with_tenant_appointment_and_purpose(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    await book(resident, tenant)
    appointment_id, room, token = await room_and_token(server, tenant)

    status, page = await resident.post(f"/feedback/{room}", {"room_token": token})
    assert status == 200 and "Hoe tevreden bent u over dit gesprek?" in page
    assert radios(page, "score") == ["1", "2", "3", "4", "5"]
    assert "Heel tevreden" in page and token not in resident.urls[-1]

    answer = {"room_token": field(page, "room_token"), "answer": "1"}
    status, bad = await resident.post(f"/feedback/{room}", answer | {"score": "9"})
    assert status == 422 and 'href="#score-1"' in bad
    status, bad = await resident.post(
        f"/feedback/{room}", answer | {"score": "3", "comment": "x" * 1001}
    )
    assert status == 422 and 'href="#comment"' in bad and "te lang" in bad

    good = answer | {"score": "4", "comment": "Duidelijk uitgelegd."}
    assert await resident.post(f"/feedback/{room}", good) == (303, f"/feedback/{room}/bedankt")
    assert await resident.post(f"/feedback/{room}", good) == (303, f"/feedback/{room}/bedankt")
    status, thanks = await resident.get(f"/feedback/{room}/bedankt")
    assert status == 200 and "Bedankt" in thanks
    async with server.engine.connect() as conn:
        rows = (await conn.execute(select(feedback))).all()
    assert [(r.tenant_id, r.appointment_id, r.purpose_key, r.score, r.comment) for r in rows] == [
        (tenant, appointment_id, "intake", 4, "Duidelijk uitgelegd.")
    ]


async def test_feedback_for_a_room_without_an_appointment_counts_once(
    server: Booking, resident: Resident
) -> None:
    """A room made by hand (``balie room create --purpose``) has no appointment: its answer
    is still counted once, however often the form is sent."""
    tenant = await seed(server.engine)
    room = f"r_{uuid.uuid4().hex[:16]}"
    token = issue_room_token(
        server.app[KEYS],
        issuer=server.config.tokens.issuer,
        room=room,
        participant_id="p_resident1",
        role=Role.RESIDENT,
        now=int(time.time()),
        ttl=3600,
        purpose="intake",
        tenant=tenant,
    )
    status, page = await resident.post(f"/feedback/{room}", {"room_token": token})
    assert status == 200
    answer = {"room_token": field(page, "room_token"), "answer": "1", "score": "5"}
    for _ in range(3):
        assert await resident.post(f"/feedback/{room}", answer) == (
            303,
            f"/feedback/{room}/bedankt",
        )
    async with server.engine.connect() as conn:
        rows = (await conn.execute(select(feedback))).all()
    assert [(r.room_id, r.appointment_id, r.score) for r in rows] == [(room, None, 5)]


async def test_feedback_needs_a_resident_token_of_that_room(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    await book(resident, tenant)
    _, room, token = await room_and_token(server, tenant)
    for target, sent in ((room, ""), (room, "garbage"), ("r_other", token)):
        status, page = await resident.post(
            f"/feedback/{target}", {"room_token": sent, "answer": "1", "score": "5"}
        )
        assert status == 403 and "werkt alleen vanuit het gesprek" in page
    async with server.engine.connect() as conn:
        assert (await conn.execute(select(feedback))).all() == []


# --- privacy ------------------------------------------------------------------------------


async def test_no_contact_details_or_tokens_in_logs(
    server: Booking, resident: Resident, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tenant = await seed(server.engine)
    confirmed, _ = await book(resident, tenant, email=EMAIL)
    link = manage_link(confirmed)
    await open_manage_link(resident, link)
    token = urlsplit(link).fragment.removeprefix("token=")
    assert "POST /afspraak/" in caplog.text  # the access log did run
    assert EMAIL not in caplog.text and "example.invalid" not in caplog.text
    assert token not in caplog.text
    # a refused address is not logged either
    _, page = await times_page(resident, tenant)
    _, location = await hold(resident, tenant, page, radios(page, "start")[0])
    _, details = await resident.get(location)
    await resident.post(
        f"/afspraak/{tenant}/bevestigen", {"key": field(details, "key"), "email": "wrong@@x"}
    )
    assert "wrong@@x" not in caplog.text
