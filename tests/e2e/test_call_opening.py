"""A join link opened before or after its call, in Chromium against a real Balie server.

Early, the page says when the call starts and from when one can enter (with the date when
that is not today), keeps "Deelnemen" off, and opens by itself at that moment: the button
comes on and the status line says so, without moving the focus. After its time, the page
says plainly that the call is over and what to do. A room without an appointment behaves as
before. Checked with axe at phone and desktop size.

The server's clock is the real one: the tests pick starts relative to now. Deadlines only stop
a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from server.booking.join_links import EARLY_JOIN
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.appointments import (
    STAFF,
    add_appointment,
    clock_time,
    dutch_day,
    resident_link,
)
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    accessible_at_both_sizes,
    click_join,
    open_participant,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

#: the call opens this long after the test opens the link: room for the page to load and
#: for the test to see it closed first (only a deadline, nothing is timed)
OPENS_IN: Final = timedelta(seconds=40)


async def camera_ready(participant: Participant) -> None:
    """The device check has finished asking for the camera."""
    await participant.page.wait_for_function(
        "() => document.getElementById('self-video').videoWidth > 0", timeout=DEADLINE_MS
    )


async def test_a_link_opened_two_days_early_says_when_and_keeps_join_off(
    browser: Browser, live_balie: LiveServer
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    appointment = await add_appointment(live_balie, start)
    resident = await open_participant(
        browser, resident_link(live_balie, appointment), name="inwoner"
    )
    try:
        page = resident.page
        opening = page.locator("#opening")
        await expect(opening).to_be_visible()
        await expect(page.locator("#opening-when")).to_have_text(
            f"Uw gesprek is op {dutch_day(start)} om {clock_time(start)}."
        )
        opens = start - EARLY_JOIN
        await expect(page.locator("#opening-from")).to_have_text(
            f"U kunt deelnemen vanaf {dutch_day(opens)} om {clock_time(opens)}."
        )
        await expect(page.locator("#opening-advice")).to_contain_text("Open deze link op die dag")
        # the device check still works meanwhile; "Deelnemen" stays off, and nothing says the
        # link is dead
        await camera_ready(resident)
        await expect(page.get_by_role("status")).to_have_text(
            f"Uw camera en microfoon zijn klaar. U kunt deelnemen vanaf {dutch_day(opens)} "
            f"om {clock_time(opens)}.",
            timeout=DEADLINE_MS,
        )
        await expect(page.get_by_role("button", name="Deelnemen", exact=True)).to_be_disabled()
        await expect(page.get_by_role("alert")).to_have_text("")
        assert await resident.evaluate_json("window.balie.state.opening") == "early"
        await accessible_at_both_sizes(page, "link opened two days early")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_a_link_opened_early_today_opens_by_itself_without_moving_the_focus(
    browser: Browser, live_balie: LiveServer
) -> None:
    start = datetime.now(UTC) + EARLY_JOIN + OPENS_IN
    appointment = await add_appointment(live_balie, start)
    resident = await open_participant(
        browser, resident_link(live_balie, appointment), name="inwoner"
    )
    try:
        page = resident.page
        join = page.get_by_role("button", name="Deelnemen", exact=True)
        await expect(page.locator("#opening-when")).to_contain_text(f"om {clock_time(start)}.")
        await expect(page.locator("#opening-from")).to_contain_text(
            f"U kunt deelnemen vanaf {clock_time(start - EARLY_JOIN)}"
        )
        await camera_ready(resident)
        await expect(join).to_be_disabled()
        # someone busy with the sound test keeps their place
        sound = page.get_by_role("button", name="Geluid testen")
        await sound.focus()

        await expect(join).to_be_enabled(timeout=DEADLINE_MS)
        await expect(page.get_by_role("status")).to_have_text(
            'Het is tijd. U kunt nu deelnemen. Klik op "Deelnemen".'
        )
        await expect(page.locator("#opening-from")).to_have_text("U kunt nu deelnemen.")
        await expect(sound).to_be_focused()
        await accessible_at_both_sizes(page, "link opened early, the call just opened")

        # and the server lets them in: the identity step of the appointment's purpose
        await click_join(resident)
        await expect(page.locator("#verify")).to_be_visible(timeout=DEADLINE_MS)
        await expect(page.get_by_role("alert")).to_have_text("")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


@pytest.mark.parametrize(
    "shown_ago",
    [
        # the link was shown just now, after the appointment's window (its token expires at
        # once): the server still answers within its leeway, and says the call has closed
        timedelta(0),
        # shown long ago: the server refuses the expired token; the page reads its expiry
        timedelta(minutes=10),
    ],
    ids=["closed", "refused"],
)
async def test_a_link_opened_after_its_time_says_the_call_is_over(
    browser: Browser, live_balie: LiveServer, shown_ago: timedelta
) -> None:
    start = datetime.now(UTC) - timedelta(hours=5)
    appointment = await add_appointment(live_balie, start, staff_id=STAFF[1])
    link = resident_link(live_balie, appointment, shown=datetime.now(UTC) - shown_ago)
    resident = await open_participant(browser, link, name="inwoner")
    try:
        page = resident.page
        await wait_for_phase(resident, "finished")
        await expect(page.locator("#finished-text")).to_have_text("Dit gesprek is voorbij.")
        await expect(page.locator("#finished-detail")).to_contain_text(
            "De tijd van deze afspraak is om"
        )
        await expect(page.locator("#finished-questions")).to_contain_text("Bel dan de gemeente")
        await expect(page.get_by_role("link", name="Maak een nieuwe afspraak")).to_have_attribute(
            "href", "/afspraak/demo"
        )
        # nothing to rate, no way back in, no camera switched on
        await expect(page.locator("#feedback-form")).to_be_hidden()
        await expect(page.locator("#rejoin-btn")).to_be_hidden()
        await expect(page.locator("#finished-next")).to_be_hidden()
        assert await page.evaluate("document.getElementById('self-video').srcObject") is None
        await expect(page.get_by_role("alert")).to_have_text("")
        await accessible_at_both_sizes(page, "link opened after its time")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_a_room_without_an_appointment_opens_as_before(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        page = resident.page
        await camera_ready(resident)
        await expect(page.get_by_role("button", name="Deelnemen", exact=True)).to_be_enabled(
            timeout=DEADLINE_MS
        )
        await expect(page.locator("#opening")).to_be_hidden()
        await expect(page.get_by_role("status")).to_have_text(re.compile(r'Klik op "Deelnemen"\.$'))
        await click_join(resident)
        await wait_for_phase(resident, "lobby")
        resident.assert_no_page_errors()
    finally:
        await resident.close()
