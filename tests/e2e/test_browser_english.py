"""The call page in English, in a real Chromium against a real Balie server.

A resident opens the call link (its token in the fragment only), switches the page to
English with the keyboard before joining, and the page comes back in English with the token
still in memory: the resident joins, waits in the lobby, the specialist (Dutch) admits, and
video flows both ways. The token never appears in a request URL or in the switch's form, and
axe finds nothing on the English page. Also: a failing switch says so and keeps the page
usable, and a page without a token switches with the plain form.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

from typing import Final

import pytest
from playwright.async_api import Browser, Page, Request, Route, expect

from server.core.language import COOKIE
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    admit_first_waiting,
    assert_accessible,
    click_join,
    open_participant,
    tab_to,
    video_flows,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

#: the focus description (tests/e2e/test_browser_booking.py) of the switch on a Dutch page
ENGLISH_BUTTON: Final = r"^button\|submit\|\|English$"


async def wait_until_ready_to_join(page: Page) -> None:
    """The camera check is done once the join button is enabled (in either language)."""
    await page.wait_for_function(
        "() => !document.getElementById('join-btn').disabled", timeout=DEADLINE_MS
    )


async def switch_to_english_with_the_keyboard(page: Page) -> None:
    await tab_to(page, ENGLISH_BUTTON)
    async with page.expect_navigation():
        await page.keyboard.press("Enter")


async def test_a_resident_switches_to_english_and_still_joins_the_call(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    specialist_seat = room.seat(Role.SPECIALIST)
    resident_seat = room.seat(Role.RESIDENT)
    specialist = await open_participant(browser, specialist_seat.url, name="medewerker")
    resident = await open_participant(browser, resident_seat.url, name="inwoner")
    page = resident.page
    requests: list[Request] = []
    page.on("request", lambda request: requests.append(request))
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")

        # Dutch first, with the switch at the top; "English" is marked as English
        await expect(page.locator("html")).to_have_attribute("lang", "nl")
        switch = page.get_by_role("button", name="English", exact=True)
        await expect(switch).to_be_visible()
        await expect(switch).to_have_attribute("lang", "en")
        await switch_to_english_with_the_keyboard(page)

        # the same page, now in English, and the token taken out of the address bar again
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("heading", level=1)).to_have_text(
            "Video call with the municipality"
        )
        await expect(page.get_by_role("heading", name="Before you start")).to_be_visible()
        back = page.get_by_role("button", name="Nederlands", exact=True)
        await expect(back).to_have_attribute("lang", "nl")
        assert "#" not in page.url and "token" not in page.url, page.url
        assert {"name": COOKIE, "value": "en"}.items() <= next(
            cookie for cookie in await resident.context.cookies() if cookie["name"] == COOKIE
        ).items()

        await wait_until_ready_to_join(page)
        await expect(page.get_by_role("status")).to_have_text(
            'Your camera and microphone are ready. Click "Join".'
        )
        await assert_accessible(page, "resident, English, before joining")

        # the token survived the reload: joining works
        await page.get_by_role("button", name="Join", exact=True).click()
        await wait_for_phase(resident, "lobby")
        await expect(page.locator("#lobby")).to_contain_text(
            "You are in the waiting room. The officer will let you in soon."
        )
        # switching would reload the page and drop the seat: no switch once joined
        await expect(page.locator("#language-choice")).to_be_hidden()

        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        await video_flows(resident, specialist)
        await expect(page.get_by_role("status")).to_contain_text(
            "You are in a call with the officer", timeout=DEADLINE_MS
        )
        await expect(page.locator("#tiles .tile-role")).to_have_text("Officer")
        await expect(page.get_by_role("button", name="Hang up")).to_be_visible()
        # the specialist's page stays Dutch: the choice belongs to the resident's browser
        await expect(specialist.page.locator("#tiles .tile-role")).to_have_text("Inwoner")
        await assert_accessible(page, "resident, English, in the call")

        # the token went nowhere but the fragment: no URL, not the switch's form
        token = resident_seat.token
        assert not [r.url for r in requests if token in r.url]
        posted = [r for r in requests if r.url.endswith("/taal")]
        assert len(posted) == 1 and posted[0].method == "POST"
        assert sorted((posted[0].post_data or "").split("&")) == [
            "taal=en",
            f"terug=%2Fcall%2F{room.room}",
        ]

        for participant in (resident, specialist):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_a_failed_switch_says_so_and_the_page_still_works(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    page = resident.page

    async def refuse(route: Route) -> None:
        await route.fulfill(status=503, body="")

    try:
        await page.route("**/taal", refuse)
        await wait_until_ready_to_join(page)
        await page.get_by_role("button", name="English", exact=True).click()
        await expect(page.get_by_role("alert")).to_have_text(
            "Het lukte niet om de taal te wisselen. Probeer het opnieuw."
        )
        await expect(page.locator("html")).to_have_attribute("lang", "nl")
        await expect(page.get_by_role("button", name="English", exact=True)).to_be_enabled()
        # no reload happened: the token is still in memory and joining works
        await click_join(resident)
        await wait_for_phase(resident, "lobby")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_without_a_token_the_switch_is_a_plain_form(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    resident: Participant = await open_participant(
        browser, f"{live_balie.url}/call/{room.room}", name="inwoner"
    )
    page = resident.page
    try:
        await expect(page.get_by_role("alert")).to_contain_text("Deze link is niet compleet.")
        async with page.expect_navigation():
            await page.get_by_role("button", name="English", exact=True).click()
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        assert page.url == f"{live_balie.url}/call/{room.room}"
        await expect(page.get_by_role("alert")).to_contain_text("This link is not complete.")
        resident.assert_no_page_errors()
    finally:
        await resident.close()
