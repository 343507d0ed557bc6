"""The walk-in counter's own pages in Chromium, with the keyboard only and axe (0 violations,
WCAG 2.1 AA tags, phone and desktop) in every state: the counters, the choice of channel and
its error, a full counter offering a booking and a call-back, "bel mij terug" with its
errors and its confirmation, and the desk's walk-in section with a resident waiting, one
being served and a call-back to make. The waiting room and the voice and chat calls are
checked in tests/e2e/test_channels_browser.py, the whole path in test_walkin_browser.py.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from playwright.async_api import Browser, expect

from server.walkin.appkeys import WALKIN
from server.walkin.counters import Counter
from server.walkin.hours import OpeningHours
from signaling.channels import Channel
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    focused,
    open_participant,
    sign_in_staff,
    tab_to,
)
from tests.e2e.channels import issue_channel_room, join_and_show_who
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

ALL_DAY = OpeningHours(weekly=(((time(0), time(23, 59)),),) * 7)
PHONE = "06 12345678"  # the Dutch numbering plan's example mobile number, as the desk shows it


async def test_the_counter_pages_by_keyboard_without_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    url = live_balie.url
    resident = await open_participant(browser, url + "/", name="inwoner")
    page = resident.page
    try:
        # the home page leads to the counter
        await tab_to(page, r"^a\|\|\|Nu praten, zonder afspraak")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/balie/demo")
        await accessible_at_both_sizes(page, "the counters")

        # a question, then the channel with the arrow keys, then to the queue
        await tab_to(page, r"^a\|\|\|Wmo")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/balie/demo/wmo")
        await accessible_at_both_sizes(page, "the choice of channel")
        assert re.search(r"^input\|radio\|kanaal-video\|", await tab_to(page, r"kanaal-video"))
        await page.keyboard.press("ArrowDown")
        assert re.search(r"^input\|radio\|kanaal-voice\|Alleen bellen", await focused(page))
        await expect(page.locator("#kanaal-voice")).to_be_checked()

        # a channel the page did not offer (as a stale or tampered form sends it)
        await page.evaluate("() => { document.getElementById('kanaal-voice').value = 'fax'; }")
        await tab_to(page, r"^button\|submit\|\|Naar de wachtrij")
        await page.keyboard.press("Enter")
        await expect(page.locator("#kanaal-error")).to_contain_text("Kies hoe u wilt praten")
        await accessible_at_both_sizes(page, "the choice of channel, refused")

        await tab_to(page, r"kanaal-")
        await page.keyboard.press("ArrowUp")
        await tab_to(page, r"^button\|submit\|\|Naar de wachtrij")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/call/r_[A-Za-z0-9_-]+$"))
        await expect(page.locator("h1")).to_have_text(re.compile("met de gemeente$"))

        # full: a booking or a call-back instead; the call-back form by keyboard
        counters = live_balie.app[WALKIN].counters
        await counters.save("demo", Counter("wmo", ALL_DAY, max_waiting=0), live_balie.clock())
        await page.goto(f"{url}/balie/demo/wmo")
        await expect(page.get_by_text("Het is nu te druk.")).to_be_visible()
        await expect(page.get_by_role("radio")).to_have_count(0)
        await accessible_at_both_sizes(page, "a full counter")
        await tab_to(page, r"^a\|\|\|Bel mij terug")
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{url}/balie/demo/wmo/terugbellen")
        await accessible_at_both_sizes(page, "bel mij terug")

        await tab_to(page, r"^input\|tel\|telefoon\|")
        await page.keyboard.type("12345")
        await tab_to(page, r"^button\|submit\|\|Bel mij terug")
        await page.keyboard.press("Enter")
        await expect(page.locator("#telefoon-error")).to_be_visible()
        await expect(page.locator("#tijd-error")).to_be_visible()
        await expect(page.locator("#telefoon")).to_have_attribute("aria-invalid", "true")
        await accessible_at_both_sizes(page, "bel mij terug, refused")

        await tab_to(page, r"^input\|tel\|telefoon\|")
        await page.keyboard.press("Control+A")
        await page.keyboard.type(PHONE)
        await tab_to(page, r"^input\|radio\|tijd-0\|")
        await page.keyboard.press("Space")
        await tab_to(page, r"^button\|submit\|\|Bel mij terug")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/terugbellen/[0-9a-f-]{36}$"))
        await expect(page.get_by_role("heading", level=1)).to_have_text("We bellen u terug")
        await expect(page.locator("main")).not_to_contain_text(PHONE)
        await accessible_at_both_sizes(page, "bel mij terug, confirmed")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_the_desk_walkin_section_by_keyboard_without_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    service = live_balie.app[WALKIN]
    now = live_balie.clock()
    await service.counters.save("demo", Counter("wmo", ALL_DAY), now)
    await service.arrive("demo", "wmo", "r_desk-a11y-serving", Channel.CHAT)
    await service.arrive("demo", "bijstand", "r_desk-a11y-waiting", Channel.VOICE)
    served = await service.take_next("demo", "demo-anna")
    assert served is not None and served.room_id == "r_desk-a11y-serving"
    # a window around now, whatever the hour (the offered ones may all be tomorrow's late at
    # night, and the desk lists today's)
    window = (now - timedelta(minutes=10), now + timedelta(minutes=50))
    await service.callbacks.request("demo", "wmo", PHONE, window, [window], now)

    staff = await open_participant(browser, live_balie.url + "/staff", name="medewerker")
    page = staff.page
    try:
        await sign_in_staff(page, live_balie.config, "specialist")
        await page.goto(live_balie.url + "/staff/desk")
        section = page.get_by_role("region", name="Inloopbalie")
        await expect(section).to_contain_text("U helpt nu")
        await expect(section).to_contain_text("Terugbellen")
        await expect(section.get_by_role("link", name=PHONE)).to_be_visible()
        await accessible_at_both_sizes(page, "the desk with the walk-in counter")
        for target in (
            r"^button\|submit\|\|Naar het gesprek over",
            r"^select\|\|onderwerp-",
            r"^textarea\|\|notitie-",
            r"^button\|submit\|\|Terugzetten",
            r"^button\|submit\|\|Gebeld",
            r"^button\|submit\|\|Niet bereikt",
            r"^button\|submit\|next-resident\|Volgende inwoner",
        ):
            await tab_to(page, target)
        # "Volgende inwoner" with the keyboard: into the waiting resident's call
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/call/r_desk-a11y-waiting$"), timeout=DEADLINE_MS)
        staff.assert_no_page_errors()
    finally:
        await staff.close()


async def test_a_long_wait_offers_a_call_back_that_gives_the_place_up_first(
    browser: Browser, live_balie: LiveServer
) -> None:
    service = live_balie.app[WALKIN]
    # 10 minutes a conversation, the longest wait 5: two people ahead make it too long
    counter = Counter("belastingen", ALL_DAY, max_wait=timedelta(minutes=5))
    await service.counters.save("demo", counter, live_balie.clock())
    for ahead in ("r_offer-ahead-1", "r_offer-ahead-2"):
        await service.arrive("demo", "belastingen", ahead, Channel.VIDEO)
    room = issue_channel_room(
        live_balie, Channel.VOICE, walkin=True, purpose="belastingen", tenant="demo"
    )
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    page = resident.page
    try:
        await join_and_show_who(resident, {"irma-demo.gemeente.personalData.bsn": "999999990"})
        await expect(page.locator("#queue-position")).to_have_text(
            "U bent nummer 3 in de wachtrij.", timeout=DEADLINE_MS
        )
        offer = page.locator("#queue-offer")
        await expect(offer).to_be_visible()
        await expect(page.locator("#queue-callback")).to_have_attribute(
            "href", "/balie/demo/belastingen/terugbellen"
        )
        await expect(page.locator("#queue-booking")).to_have_attribute(
            "href", "/afspraak/demo/kies/belastingen"
        )
        await accessible_at_both_sizes(page, "walk-in: a long wait, a call-back offered")

        async with page.expect_response(
            lambda r: (
                r.url.endswith(f"/api/rooms/{room.room}/queue") and r.request.method == "DELETE"
            )
        ) as left:
            await tab_to(page, r"^a\|\|queue-callback\|Laat u terugbellen")
            await page.keyboard.press("Enter")
        assert (await left.value).status == 200
        await page.wait_for_url(f"{live_balie.url}/balie/demo/belastingen/terugbellen")
        ticket = await service.queue.in_room("demo", room.room)
        assert ticket is not None and ticket.state.value == "left"
        resident.assert_no_page_errors()
    finally:
        await resident.close()
