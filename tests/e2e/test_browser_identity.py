"""The identity gate in Chromium: yivi-frontend, the emulator, the test wallet, the panel.

The resident's page loads the real ``@privacybydesign/yivi-frontend`` bundle from the
npm install, the scripted wallet discloses obviously fake values to the emulator, the
resident reaches the lobby, and the specialist sees the verified panel, admits, and
media flows. Afterwards nothing recognisable is left in logs, in the database outside
the sealed vault, or in browser storage, and the vault is empty once the call ended.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import String, Text, cast, or_, select

from identity.wallet import TestWallet
from server.db.appkeys import ENGINE
from server.db.schema import metadata, vault_entries
from server.verification.appkeys import GATE
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    admit_first_waiting,
    browser_storage,
    click_join,
    open_participant,
    wait_for_phase,
    wait_for_video_flowing,
)
from tests.support import LiveServer

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

FAKE_BSN = "999999990"
FAKE_NAME = "Test Persoon Lekcontrole"
VALUES = {
    "irma-demo.gemeente.personalData.bsn": FAKE_BSN,
    "irma-demo.gemeente.personalData.fullname": FAKE_NAME,
}


async def disclose_from_page(resident: Participant, values: dict[str, str]) -> None:
    """Press "Deelnemen", catch the session pointer the page got, and let the wallet answer.

    The wallet reads the pointer from the network response rather than the QR
    canvas, as a phone would read it from the QR code.
    """
    async with resident.page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await click_join(resident)
    started: Any = await (await caught.value).json()
    await expect(resident.page.locator("#verify")).to_be_visible()
    await expect(resident.page.locator("#verify-attributes")).to_contain_text("Naam")
    # the yivi-frontend widget drew its QR code
    await resident.page.locator("#yivi-web-form canvas").wait_for(state="visible")
    async with aiohttp.ClientSession() as http:
        await TestWallet(http).disclose(started["sessionPtr"], values)


async def test_verified_resident_reaches_the_specialist_and_nothing_leaks(
    browser: Browser, live_balie: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    room = live_balie.issue_room(purpose="bijstand", tenant="demo")
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        panel = specialist.page.locator("#verified-panel")
        await expect(panel).to_contain_text("nog niet laten zien")

        await disclose_from_page(resident, VALUES)
        await wait_for_phase(resident, "lobby")
        await expect(resident.page.locator("#verify")).to_be_hidden()

        # the specialist sees the values, the BSN only after a deliberate reveal
        await expect(panel).to_contain_text(FAKE_NAME, timeout=DEADLINE_MS)
        assert FAKE_BSN not in await panel.inner_text()
        await panel.get_by_role("button", name="Burgerservicenummer (BSN) tonen").click()
        await expect(panel).to_contain_text(FAKE_BSN)
        # ...and nobody else: the resident's page never holds them
        assert FAKE_NAME not in await resident.page.content()

        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        await wait_for_video_flowing(specialist, peers=1)
        await wait_for_video_flowing(resident, peers=1)
        # the panel was rebuilt on the lobby changes meanwhile: the revealed value stays
        await expect(panel).to_contain_text(FAKE_BSN)

        for participant in (specialist, resident):
            participant.assert_no_page_errors()
            stored = str(await browser_storage(participant))
            assert FAKE_BSN not in stored and FAKE_NAME not in stored

        await specialist.page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
        await specialist.page.get_by_role("button", name="Ja, beëindigen").click()
        await wait_for_phase(resident, "finished")
    finally:
        await resident.close()
        await specialist.close()

    # Retention: this purpose keeps nothing after the call.
    gate = live_balie.app[GATE]
    for _ in range(50):
        if not await gate.vault.list_for_room(room.room):
            break
        await _pause()
    assert await gate.vault.list_for_room(room.room) == []

    # Leaks: application logs, and every text column of every table but the sealed vault.
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert FAKE_BSN not in logged and FAKE_NAME not in logged
    async with live_balie.app[ENGINE].connect() as conn:
        for table in metadata.sorted_tables:
            columns = [
                c for c in table.columns if not (table is vault_entries and c.name == "sealed")
            ]
            texts = [cast(c, Text) if not isinstance(c.type, String | Text) else c for c in columns]
            hits = await conn.execute(
                select(table).where(
                    or_(*[t.contains(FAKE_BSN) | t.contains(FAKE_NAME) for t in texts])
                )
            )
            assert hits.first() is None, f"personal data in table {table.name}"


async def _pause() -> None:
    await asyncio.sleep(0.1)


async def test_an_unverified_resident_cannot_skip_to_the_lobby(
    browser: Browser, live_balie: LiveServer
) -> None:
    """The page shows the identity step; a socket opened by hand is refused (4412)."""
    room = live_balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(resident)
        await expect(resident.page.locator("#verify")).to_be_visible()
        assert await resident.evaluate_json("window.balie.state.phase") == "prejoin"
        code = await resident.page.evaluate(
            """(token) => new Promise((resolve) => {
                 const ws = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
                 ws.onopen = () => ws.send(JSON.stringify({ type: 'join', token }));
                 ws.onclose = (event) => resolve(event.code);
               })""",
            room.seat(Role.RESIDENT).token,
        )
        assert code == 4412
        resident.assert_no_page_errors()
    finally:
        await resident.close()
