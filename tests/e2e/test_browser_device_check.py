"""The device check before joining: test tone with advice, and the connection verdict
against the server and a real coturn (or an unreachable one)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from server.call.rooms import issue_room
from server.core.appkeys import KEYS
from signaling.roles import Role
from signaling.turn import IceSettings
from tests.coturn import Coturn
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import DEADLINE_MS, open_participant
from tests.support import LiveServer, config_for, free_port, live_server

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e


@asynccontextmanager
async def balie_with_ice(data_dir: Path, ice: IceSettings) -> AsyncIterator[LiveServer]:
    async with live_server(data_dir, config=config_for(data_dir, ice=ice)) as running:
        yield running


def resident_url(server: LiveServer) -> str:
    room = issue_room(server.config, server.app[KEYS], now=int(time.time()))
    return room.seat(Role.RESIDENT).url


async def verdict(page: Page) -> dict[str, Any]:
    await page.wait_for_function("() => window.balie.state && window.balie.connectionVerdict")
    found = await page.evaluate("() => window.balie.connectionVerdict")
    assert isinstance(found, dict)
    return found


async def test_sound_test_and_a_good_connection(browser: Browser, live_balie: LiveServer) -> None:
    resident = await open_participant(browser, resident_url(live_balie), name="inwoner")
    try:
        page = resident.page
        await expect(page.locator("#check-network")).to_have_text(
            "Uw verbinding is goed.", timeout=DEADLINE_MS
        )
        await page.get_by_role("button", name="Geluid testen").click()
        await page.get_by_role("button", name="Nee").click()
        await expect(page.locator("#check-sound")).to_contain_text("Zet het geluid harder")
        await page.get_by_role("button", name="Geluid testen").click()
        await page.get_by_role("button", name="Ja").click()
        await expect(page.locator("#check-sound")).to_have_text("Goed. Uw geluid werkt.")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_camera_and_microphone_lines_and_the_level_meter(
    browser: Browser, live_balie: LiveServer
) -> None:
    resident = await open_participant(browser, resident_url(live_balie), name="inwoner")
    try:
        page = resident.page
        await expect(page.locator("#check-camera")).to_have_text(
            "Goed. U ziet uzelf in het beeld.", timeout=DEADLINE_MS
        )
        await expect(page.locator("#check-mic")).to_contain_text("Goed.")
        meter = page.get_by_role("meter", name="Hoe goed we u horen")
        await expect(meter).to_be_visible()
        # Chromium's fake microphone beeps: the bar must move with it
        # (silence shows 0; the beep, even after noise suppression, well over a third)
        await page.wait_for_function(
            "() => document.getElementById('mic-level').value > 0.35",
            polling=100,
            timeout=DEADLINE_MS,
        )
        # the check and the own picture are both in view at 1280×800, without scrolling
        await page.set_viewport_size({"width": 1280, "height": 800})
        for element in ("#join-btn", "#self-video", "#check-camera"):
            box = await page.locator(element).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 800, (element, box)
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_a_reachable_turn_server_gives_relay_candidates(
    browser: Browser, tmp_path: Path, coturn: Coturn
) -> None:
    ice = IceSettings(
        turn_urls=(f"turn:127.0.0.1:{coturn.port}?transport=udp",),
        turn_secret=coturn.secret,
    )
    async with balie_with_ice(tmp_path, ice) as server:
        resident = await open_participant(browser, resident_url(server), name="inwoner")
        try:
            found = await verdict(resident.page)
            assert found["level"] == "good" and "relay" in found["candidates"], found
        finally:
            await resident.close()


async def test_an_unreachable_turn_server_gives_network_advice(
    browser: Browser, tmp_path: Path
) -> None:
    closed = free_port(udp=True)  # nothing listens here
    ice = IceSettings(
        turn_urls=(f"turn:127.0.0.1:{closed}?transport=udp",), turn_secret="not-used-secret"
    )
    async with balie_with_ice(tmp_path, ice) as server:
        resident = await open_participant(browser, resident_url(server), name="inwoner")
        try:
            found = await verdict(resident.page)
            assert found["level"] == "fair" and "relay" not in found["candidates"], found
            await expect(resident.page.locator("#check-network")).to_contain_text(
                "Uw netwerk laat videobellen misschien niet toe"
            )
        finally:
            await resident.close()
