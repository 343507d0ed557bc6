"""The resident's pages in English, beside Dutch, against a real Balie (SQLite): a resident
who chose English books, manages and gives feedback in English, sees English dates, form
errors and error pages, and no Dutch is left on those pages; without a choice everything
stays Dutch. The helpers and fixtures are those of ``test_resident_pages``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

import aiohttp
import icalendar

from server.core.clock import AMSTERDAM
from tests.english import DUTCH, ENGLISH_DAY, assert_dutch, assert_english, visible_text
from tests.english import choose_english as choose_english_cookie
from tests.server.booking.support import Booking, seed
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

#: names from the seed data, stored in Dutch and shown as stored
SEED_NAMES: Final = ("Gemeente Test", "Wmo intake")
DUTCH_DAY: Final = r"(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag) \d{1,2} [a-z]+"


def switch_returns_to(page: str) -> str:
    return field(page, "terug")


async def choose_english(resident: Resident, back: str) -> None:
    """Press the switch, as the page's form does (our own origin)."""
    status, location = await resident.post(
        "/taal", {"taal": "en", "terug": back}, headers={"Origin": resident.server.url}
    )
    assert (status, location) == (303, back)


def english_cookie(resident: Resident) -> None:
    choose_english_cookie(resident.http, resident.server.url)


def clock(start: str) -> str:
    return datetime.fromisoformat(start).astimezone(AMSTERDAM).strftime("%H:%M")


# --- booking and managing in English --------------------------------------------------------


