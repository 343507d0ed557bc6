"""The specialist desk in English, beside Dutch, against a real Balie server: a signed-in
specialist who chose English sees the desk, its day titles, live state labels (also those
desk.js polls), notices and refusals in English, and no Dutch is left in the page; without
a choice everything stays Dutch. The server, sign-in and appointments are those of
``test_desk``.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from datetime import timedelta
from typing import Final

import aiohttp

from server.booking.appointment import AppointmentState
from server.core.date_words import clock_words
from server.staff.auth import LANDING
from server.staff.desk.state import LiveState, state_label
from tests.english import ENGLISH_DAY, assert_english, choose_english
from tests.server.staff.desk.support import (
    add_appointment,
    desk_csrf,
    desk_states,
    outcome,
    today_start,
    was_recorded,
)
from tests.server.staff.support import Staffed, sign_in, staff_client

#: stored data, shown as stored (in Dutch): the purpose, the staff member and the tenant
DATA_NAMES: Final = ("Bijstand (Participatiewet)", "Wmo: hulp en ondersteuning thuis")


async def _page(
    session: aiohttp.ClientSession, server: Staffed, path: str = "/staff/desk"
) -> tuple[int, str]:
    async with session.get(server.url + path, allow_redirects=False) as response:
        return response.status, await response.text()


def _assert_english(page: str, *names: str) -> None:
    assert_english(page, leave_out=(*DATA_NAMES, *names))


def _who(page: str) -> tuple[str, ...]:
    """The signed-in person's name and the tenant's name, as the page shows them."""
    found = re.search(r'<p class="desk-who">([^<]*)</p>', page)
    assert found is not None
    return tuple(html.unescape(found.group(1)).split(", ", 1))


async def test_the_desk_in_english(server: Staffed, anna: aiohttp.ClientSession) -> None:
    start = today_start(server)
    today = await add_appointment(server, start)
    tomorrow = await add_appointment(server, start + timedelta(days=1))
    await add_appointment(server, start, state=AppointmentState.CANCELLED)
    choose_english(anna, server.url)

    status, page = await _page(anna, server)
    assert status == 200
    _assert_english(page, *_who(page))
    assert "<title>My calls – Balie</title>" in page and "<h1>My calls</h1>" in page
    assert '<span class="brand-sub">staff</span>' in page
    # the switch comes back to the desk
    assert '<input type="hidden" name="terug" value="/staff/desk">' in page
    assert re.search(rf"<h2 [^>]+>Today, {ENGLISH_DAY}</h2>", page)
    assert re.search(rf"<h2 [^>]+>Tomorrow, {ENGLISH_DAY}</h2>", page)
    assert "The list updates itself." in page and ">Refresh the list</a>" in page
    assert "<dt>Reference</dt>" in page and "<dt>Status</dt>" in page
    assert ">Scheduled</span>" in page and ">Cancelled</span>" in page
    clock = re.escape(clock_words(today.start))
    assert re.search(
        rf'Go to the call<span class="visually-hidden"> at {clock}</span></button>', page
    )
    assert re.search(
        rf'Record the outcome<span class="visually-hidden"> of the call at {clock}</span>', page
    )
    for button in ("Completed", "Completed, follow-up needed", "Did not come"):
        assert f">{button}</button>" in page
    assert "You will be signed out soon" in page and "Stay signed in" in page
    assert ">My account</a>" in page and "Sign out" in page

    # desk.js is a module and gets its English from the page
    assert '<script type="module" src="/static/desk.js"' in page
    texts = re.search(r'<script type="application/json" id="balie-texts">(.*?)</script>', page)
    assert texts is not None
    assert json.loads(html.unescape(texts.group(1)))["Er wacht iemand voor {time}."] == (
        "Someone is waiting for the call at {time}."
    )

    # the live states desk.js polls, in English too
    states = await desk_states(server, anna)
    assert states[today.id]["label"] == "Scheduled"
    assert states[tomorrow.id]["label"] == "Scheduled"

    assert was_recorded(await outcome(server, anna, today, "follow_up"))
    status, page = await _page(anna, server, "/staff/desk?vastgelegd=1")
    assert status == 200
    _assert_english(page, *_who(page))
    assert '<p class="notice" role="status">The outcome has been recorded.</p>' in page
    assert ">Completed, follow-up needed</span>" in page
    assert '<input type="hidden" name="terug" value="/staff/desk?vastgelegd=1">' in page
    states = await desk_states(server, anna)
    assert states[today.id]["label"] == "Completed, follow-up needed"


async def test_an_empty_desk_and_an_unlinked_account_in_english(server: Staffed) -> None:
    async with staff_client(server) as session:
        await sign_in(session, server, "specialist")
        choose_english(session, server.url)
        status, page = await _page(session, server)
        assert status == 200
        _assert_english(page, *_who(page))
        assert "You have no calls today or in the next 7 days." in page
    async with staff_client(server) as session:
        await sign_in(session, server, "other")  # a specialist account of no staff member
        choose_english(session, server.url)
        status, page = await _page(session, server)
        assert status == 200
        _assert_english(page, *_who(page))
        assert "Your account is not linked to a staff member in the planning." in page


async def test_refusals_in_english(server: Staffed, anna: aiohttp.ClientSession) -> None:
    start = today_start(server)
    later = await add_appointment(server, start + timedelta(days=2))
    done = await add_appointment(server, start, state=AppointmentState.COMPLETED)
    colleagues = await add_appointment(server, start, staff_id="demo-bram")
    choose_english(anna, server.url)
    csrf = await desk_csrf(server, anna)

    async def post(path: str, form: dict[str, str]) -> tuple[int, str]:
        data = {**form, "csrf_token": csrf}
        async with anna.post(server.url + path, data=data, allow_redirects=False) as response:
            return response.status, await response.text()

    base = "/staff/desk/appointments"
    cases = [
        (
            f"{base}/{later.id}/call",
            {},
            409,
            "This call is not today",
            "You can open a call on the day of the appointment.",
        ),
        (
            f"{base}/{done.id}/call",
            {},
            409,
            "This call can no longer be opened",
            "This appointment is closed, cancelled or has no call.",
        ),
        (
            f"{base}/{later.id}/outcome",
            {"outcome": "gezellig"},
            400,
            "Choose an outcome",
            "Choose Completed, Follow-up needed or Did not come.",
        ),
        (
            f"{base}/{later.id}/outcome",
            {"outcome": "no_show"},
            409,
            "This call has not started yet",
            "You can record the outcome once the time of the appointment has come.",
        ),
        (
            f"{base}/{uuid.uuid4()}/outcome",
            {"outcome": "no_show"},
            404,
            "This appointment does not exist",
            "We cannot find this appointment at your municipality. Go back to the desk.",
        ),
        (
            f"{base}/{colleagues.id}/outcome",
            {"outcome": "no_show"},
            403,
            "You do not have access here",
            "This appointment belongs to another staff member. Only that staff member or a "
            "planner can open the call or record the outcome.",
        ),
    ]
    for path, form, status, title, advice in cases:
        answered, page = await post(path, form)
        assert answered == status, path
        assert '<html lang="en">' in page
        assert f"<h1>{title}</h1>" in page and f"<p>{html.escape(advice)}</p>" in page
        # the switch and "Continue" go back (to the desk; not one's own: the landing page),
        # not to the POST's address
        back = LANDING if status == 403 else "/staff/desk"
        assert f'<input type="hidden" name="terug" value="{back}">' in page
        assert f'<a href="{back}">Continue</a>' in page


async def test_without_a_choice_the_desk_stays_dutch(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    start = today_start(server)
    await add_appointment(server, start)
    status, page = await _page(anna, server)
    assert status == 200
    assert '<html lang="nl">' in page
    assert 'name="taal" value="en" lang="en">English' in page
    assert "<h1>Mijn gesprekken</h1>" in page and ">Gepland</span>" in page
    assert re.search(r"<h2 [^>]+>Vandaag, [a-z]+dag \d{1,2} [a-z]+</h2>", page)
    assert "Naar het gesprek" in page and '"balie-texts">{}</script>' in page


def test_state_labels_are_whole_translated_texts() -> None:
    english = {
        "Wacht in de wachtkamer, identiteit gecontroleerd": "In the waiting room, identity checked",
        "Niet gekomen, vervolg nodig": "Did not come, follow-up needed",
    }

    def gettext(message: str) -> str:
        return english.get(message, message)

    assert state_label(LiveState.WAITING, verified=True, gettext=gettext) == (
        "In the waiting room, identity checked"
    )
    assert state_label(LiveState.NO_SHOW, follow_up=True, gettext=gettext) == (
        "Did not come, follow-up needed"
    )
    assert state_label(LiveState.NO_SHOW, follow_up=True) == "Niet gekomen, vervolg nodig"
