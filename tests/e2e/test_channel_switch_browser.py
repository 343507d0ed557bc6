"""A specialist switches an ongoing chat to video with the resident's consent, in a real
Chromium against a real Balie server (docs/signaling.md, "Switching channel").

- **Yes**: the specialist presses "Overschakelen naar video"; the resident's page asks in an
  alert dialog that has the focus; the resident says yes with the keyboard; both pages ask
  for camera and microphone, make the peer connection a chat never had, and video frames
  are decoded and audio packets received on both sides. The page is a video call now, and
  the chat stays.
- **No**: the resident presses Escape; the specialist hears that the resident would rather
  keep chatting, and neither page ever asked for a device or made a peer connection (the
  media probe of tests/e2e/channels.py).
- axe finds nothing on the dialog, on a phone and on a desktop.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect

from signaling.channels import Channel
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    focused,
    wait_for_video_flowing,
)
from tests.e2e.channels import (
    into_the_call,
    issue_channel_room,
    media_probe,
    open_both,
    rtp_by_peer,
    wait_for_audio_received,
    watch_status,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

QUESTION = "De medewerker wil overschakelen naar video. Is dat goed?"


async def test_a_chat_switches_to_video_when_the_resident_says_yes(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.CHAT)
    specialist, resident = await open_both(browser, room)
    s_page, r_page = specialist.page, resident.page
    try:
        await into_the_call(specialist, resident)
        # a chat offers both upgrades; the resident is offered none
        await expect(s_page.get_by_role("button", name="Overschakelen naar bellen")).to_be_visible()
        await expect(r_page.locator("#switch-video-btn")).to_be_hidden()
        await expect(r_page.locator("#chat-input")).to_be_focused()
        await watch_status(r_page)
        await watch_status(s_page)

        await s_page.get_by_role("button", name="Overschakelen naar video").click()
        dialog = r_page.get_by_role("alertdialog", name=QUESTION)
        await expect(dialog).to_be_visible(timeout=DEADLINE_MS)
        # the focus is in the dialog, on the answer that changes nothing
        assert await focused(r_page) == "button|button|switch-no|Nee"
        await accessible_at_both_sizes(r_page, "switch: the resident is asked")

        await r_page.keyboard.press("Shift+Tab")
        assert await focused(r_page) == "button|button|switch-yes|Ja"
        await r_page.keyboard.press("Enter")
        await expect(dialog).to_be_hidden()
        # the focus went back to where it was
        await expect(r_page.locator("#chat-input")).to_be_focused()

        for participant in (specialist, resident):
            page = participant.page
            await wait_for_video_flowing(participant, peers=1)
            await wait_for_audio_received(participant)
            await expect(page.locator("h1")).to_have_text("Videogesprek met de gemeente")
            await expect(page.locator("body")).to_have_attribute("data-channel", "video")
            await expect(page.locator("#cam-btn")).to_be_visible()
            await expect(page.locator("#self-video")).to_be_visible()
            # the chat stays, with its button now
            await expect(page.locator("#chat-panel")).to_be_visible()
            await expect(page.locator("#chat-btn")).to_be_visible()
            await expect(page.locator("#switch-video-btn")).to_be_hidden()
            await expect(page.locator("#switch-voice-btn")).to_be_hidden()
            state = await participant.evaluate_json("window.balie.state")
            assert isinstance(state, dict)
            assert (state["channel"], state["audio"], state["video"]) == ("video", True, True)
            probe = await media_probe(participant)
            assert probe.connections == 1, probe
            assert probe.constraints and isinstance(probe.constraints[0], dict), probe
            assert probe.constraints[0].get("video"), probe.constraints
            texts = await participant.evaluate_json("window.__statusTexts")
            assert isinstance(texts, list)
            assert "Het gesprek gaat nu verder met video." in texts, texts
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_no_keeps_the_chat_and_asks_for_no_device(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.CHAT)
    specialist, resident = await open_both(browser, room)
    s_page, r_page = specialist.page, resident.page
    try:
        await into_the_call(specialist, resident)
        await s_page.get_by_role("button", name="Overschakelen naar video").click()
        await expect(s_page.get_by_role("status")).to_have_text(
            "We vragen de inwoner of dat goed is."
        )
        dialog = r_page.get_by_role("alertdialog", name=QUESTION)
        await expect(dialog).to_be_visible(timeout=DEADLINE_MS)
        await r_page.keyboard.press("Escape")  # means no
        await expect(dialog).to_be_hidden()
        await expect(r_page.locator("#chat-input")).to_be_focused()
        await expect(s_page.get_by_role("status")).to_have_text(
            "De inwoner wil liever blijven chatten.", timeout=DEADLINE_MS
        )
        await expect(r_page.get_by_role("status")).to_have_text("U blijft chatten.")

        for participant in (specialist, resident):
            page = participant.page
            await expect(page.locator("body")).to_have_attribute("data-channel", "chat")
            probe = await media_probe(participant)
            assert probe.constraints == [] and probe.connections == 0, probe
            state = await participant.evaluate_json("window.balie.state")
            assert isinstance(state, dict) and state["channel"] == "chat", state
            participant.assert_no_page_errors()
        # the specialist may ask again
        await expect(s_page.locator("#switch-video-btn")).to_be_visible()
        assert await focused(s_page) != "", "the focus was lost"
    finally:
        await resident.close()
        await specialist.close()


async def say_yes(resident_page: Page, question: str) -> None:
    dialog = resident_page.get_by_role("alertdialog", name=question)
    await expect(dialog).to_be_visible(timeout=DEADLINE_MS)
    await resident_page.get_by_role("button", name="Ja").click()
    await expect(dialog).to_be_hidden()


async def test_a_chat_goes_to_voice_and_then_to_video(
    browser: Browser, live_balie: LiveServer
) -> None:
    """The two other upgrades: chat → voice sends sound only (no video sender on either
    side), then voice → video adds the picture to the same connection."""
    room = issue_channel_room(live_balie, Channel.CHAT)
    specialist, resident = await open_both(browser, room)
    s_page, r_page = specialist.page, resident.page
    try:
        await into_the_call(specialist, resident)
        await s_page.get_by_role("button", name="Overschakelen naar bellen").click()
        await say_yes(r_page, "De medewerker wil overschakelen naar bellen. Is dat goed?")
        for participant in (specialist, resident):
            await wait_for_audio_received(participant)
            await expect(participant.page.locator("h1")).to_have_text("Bellen met de gemeente")
            for connection in await rtp_by_peer(participant):
                assert connection["senderTracks"] == ["audio"], connection
                kinds = {(s["type"], s["kind"]) for s in connection["rtp"]}  # type: ignore[attr-defined]
                assert ("outbound-rtp", "video") not in kinds, connection
        # from voice the only upgrade left is video
        await expect(s_page.locator("#switch-voice-btn")).to_be_hidden()
        await s_page.get_by_role("button", name="Overschakelen naar video").click()
        await say_yes(r_page, QUESTION)
        for participant in (specialist, resident):
            await wait_for_video_flowing(participant, peers=1)
            await expect(participant.page.locator("h1")).to_have_text(
                "Videogesprek met de gemeente"
            )
            probe = await media_probe(participant)
            assert probe.connections == 1, probe  # the same connection, renegotiated
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()
