"""The person's path from the README, end to end, in Chromium: Balie started exactly as the
README's first command starts it (``.venv/bin/balie serve``, here on a free port with a
fresh ``BALIE_DATA_DIR`` and nothing else of Balie's configured), the two demo links it
prints, and nothing scripted in between.

The resident opens their link, passes the device check, presses "Deelnemen", presses the
demo wallet's button, answers "Delen" in the wallet's new tab by hand, and comes back to the
waiting room; the specialist opens the other link in a second browser, joins and admits;
then video frames are decoded on both sides (a picture, and ``framesDecoded`` growing).

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    admit_first_waiting,
    click_join,
    open_demo_wallet,
    open_participant,
    share_in_demo_wallet,
    video_flows,
    wait_for_phase,
)
from tests.support import balie_serve

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e


async def test_the_readme_journey_from_balie_serve_to_video_on_both_sides(
    browser: Browser, tmp_path: Path
) -> None:
    async with balie_serve(tmp_path / "var", stop=signal.SIGINT) as started:
        resident_url = started.demo_link(Role.RESIDENT)
        assert "#token=" in resident_url, started.printed
        resident = await open_participant(browser, resident_url, name="inwoner")
        specialist = None
        try:
            page = resident.page
            # the device check: the camera picture and the connection's verdict
            await page.wait_for_function(
                "() => document.getElementById('self-video').videoWidth > 0", timeout=DEADLINE_MS
            )
            await page.wait_for_function(
                "() => window.balie.connectionVerdict !== null", timeout=DEADLINE_MS
            )
            await click_join(resident)

            # the identity step: the demo wallet in a new tab, answered by hand
            wallet = await open_demo_wallet(resident)
            await share_in_demo_wallet(resident, wallet)

            # back on the call page: the waiting room
            await wait_for_phase(resident, "lobby")
            await expect(page.locator("#lobby")).to_contain_text("U bent in de wachtkamer.")

            # the specialist, in a browser of their own
            specialist_url = started.demo_link(Role.SPECIALIST)
            specialist = await open_participant(browser, specialist_url, name="medewerker")
            await click_join(specialist)
            await wait_for_phase(specialist, "call")
            await admit_first_waiting(specialist)
            await wait_for_phase(resident, "call")

            await video_flows(resident, specialist)
            for participant in (resident, specialist):
                participant.assert_no_page_errors()
        finally:
            if specialist is not None:
                await specialist.close()
            await resident.close()
