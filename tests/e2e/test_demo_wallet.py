"""The demo wallet, opened from the call page's identity step, in Chromium against a real
Balie server with its built-in IRMA emulator: once the page has its Yivi session, the button
"Open de demo-wallet in een nieuw tabblad" posts that session's link (never in a URL) to the
wallet in a new tab; "Delen" there lets the resident into the waiting room. With the keyboard
only, and axe at phone and desktop size on the step with the button.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
from typing import Any, Final

import pytest
from playwright.async_api import Browser, expect

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    click_join,
    open_participant,
    tab_to,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

BUTTON: Final = "Open de demo-wallet in een nieuw tabblad"


async def test_the_demo_wallet_opens_with_this_pages_session_and_lets_the_resident_in(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        page = resident.page
        async with page.expect_response(
            lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
        ) as caught:
            await click_join(resident)
        started: Any = await (await caught.value).json()
        link = started["sessionPtr"]["u"]
        assert isinstance(link, str) and link

        # the form carries this attempt's session link in its body, for a new tab
        form = page.locator("#verify-demo-form")
        await expect(form).to_be_visible(timeout=DEADLINE_MS)
        await expect(page.locator("#verify-demo")).to_be_visible()
        await expect(form).to_have_attribute("method", "post")
        await expect(form).to_have_attribute("action", "/irma-emulator/wallet/open")
        await expect(form).to_have_attribute("target", "_blank")
        await expect(page.locator("#verify-demo-session")).to_have_value(link)
        # ...and nowhere in an address
        hrefs = await page.evaluate(
            "() => [...document.querySelectorAll('[href], [action], [src]')].map((el) =>"
            " el.getAttribute('href') || el.getAttribute('action') || el.getAttribute('src'))"
        )
        assert not [h for h in hrefs if link in (h or "")], hrefs
        await page.locator("#yivi-web-form canvas").wait_for(state="visible")
        await accessible_at_both_sizes(page, "identity step with the demo wallet button")

        # keyboard only: to the button, Enter opens the wallet in a new tab
        await page.locator("#verify-title").focus()
        await tab_to(page, rf"^button\|submit\|\|{re.escape(BUTTON)}")
        async with resident.context.expect_page() as opened:
            await page.keyboard.press("Enter")
        wallet = await opened.value
        await expect(wallet.get_by_role("heading", name="Gegevens delen")).to_be_visible(
            timeout=DEADLINE_MS
        )
        assert link not in wallet.url
        await wallet.get_by_role("button", name="Delen").click()
        await expect(wallet.get_by_text("U heeft de gegevens gedeeld")).to_be_visible()
        await wallet.close()

        # back on the call page: verified, in the waiting room; the link is gone from the page
        await wait_for_phase(resident, "lobby")
        await expect(form).to_be_hidden()
        await expect(page.locator("#verify-demo-session")).to_have_value("")
        resident.assert_no_page_errors()
    finally:
        await resident.close()
