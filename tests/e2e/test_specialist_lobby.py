"""The specialist's lobby panel in Chromium against a real Balie server: who waits, for which
appointment (its number and subject) and for how long ("Wacht 3 minuten.", from the
server's ``since``, kept current every minute), and "Weigeren…" apart from "Toelaten":
its own row after a gap, quieter than the main action, and only after a second question.
axe checks the panel at phone and desktop size, with and without the question.

The hub's clock runs 175 seconds behind, so the resident "arrived" almost three minutes ago
and the panel's count goes from 2 to 3 minutes within a few seconds of real time. Deadlines
only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
import time
from typing import Final

import pytest
from playwright.async_api import Browser, expect

from server.call.appkeys import HUB
from tests.e2e import browser as e2e_browser
from tests.e2e.appointments import (
    PURPOSE_NAME,
    add_appointment,
    due_now,
    join_and_show_identity,
    resident_link,
    specialist_link,
)
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    click_join,
    open_participant,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

#: how far the hub's clock is behind: the resident's ``since`` is this long ago
ARRIVED_AGO_S: Final = 175


def named(action: str) -> re.Pattern[str]:
    """A lobby button's accessible name: the action, then (visually hidden) whom it is for."""
    return re.compile(rf"^{re.escape(action)}\W+Inwoner 1$")


async def test_the_lobby_shows_the_appointment_and_the_wait_and_asks_before_denying(
    browser: Browser, live_balie: LiveServer
) -> None:
    live_balie.app[HUB].clock = lambda: time.time() - ARRIVED_AGO_S
    appointment = await add_appointment(live_balie, due_now())
    specialist = await open_participant(
        browser, specialist_link(live_balie, appointment), name="medewerker"
    )
    resident = await open_participant(
        browser, resident_link(live_balie, appointment), name="inwoner"
    )
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        await join_and_show_identity(resident)

        page = specialist.page
        item = page.locator("#lobby-list .waiting")
        await expect(item).to_have_count(1, timeout=DEADLINE_MS)
        await expect(item.locator(".waiting-name")).to_have_text("Inwoner 1")
        await expect(item.locator(".waiting-about")).to_have_text(
            f"Afspraaknummer {appointment.reference} · {PURPOSE_NAME}"
        )
        await expect(item.locator(".waiting-state")).to_have_text("Wacht 2 minuten.")
        # kept current: the minute passes without any new message from the server
        await expect(item.locator(".waiting-state")).to_have_text(
            "Wacht 3 minuten.", timeout=DEADLINE_MS
        )

        # "Toelaten" first and loudest; "Weigeren…" after it, on its own row, quieter
        admit = item.get_by_role("button", name=named("Toelaten"))
        deny = item.get_by_role("button", name=named("Weigeren…"))
        shown = await item.locator("button:visible > span:first-child").all_text_contents()
        assert shown == ["Toelaten", "Laten wachten", "Weigeren…"], shown
        admit_box, deny_box = await admit.bounding_box(), await deny.bounding_box()
        assert admit_box is not None and deny_box is not None
        assert deny_box["y"] >= admit_box["y"] + admit_box["height"] + 16, (admit_box, deny_box)
        colours = await deny.evaluate(
            "(el) => { const s = getComputedStyle(el); return [s.backgroundColor, s.color]; }"
        )
        assert colours[0] == "rgb(255, 255, 255)", colours  # not a filled red button
        await accessible_at_both_sizes(page, "specialist, the lobby with the appointment")

        # a slip of the finger asks first, and "Nee" keeps the resident waiting
        await deny.click()
        question = item.locator(".waiting-confirm")
        await expect(question).to_be_visible()
        await expect(question).to_contain_text("Wilt u Inwoner 1 echt weigeren?")
        await expect(item.get_by_role("button", name=named("Nee, niet weigeren"))).to_be_focused()
        await accessible_at_both_sizes(page, "specialist, the question before denying")
        await item.get_by_role("button", name=named("Nee, niet weigeren")).click()
        await expect(question).to_be_hidden()
        await expect(deny).to_be_focused()
        assert await resident.evaluate_json("window.balie.state.phase") == "lobby"

        # asked and answered: the resident is refused, with the note
        await item.get_by_label("Bericht aan Inwoner 1").fill(
            "U heeft een afspraak op een andere dag."
        )
        await deny.click()
        await item.get_by_role("button", name=named("Ja, weigeren")).click()
        await wait_for_phase(resident, "finished")
        await expect(resident.page.locator("#finished-text")).to_have_text(
            "De medewerker heeft u niet toegelaten."
        )
        await expect(resident.page.locator("#finished-detail")).to_contain_text(
            "U heeft een afspraak op een andere dag."
        )
        await expect(page.locator("#lobby-empty")).to_be_visible()
        for participant in (specialist, resident):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()
