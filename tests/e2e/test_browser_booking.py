"""A resident books in Chromium with the keyboard only (Tab, Enter, Space, arrow keys; no
clicks), from the tenant's page to the confirmation, then follows the join link to the call
page. Also: the manage link's token leaves the address bar and reaches the server in a form
body only (manage.js).

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    Participant,
    open_participant,
    tab_to,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

TENANT: Final = "demo"  # the demo data's tenant
EMAIL: Final = "test@example.invalid"


async def test_a_resident_books_with_the_keyboard_only(
    browser: Browser, live_balie: LiveServer
) -> None:
    resident = await open_participant(
        browser, f"{live_balie.url}/afspraak/{TENANT}", name="inwoner"
    )
    page = resident.page
    try:
        await expect(page.get_by_role("heading", level=1)).to_contain_text("Afspraak maken")
        # a purpose
        await tab_to(page, r"^a\|.*Burgerzaken")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een dag")
        # the first date offered
        await tab_to(page, r"^a\|\|\|(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag)")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Kies een tijd")
        # a time: Space selects the first radio, the arrow key moves to the next
        await tab_to(page, r"^input\|radio\|time-0\|")
        await page.keyboard.press("Space")
        chosen = page.locator("input[name=start]:checked")
        await expect(chosen).to_have_id("time-0")
        await page.keyboard.press("ArrowDown")
        # the next time, or (late in the day, one time left) the same one again
        offered = await page.locator("input[name=start]").count()
        await expect(chosen).to_have_id("time-1" if offered > 1 else "time-0")
        await tab_to(page, r"^button\|submit\|.*Deze tijd kiezen")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Bevestig uw afspraak")
        await expect(page.get_by_role("status")).to_contain_text("15 minuten")
        # the optional e-mail address, typed
        await tab_to(page, r"^input\|email\|email\|")
        await page.keyboard.type(EMAIL)
        await tab_to(page, r"^button\|submit\|.*Afspraak bevestigen")
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
        assert "token" not in page.url  # the address bar shows no token
        await expect(page.get_by_role("link", name="Afspraak wijzigen of afzeggen")).to_be_visible()
        await expect(page.get_by_role("link", name="Zet de afspraak in uw agenda")).to_be_visible()
        resident.assert_no_page_errors()

        # the join link leads to the call page, before joining
        await tab_to(page, r"^a\|\|\|Naar het gesprek")
        await page.keyboard.press("Enter")
        await page.wait_for_url(re.compile(r"/call/r_"))
        await wait_for_phase(resident, "prejoin")
        assert "#token=" not in page.url  # call.js took it out of the address bar
    finally:
        await resident.close()


async def test_the_manage_link_opens_the_appointment_without_the_token_in_a_url(
    browser: Browser, live_balie: LiveServer
) -> None:
    resident = await open_participant(
        browser, f"{live_balie.url}/afspraak/{TENANT}", name="inwoner"
    )
    page = resident.page
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    try:
        await book_with_the_mouse(resident)
        manage = page.get_by_role("link", name="Afspraak wijzigen of afzeggen")
        href = await manage.get_attribute("href")
        assert href is not None and "#token=" in href
        token = href.split("#token=")[1]
        # a fresh browser opens the link from an e-mail: only the fragment carries the token
        other = await open_participant(browser, href, name="later")
        try:
            await expect(other.page.get_by_role("heading", level=1)).to_have_text("Uw afspraak")
            assert other.page.url.endswith("/beheren")
            await expect(other.page.get_by_role("link", name="Afspraak afzeggen")).to_be_visible()
            other.assert_no_page_errors()
        finally:
            await other.close()
        assert not [url for url in requested if token in url]
    finally:
        await resident.close()


async def book_with_the_mouse(resident: Participant) -> None:
    page = resident.page
    await page.get_by_role("link", name=re.compile("Burgerzaken")).click()
    await page.locator("a.date-link").first.click()
    await page.locator("input[name=start]").first.check()
    await page.get_by_role("button", name="Deze tijd kiezen").click()
    await page.get_by_role("button", name="Afspraak bevestigen").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uw afspraak staat vast")