async def test_a_resident_who_chose_english_books_and_manages_in_english(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    status, page = await resident.get(f"/afspraak/{tenant}")
    assert status == 200
    assert_dutch(page)
    assert switch_returns_to(page) == f"/afspraak/{tenant}"
    await choose_english(resident, f"/afspraak/{tenant}")

    status, page = await resident.get(f"/afspraak/{tenant}")
    assert status == 200
    assert_english(page, leave_out=SEED_NAMES)
    assert "Make an appointment with Gemeente Test" in page
    assert "The call takes about 30 minutes." in page
    assert "Citizen service number (BSN)" in page  # the identity labels follow the language
    assert "Step 1 of 5: choose a subject" in page
    assert "Skip to content" in page and "video calls with the municipality" in page

    status, page = await resident.get(f"/afspraak/{tenant}/kies/intake")
    assert status == 200
    assert_english(page, leave_out=SEED_NAMES)
    assert "<h1>Choose a day</h1>" in page and "Subject: Wmo intake." in page
    assert re.search(rf"Week from {ENGLISH_DAY} to {ENGLISH_DAY}", page)
    assert re.search(rf'class="date-link" href="[^"]+">{ENGLISH_DAY}</a>', page)
    assert "Later week" in page

    _, page = await times_page(resident, tenant)
    assert_english(page, leave_out=SEED_NAMES)
    assert "<h1>Choose a time</h1>" in page and re.search(rf"Which time on {ENGLISH_DAY}\?", page)
    starts = radios(page, "start")
    assert f">{clock(starts[0])}</label>" in page  # no Dutch "uur" after the time
    assert "Choose this time" in page

    status, location = await hold(resident, tenant, page, starts[0])
    assert status == 303
    status, details = await resident.get(location)
    assert status == 200
    assert_english(details, leave_out=SEED_NAMES)
    assert "We keep this time for you for 15 minutes, until" in details
    assert re.search(rf"<dd>{ENGLISH_DAY} at {clock(starts[0])}</dd>", details)
    assert "Email address (optional)" in details and "Confirm appointment" in details

    form = {"key": field(details, "key"), "email": "", "phone": ""}
    status, location = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 303
    status, confirmed = await resident.get(location)
    assert status == 200
    assert_english(confirmed, leave_out=SEED_NAMES)
    assert "<h1>Your appointment is booked</h1>" in confirmed
    assert re.search(
        rf"Gemeente Test expects you on {ENGLISH_DAY} at {clock(starts[0])}\.", confirmed
    )
    assert "Step 5 of 5: done" in confirmed and "Go to the call" in confirmed
    assert "Add the appointment to your calendar</a> (an .ics file)." in confirmed
    # the calendar file speaks English too (the tenant's and purpose's names as stored)
    [ics_path] = links(confirmed, r"/afspraak\.ics$")
    async with resident.http.get(resident.server.url + ics_path) as response:
        assert response.status == 200
        disposition = response.headers["Content-Disposition"]
        event = icalendar.Calendar.from_ical(await response.read()).walk("VEVENT")[0]
    assert disposition == 'attachment; filename="appointment.ics"'
    assert str(event["summary"]) == "Video call Gemeente Test: Wmo intake"
    assert str(event["description"]).startswith("You have a video call with Gemeente Test")

    link = manage_link(confirmed)
    path = urlsplit(link).path
    status, opening = await resident.get(path)
    assert_english(opening, leave_out=SEED_NAMES)
    # manage.js is a module and gets its English from the page
    assert '<script type="module" src="/static/manage.js">' in opening
    assert '"Uw afspraak wordt geopend\\u2026": "Opening your appointment\\u2026"' in opening
    status, location = await open_manage_link(resident, link)
    assert (status, location) == (303, path + "/beheren")
    status, manage = await resident.get(location)
    assert status == 200
    assert_english(manage, leave_out=SEED_NAMES)
    assert "<h1>Your appointment</h1>" in manage
    assert re.search(rf"{ENGLISH_DAY} at \d\d:\d\d to \d\d:\d\d", manage)
    assert "Cancel the appointment" in manage and "Move the appointment to another time" in manage

    status, moving = await resident.get(path + "/verzetten")
    assert status == 200
    assert_english(moving, leave_out=SEED_NAMES)
    assert "Move your appointment: choose a new day" in moving
    assert re.search(rf"Your appointment is now on {ENGLISH_DAY} at", moving)

    status, ask = await resident.get(path + "/afzeggen")
    assert status == 200
    assert_english(ask, leave_out=SEED_NAMES)
    assert "Do you want to cancel this appointment?" in ask and "Yes, cancel the appointment" in ask
    first = await resident.post(path + "/afzeggen", {"key": field(ask, "key")})
    assert first == (303, path + "/beheren")
    status, cancelled = await resident.get(path + "/beheren")
    assert_english(cancelled, leave_out=SEED_NAMES)
    assert "This appointment has been cancelled or moved." in cancelled
    assert "Make a new appointment" in cancelled

    # the JSON API's detail, written for people, follows the choice; its code does not
    api = f"{server.url}/api/tenants/{tenant}/appointments/{path.rsplit('/', 1)[1]}"
    async with resident.http.get(api) as response:
        assert response.status == 401
        body = await response.json()
        assert (body["code"], body["detail"]) == (
            "link-missing",
            "Use the link from your confirmation.",
        )
    async with aiohttp.ClientSession() as without_a_choice:
        async with without_a_choice.get(api) as response:
            assert (await response.json())["detail"] == "Gebruik de link uit uw bevestiging."


async def test_form_errors_are_in_english(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    english_cookie(resident)
    day, page = await times_page(resident, tenant)

    # no time chosen: the page answers the POST, and the switch comes back to the times
    status, answer = await hold(resident, tenant, page, "")
    assert status == 422
    assert_english(answer, leave_out=SEED_NAMES)
    assert "There is a problem" in answer and 'href="#time-0">Choose a time.</a>' in answer
    assert "<title>Error: Choose a time" in answer
    assert switch_returns_to(answer) == day

    # a time someone else took meanwhile
    status, answer = await hold(resident, tenant, page, "2020-01-01T03:00:00+01:00")
    assert status == 409
    assert_english(answer, leave_out=SEED_NAMES)
    assert "Someone else has just chosen this time. Choose another time." in answer

    # bad contact details
    status, location = await hold(resident, tenant, page, radios(page, "start")[0])
    _, details = await resident.get(location)
    form = {"key": field(details, "key"), "email": "geen-adres", "phone": "bel me"}
    status, answer = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 422
    assert_english(answer, leave_out=SEED_NAMES)
    assert "This email address is not right. A good example is: name@example.com" in answer
    assert "Use only digits in a phone number, for example 06 12345678." in answer
    assert switch_returns_to(answer) == f"/afspraak/{tenant}/gegevens"

    # a wrong manage link pasted into the form
    confirmed, _ = await book(resident, tenant)
    path = urlsplit(manage_link(confirmed)).path
    status, answer = await resident.post(path, {"link": "not-a-token"})
    assert status == 403
    assert_english(answer, leave_out=SEED_NAMES)
    assert "This link is not right. Paste the whole link from your confirmation." in answer


async def test_resident_error_pages_are_in_english(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    english_cookie(resident)
    status, page = await resident.get("/afspraak/nobody")
    assert status == 404
    assert_english(page, leave_out=SEED_NAMES)
    assert "Balie does not know this municipality. Check the link." in page
    assert "To the start page" in page and "Error code 404." in page
    assert switch_returns_to(page) == "/afspraak/nobody"

    status, page = await resident.get(f"/afspraak/{tenant}/kies/nothing")
    assert status == 404
    assert_english(page, leave_out=SEED_NAMES)
    assert "This subject does not exist. Choose a subject." in page and "Back to the start" in page

    status, page = await resident.get("/afspraak/a%20b")
    assert status == 404
    assert_english(page, leave_out=SEED_NAMES)
    assert "Check the link or start again." in page

    status, page = await resident.get(f"/afspraak/{tenant}/kies/intake/2026-13-45")
    assert status == 400
    assert_english(page, leave_out=SEED_NAMES)
    assert "This date is not right. Choose a date from the list." in page

    confirmed, _ = await book(resident, tenant)
    path = urlsplit(manage_link(confirmed)).path
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other:
        stranger = Resident(server, other)
        english_cookie(stranger)
        status, page = await stranger.get(path + "/beheren")
        assert status == 401
        assert_english(page, leave_out=SEED_NAMES)
        assert "Open the link from your confirmation to see your appointment." in page
        assert "Enter the link" in page

    # the site's own error page and the start page follow the choice too
    async with resident.http.get(
        server.url + "/bestaat-niet", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 404
        page = await response.text()
    assert_english(page, leave_out=SEED_NAMES)
    assert "This page does not exist" in page and "Error code 404." in page
    status, page = await resident.get("/")
    assert status == 200
    assert_english(page, leave_out=SEED_NAMES)
    assert "<h1>Video calls with the municipality</h1>" in page and "How does it work?" in page


async def test_feedback_in_english(server: Booking, resident: Resident) -> None:
    tenant = await seed(server.engine)
    await book(resident, tenant)
    _, room, token = await room_and_token(server, tenant)
    english_cookie(resident)

    status, page = await resident.get(f"/feedback/{room}")
    assert status == 200
    assert_english(page, leave_out=SEED_NAMES)
    assert "Your opinion of the call" in page

    status, page = await resident.post(f"/feedback/{room}", {"room_token": token})
    assert status == 200
    assert '<html lang="en">' in page
    assert "How satisfied are you with this call?" in page
    assert "1 – Very dissatisfied" in page and "5 – Very satisfied" in page
    assert "citizen service number (BSN)" in page and "At most 1000 characters." in page
    # no switch here: it would lose the form's token
    assert 'name="taal"' not in page
    answer = {"room_token": field(page, "room_token"), "answer": "1"}
    status, bad = await resident.post(f"/feedback/{room}", answer | {"score": "9"})
    assert status == 422
    assert "Choose how satisfied you are: a number from 1 to 5." in bad
    status, bad = await resident.post(
        f"/feedback/{room}", answer | {"score": "3", "comment": "x" * 1001}
    )
    assert status == 422
    assert "Your comment is too long. Use at most 1000 characters." in bad
    for shown in (page, bad):
        # (the feedback form has no switch, so only the words are checked)
        text = f" {visible_text(shown.replace('x' * 1001, ''), leave_out=SEED_NAMES).lower()} "
        assert not [word for word in DUTCH if word in text], text

    good = answer | {"score": "4"}
    assert await resident.post(f"/feedback/{room}", good) == (303, f"/feedback/{room}/bedankt")
    status, thanks = await resident.get(f"/feedback/{room}/bedankt")
    assert_english(thanks, leave_out=SEED_NAMES)
    assert "Thank you for your opinion" in thanks and "You can close this window now." in thanks

    status, page = await resident.post(f"/feedback/{room}", {"room_token": "garbage"})
    assert status == 403
    assert_english(page, leave_out=SEED_NAMES)
    assert "This form only works from the call." in page


# --- Dutch stays the default ------------------------------------------------------------------


async def test_without_a_choice_the_same_pages_stay_dutch(
    server: Booking, resident: Resident
) -> None:
    tenant = await seed(server.engine)
    status, page = await resident.get(f"/afspraak/{tenant}")
    assert_dutch(page)
    assert "Afspraak maken met Gemeente Test" in page and "Burgerservicenummer (BSN)" in page
    status, page = await resident.get(f"/afspraak/{tenant}/kies/intake")
    assert_dutch(page)
    assert re.search(rf"Week van {DUTCH_DAY} tot en met {DUTCH_DAY}", page)
    _, page = await times_page(resident, tenant)
    assert_dutch(page)
    assert "<h1>Kies een tijd</h1>" in page and re.search(r"\d\d:\d\d uur</label>", page)
    status, answer = await hold(resident, tenant, page, "")
    assert status == 422 and "Er is een probleem" in answer and "<title>Fout: Kies" in answer

    confirmed, _ = await book(resident, tenant)
    assert_dutch(confirmed)
    assert "Uw afspraak staat vast" in confirmed and "Stap 5 van 5: klaar" in confirmed
    assert re.search(rf"Gemeente Test verwacht u op {DUTCH_DAY} om \d\d:\d\d uur\.", confirmed)
    link = manage_link(confirmed)
    _, location = await open_manage_link(resident, link)
    status, manage = await resident.get(location)
    assert_dutch(manage)
    assert "<h1>Uw afspraak</h1>" in manage and "Afspraak afzeggen" in manage

    status, page = await resident.get("/afspraak/nobody")
    assert status == 404
    assert_dutch(page)
    assert "Deze gemeente kent Balie niet. Controleer de link." in page
    assert "Foutcode 404." in page

    _, room, token = await room_and_token(server, tenant)
    status, page = await resident.post(f"/feedback/{room}", {"room_token": token})
    assert '<html lang="nl">' in page and "Hoe tevreden bent u over dit gesprek?" in page
    assert "5 – Heel tevreden" in page

    status, page = await resident.get("/")
    assert_dutch(page)
    assert "<h1>Videobellen met de gemeente</h1>" in page
