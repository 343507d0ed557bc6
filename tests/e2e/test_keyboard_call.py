"""The call page with the keyboard only (Tab, Shift+Tab, Enter, Space, Escape; no clicks):
both join, the specialist admits from the lobby panel, the resident switches the microphone
and camera off and on again (``aria-pressed`` follows), opens the chat, sends a message and
closes the chat with Escape (focus returns to the Chat button); the specialist opens the end
dialog, cancels it twice (the button, then Escape), and ends the call for everyone.

A room without a purpose: no identity step (that is tests/e2e/test_browser_identity.py).
Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
from typing import Final

import pytest
from playwright.async_api import Browser, Locator, Page, expect

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    focused,
    open_participant,
    tab_to,
    wait_for_phase,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

MESSAGE: Final = "Hallo, kunt u mij horen?"


def button(element_id: str) -> str:
    """The focus description (see ``focused``) of the button with this id."""
    return rf"^button\|button\|{element_id}\|"


async def assert_focus(page: Page, pattern: str) -> None:
    now = await focused(page)
    assert re.search(pattern, now), f"focus is on {now!r}, expected {pattern!r}"


async def join_with_the_keyboard(participant: Participant) -> None:
    page = participant.page
    # the button is enabled once the camera check is done; waiting is no click
    await page.wait_for_function(
        "() => !document.getElementById('join-btn').disabled", timeout=DEADLINE_MS
    )
    await tab_to(page, button("join-btn"))
    await page.keyboard.press("Enter")


async def toggle(page: Page, element_id: str, key: str, pressed: bool) -> None:
    await assert_focus(page, button(element_id))
    await page.keyboard.press(key)
    await expect(page.locator(f"#{element_id}")).to_have_attribute(
        "aria-pressed", "true" if pressed else "false"
    )
    await assert_focus(page, button(element_id))  # focus stays on the toggle


async def test_the_call_with_the_keyboard_only(browser: Browser, live_balie: LiveServer) -> None:
    room = live_balie.issue_room()
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    s_page, r_page = specialist.page, resident.page
    try:
        await join_with_the_keyboard(specialist)
        await wait_for_phase(specialist, "call")
        await join_with_the_keyboard(resident)
        await wait_for_phase(resident, "lobby")

        # the specialist admits from the lobby panel
        await tab_to(s_page, r"^button\|button\|\|Toelaten")
        await s_page.keyboard.press("Enter")
        await wait_for_phase(resident, "call")

        # microphone: Space; camera: Enter; back with Shift+Tab
        mic: Locator = r_page.locator("#mic-btn")
        await expect(mic).to_have_attribute("aria-pressed", "false")
        await tab_to(r_page, button("mic-btn"))
        await toggle(r_page, "mic-btn", "Space", pressed=True)
        await r_page.keyboard.press("Tab")
        await toggle(r_page, "cam-btn", "Enter", pressed=True)
        await r_page.keyboard.press("Shift+Tab")
        await toggle(r_page, "mic-btn", "Enter", pressed=False)
        await r_page.keyboard.press("Tab")
        await toggle(r_page, "cam-btn", "Space", pressed=False)

        # the chat: open, type, Enter sends, Escape closes and focus goes back to the button
        chat_btn = r_page.locator("#chat-btn")
        await tab_to(r_page, button("chat-btn"))
        await r_page.keyboard.press("Enter")
        await expect(chat_btn).to_have_attribute("aria-expanded", "true")
        await expect(r_page.locator("#chat-panel")).to_be_visible()
        await assert_focus(r_page, r"^textarea\|\|chat-input\|")
        await r_page.keyboard.type(MESSAGE)
        await r_page.keyboard.press("Enter")
        await expect(r_page.locator("#chat-list")).to_contain_text(MESSAGE)
        await expect(s_page.locator("#chat-list")).to_contain_text(MESSAGE)
        await expect(r_page.locator("#chat-input")).to_have_value("")
        await r_page.keyboard.press("Escape")
        await expect(r_page.locator("#chat-panel")).to_be_hidden()
        await expect(chat_btn).to_have_attribute("aria-expanded", "false")
        await assert_focus(r_page, button("chat-btn"))

        # the end dialog: open, "Nee, terug" has the focus; cancel with Enter, then Escape
        dialog = s_page.locator("#end-dialog")
        await tab_to(s_page, button("end-btn"))
        await s_page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await assert_focus(s_page, button("end-cancel"))
        await s_page.keyboard.press("Enter")
        await expect(dialog).to_be_hidden()
        await assert_focus(s_page, button("end-btn"))
        await s_page.keyboard.press("Space")
        await expect(dialog).to_be_visible()
        await s_page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await assert_focus(s_page, button("end-btn"))
        assert await resident.evaluate_json("window.balie.state.phase") == "call"

        # ...and confirm
        await s_page.keyboard.press("Enter")
        await expect(dialog).to_be_visible()
        await s_page.keyboard.press("Tab")
        await assert_focus(s_page, button("end-confirm"))
        await s_page.keyboard.press("Enter")
        await wait_for_phase(resident, "finished")
        await wait_for_phase(specialist, "finished")
        await assert_focus(r_page, r"^h2\|\|finished-title\|")

        specialist.assert_no_page_errors()
        resident.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()
