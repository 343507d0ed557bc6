"""The call page with the keyboard only (Tab, Shift+Tab, Enter, Space, Escape; no clicks):
both join; the specialist opens "Weigeren…" and takes it back (the button, then Escape:
the focus returns to it), then admits from the lobby panel; the resident switches the
microphone and camera off and on again (the buttons name the action, the state line says
what is on), opens the chat, sends a message with a web address, reaches the link with the
keyboard and closes the chat with Escape (focus returns to the Chat button); the specialist
opens the end dialog, cancels it twice (the button, then Escape), ends the call for everyone
and reaches "Naar mijn gesprekken" on the end screen.

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

MESSAGE: Final = "Hallo, kunt u mij horen? Zie https://example.org/uitleg."
#: (button text when on, button text when off, state line id, state when on, state when off)
TOGGLES: Final = {
    "mic-btn": (
        "Microfoon uitzetten",
        "Microfoon aanzetten",
        "mic-state",
        "Uw microfoon staat aan.",
        "Uw microfoon staat uit.",
    ),
    "cam-btn": (
        "Camera uitzetten",
        "Camera aanzetten",
        "cam-state",
        "Uw camera staat aan.",
        "Uw camera staat uit.",
    ),
}


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


async def toggle(page: Page, element_id: str, key: str, off: bool) -> None:
    on_label, off_label, state_id, on_state, off_state = TOGGLES[element_id]
    await assert_focus(page, button(element_id))
    await page.keyboard.press(key)
    # the button names what it will do next; the state line says what is on now
    await expect(page.locator(f"#{element_id}")).to_have_text(on_label if not off else off_label)
    await expect(page.locator(f"#{state_id}")).to_have_text(off_state if off else on_state)
    await expect(page.locator(f"#{element_id}")).to_have_accessible_description(
        off_state if off else on_state
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

        # "Weigeren…" asks first; taking it back returns the focus, with the button or Escape
        await tab_to(s_page, r"^button\|button\|\|Weigeren…")
        await s_page.keyboard.press("Enter")
        confirm = s_page.locator(".waiting-confirm")
        await expect(confirm).to_be_visible()
        await assert_focus(s_page, r"^button\|button\|\|Nee, niet weigeren")
        await s_page.keyboard.press("Enter")
        await expect(confirm).to_be_hidden()
        await assert_focus(s_page, r"^button\|button\|\|Weigeren…")
        await s_page.keyboard.press("Space")
        await expect(confirm).to_be_visible()
        await s_page.keyboard.press("Tab")
        await assert_focus(s_page, r"^button\|button\|\|Ja, weigeren")
        await s_page.keyboard.press("Escape")
        await expect(confirm).to_be_hidden()
        await assert_focus(s_page, r"^button\|button\|\|Weigeren…")
        assert await resident.evaluate_json("window.balie.state.phase") == "lobby"

        # the specialist admits from the lobby panel
        await s_page.keyboard.press("Shift+Tab")
        await s_page.keyboard.press("Shift+Tab")
        await assert_focus(s_page, r"^button\|button\|\|Toelaten")
        await s_page.keyboard.press("Enter")
        await wait_for_phase(resident, "call")

        # microphone: Space; camera: Enter; back with Shift+Tab
        mic: Locator = r_page.locator("#mic-btn")
        await expect(mic).to_have_text("Microfoon uitzetten")
        await tab_to(r_page, button("mic-btn"))
        await toggle(r_page, "mic-btn", "Space", off=True)
        await r_page.keyboard.press("Tab")
        await toggle(r_page, "cam-btn", "Enter", off=True)
        await r_page.keyboard.press("Shift+Tab")
        await toggle(r_page, "mic-btn", "Enter", off=False)
        await r_page.keyboard.press("Tab")
        await toggle(r_page, "cam-btn", "Space", off=False)

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
        # the address is a link, reached with the keyboard (before the message box)
        await r_page.keyboard.press("Shift+Tab")
        await assert_focus(r_page, r"^a\|\|\|https://example\.org/uitleg$")
        link = s_page.locator("#chat-list a")
        await expect(link).to_have_attribute("href", "https://example.org/uitleg")
        await expect(link).to_have_attribute("rel", "noopener noreferrer")
        await expect(link).to_have_attribute("target", "_blank")
        await r_page.keyboard.press("Tab")
        await assert_focus(r_page, r"^textarea\|\|chat-input\|")
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
        # the specialist's way on: back to the desk (a room without an appointment has no
        # outcome to record)
        await assert_focus(s_page, r"^h2\|\|finished-title\|")
        await expect(s_page.locator("#finished-outcome")).to_be_hidden()
        await tab_to(s_page, r"^a\|\|finished-desk-link\|Naar mijn gesprekken")

        specialist.assert_no_page_errors()
        resident.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()
