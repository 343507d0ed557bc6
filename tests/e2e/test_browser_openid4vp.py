"""The EU/NL identity wallet (OpenID4VP) in Chromium: the resident chooses the wallet with
the keyboard, the desktop page shows a QR code (qrcode-generator from npm), a scripted
wallet (the ``sd-jwt`` library, over HTTP) answers, and the page moves on to the lobby by
itself; on a phone the page offers a button that opens the wallet, and the wallet's way
back finishes the step in the call's tab. A resident who chose Yivi goes back to the choice
with "Andere app kiezen" (the keyboard, the Yivi session cancelled) and finishes with Yivi
again in the demo wallet or with the wallet; with Yivi only there is no such button. axe
finds nothing on the new states, and no value is left in the resident's browser.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import pytest
from playwright.async_api import Browser, Page, Response, ViewportSize, expect

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
    open_demo_wallet,
    open_participant,
    share_in_demo_wallet,
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
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

OTHER_APP: Final = "Andere app kiezen"
DEMO_WALLET: Final = "Open de demo-wallet in een nieuw tabblad"


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
        form = wallet.nl_pid_form(request, pkis.nl)
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
        status, body = await wallet.answer(request, wallet.nl_pid_form(request, pkis.nl))
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


def started_session(response: Response) -> bool:
    return response.url.endswith("/verification/session") and response.request.method == "POST"


async def choose_yivi(page: Page) -> str:
    """ "Ga verder met Yivi" with the keyboard; the link of the Yivi session it started, once
    the page shows its QR code."""
    async with page.expect_response(started_session) as caught:
        await tab_to(page, r"^button\|button\|wallet-yivi\|")
        await page.keyboard.press("Enter")
    started: dict[str, Any] = await (await caught.value).json()
    await expect(page.locator("#verify-choice")).to_be_hidden()
    # the focus stays in the step, and the status line says what to do now
    await expect(page.get_by_role("heading", name="Laat zien wie u bent")).to_be_focused()
    await expect(page.locator("#status")).to_have_text(
        "Laat zien wie u bent. Scan de QR-code met de Yivi-app."
    )
    await expect(page.locator("#yivi-web-form canvas")).to_be_visible()
    await expect(page.get_by_role("button", name=DEMO_WALLET)).to_be_visible()
    link: str = started["sessionPtr"]["u"]
    return link


async def test_after_choosing_yivi_the_keyboard_goes_back_to_the_choice_and_yivi_again_works(
    browser: Browser, balie: LiveServer
) -> None:
    room = balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        page = resident.page
        await click_join(resident)
        await expect(page.locator("#verify-choice")).to_be_visible()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(f"{r.method} {r.url}"))
        first = await choose_yivi(page)
        other = page.get_by_role("button", name=OTHER_APP)
        await expect(other).to_be_visible()
        await accessible_at_both_sizes(page, "identity step, Yivi chosen, a way back")

        # "Andere app kiezen" with the keyboard: the page cancels its Yivi session...
        async with page.expect_response(
            lambda r: r.request.method == "DELETE" and r.url == first
        ) as cancelled:
            await tab_to(page, rf"^button\|button\|yivi-other\|{OTHER_APP}$")
            await page.keyboard.press("Space")
        assert (await cancelled.value).ok

        # ...and the choice is back, focused on its first app, and said in the status line
        await expect(page.locator("#verify-choice")).to_be_visible()
        await expect(page.get_by_role("button", name="Ga verder met Yivi")).to_be_focused()
        await expect(page.get_by_role("button", name="Ga verder met uw wallet")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("U kunt nu een andere app kiezen.")
        # no QR code, no demo wallet, no way back, no error and no "Opnieuw proberen"
        for gone in (other, page.get_by_role("button", name=DEMO_WALLET)):
            await expect(gone).to_be_hidden()
        await expect(page.locator("#yivi-web-form canvas")).to_have_count(0)
        await expect(page.locator("#alert")).to_have_text("")
        await expect(page.get_by_role("button", name="Opnieuw proberen")).to_have_count(0)
        await assert_accessible(page, "identity step, back at the choice of app")
        # the page followed the session until then, and no longer (yivi-frontend polls
        # every 0.5 s)
        await page.wait_for_timeout(2000)
        cancel = asked.index(f"DELETE {first}")
        assert any(r.startswith(f"GET {first}/") for r in asked[:cancel]), asked
        assert [r for r in asked[cancel + 1 :] if first in r] == [], asked

        # Yivi once more, from the focused button: a new session, shared in the demo wallet
        async with page.expect_response(started_session) as caught:
            await page.keyboard.press("Enter")
        second = (await (await caught.value).json())["sessionPtr"]["u"]
        assert second != first
        await expect(page.locator("#yivi-web-form canvas")).to_be_visible()
        await expect(other).to_be_visible()
        await expect(page.locator("#verify-demo-session")).to_have_value(second)
        demo_wallet = await open_demo_wallet(resident)
        await share_in_demo_wallet(resident, demo_wallet)

        await wait_for_phase(resident, "lobby")
        await expect(page.locator("#verify")).to_be_hidden()
        await expect(page.get_by_role("heading", name="Wachtkamer")).to_be_visible()
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_after_yivi_the_resident_can_go_back_and_choose_the_wallet(
    browser: Browser, balie: LiveServer, wallet: ScriptedWallet, pkis: Pkis
) -> None:
    room = balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        page = resident.page
        await click_join(resident)
        await expect(page.locator("#verify-choice")).to_be_visible()
        first = await choose_yivi(page)
        async with page.expect_response(lambda r: r.request.method == "DELETE" and r.url == first):
            await page.get_by_role("button", name=OTHER_APP).click()
        await expect(page.get_by_role("button", name="Ga verder met Yivi")).to_be_focused()

        async with page.expect_response(started_session) as caught:
            await tab_to(page, r"^button\|button\|wallet-eu\|")
            await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="Laat zien wie u bent")).to_be_focused()
        started: dict[str, Any] = await (await caught.value).json()
        await expect(page.locator("#wallet-qr svg")).to_be_visible()
        await expect(page.locator("#status")).to_have_text("Scan de QR-code met uw wallet-app.")
        await expect(page.get_by_role("button", name=OTHER_APP)).to_be_visible()
        request = await wallet.fetch(started["authorization_request"])
        form = wallet.nl_pid_form(request, pkis.nl)
        assert await wallet.answer(request, form) == (200, {})

        await wait_for_phase(resident, "lobby")
        await expect(page.get_by_role("heading", name="Wachtkamer")).to_be_visible()
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_with_yivi_only_there_is_no_other_app_to_choose(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room(purpose="bijstand", tenant="demo")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        page = resident.page
        await click_join(resident)
        await expect(page.locator("#yivi-web-form canvas")).to_be_visible(timeout=DEADLINE_MS)
        await expect(page.get_by_role("button", name=DEMO_WALLET)).to_be_visible()
        await expect(page.locator("#verify-choice")).to_be_hidden()
        await expect(page.get_by_role("button", name=OTHER_APP)).to_have_count(0)
    finally:
        await resident.close()
