"""The EU/NL identity wallet (OpenID4VP) in Chromium: the resident chooses the wallet with
the keyboard, the desktop page shows a QR code (qrcode-generator from npm), a scripted
wallet (the ``sd-jwt`` library, over HTTP) answers, and the page moves on to the lobby by
itself; on a phone the page offers a button that opens the wallet, and the wallet's way
back finishes the step in the call's tab. axe finds nothing on the new states, and no value
is left in the resident's browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, ViewportSize, expect

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    DESKTOP,
    PHONE,
    Participant,
    accessible_at_both_sizes,
    assert_accessible,
    browser_storage,
    click_join,
    open_participant,
    tab_to,
    wait_for_phase,
)
from tests.identity.openid4vp.support import FAKE_VALUES
from tests.server.verification.openid4vp_support import (
    Pkis,
    ScriptedWallet,
    make_pkis,
    openid4vp_balie,
)
from tests.support import LiveServer

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pkis() -> Pkis:
    return make_pkis()


@pytest.fixture
async def balie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pkis: Pkis
) -> AsyncIterator[LiveServer]:
    async with openid4vp_balie(tmp_path, monkeypatch, pkis) as (live, _):
        yield live


@pytest.fixture
async def wallet(balie: LiveServer) -> AsyncIterator[ScriptedWallet]:
    made = ScriptedWallet(balie.url)
    yield made
    await made.close()


async def choose_the_wallet(resident: Participant, size: ViewportSize = DESKTOP) -> dict[str, Any]:
    """Join, see the choice, pick the EU/NL wallet with the keyboard on a screen of
    ``size``; the session it got."""
    page = resident.page
    await click_join(resident)
    await expect(page.locator("#verify-choice")).to_be_visible()
    await expect(page.locator("#verify-attributes")).to_contain_text("Naam")
    await accessible_at_both_sizes(page, "identity step, choice of app")
    await page.set_viewport_size(size)
    async with page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await tab_to(page, r"\|wallet-eu\|")
        await page.keyboard.press("Enter")
    started: dict[str, Any] = await (await caught.value).json()
    return started


async def test_the_desktop_page_shows_a_qr_code_and_moves_on_when_the_wallet_answered(
    browser: Browser, balie: LiveServer, wallet: ScriptedWallet, pkis: Pkis
) -> None:
    room = balie.issue_room(purpose="bijstand", tenant="demo")
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        started = await choose_the_wallet(resident)
        assert started["flow"] == "cross-device"
        page = resident.page
        # the QR code, drawn from the link the session gave (a phone's camera reads the same)
        await expect(page.locator("#wallet-qr svg")).to_be_visible()
        await expect(page.locator("#wallet-scan")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Scan de QR-code met uw wallet-app.")
        await assert_accessible(page, "identity step, wallet QR code")

        request = await wallet.fetch(started["authorization_request"])
        await expect(page.locator("#wallet-progress")).to_contain_text("verbonden")
        await expect(page.locator("#wallet-qr")).to_be_hidden()
        form = request.encrypted({"pid_nl": [wallet.nl_pid(request, pkis.nl)]})
        assert await wallet.answer(request, form) == (200, {})

        # nobody clicks: the page follows the session and goes on to the lobby
        await wait_for_phase(resident, "lobby")
        await expect(page.locator("#verify")).to_be_hidden()
        panel = specialist.page.locator("#verified-panel")
        await expect(panel).to_contain_text("Test Persoon", timeout=DEADLINE_MS)
        await expect(panel).to_contain_text("NL Wallet / EU-wallet")

        resident.assert_no_page_errors()
        stored = str(await browser_storage(resident)) + await page.content()
        for value in FAKE_VALUES:
            assert value not in stored
    finally:
        await resident.close()
        await specialist.close()


async def test_a_phone_gets_a_button_and_the_wallets_way_back_finishes_the_step(
    browser: Browser, balie: LiveServer, wallet: ScriptedWallet, pkis: Pkis
) -> None:
    room = balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="telefoon")
    try:
        page = resident.page
        await page.set_viewport_size(PHONE)
        started = await choose_the_wallet(resident, PHONE)
        assert started["flow"] == "same-device"
        button = page.get_by_role("link", name="Open uw wallet-app")
        await expect(button).to_be_visible()
        await expect(button).to_be_focused()
        link = await button.get_attribute("href")
        assert link is not None and link == started["authorization_request"]
        assert link.startswith("openid4vp://?client_id=")
        await expect(page.locator("#wallet-qr")).to_be_hidden()
        await assert_accessible(page, "identity step, wallet button on a phone")

        # the wallet app: fetches the request, answers, and sends the browser back
        request = await wallet.fetch(link)
        status, body = await wallet.answer(
            request, request.encrypted({"pid_nl": [wallet.nl_pid(request, pkis.nl)]})
        )
        assert status == 200
        back = await resident.context.new_page()
        await back.goto(wallet.local(body["redirect_uri"]))
        await expect(back.locator("#wallet-return-next")).to_be_visible()
        await expect(back.locator("#wallet-return-status")).to_have_text("Gelukt.")
        assert "response_code" not in back.url  # out of the address bar at once
        await assert_accessible(back, "back from the wallet")

        await wait_for_phase(resident, "lobby")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_the_way_back_without_a_call_tab_says_what_to_do(
    browser: Browser, balie: LiveServer
) -> None:
    context = await browser.new_context(locale="nl-NL", viewport=PHONE)
    try:
        page = await context.new_page()
        await page.goto(f"{balie.url}/identiteit/wallet#response_code=not-a-code")
        await expect(page.locator("#wallet-return-lost")).to_be_visible(timeout=DEADLINE_MS)
        await expect(page.locator("#wallet-return-status")).to_have_text("Dat lukte niet.")
        await assert_accessible(page, "back from the wallet, no call tab")
    finally:
        await context.close()
