"""The NL Wallet on the person's path: ``balie serve`` started as the README starts it, with
only the wallet settings docs/identity.md §7 tells a municipality to add, the two demo links
it prints, and a phone's wallet that reads the QR code the resident's page draws.

The resident opens their link, passes the device check, presses "Deelnemen", chooses "NL
Wallet of andere EU-wallet" with a click; the page shows a QR code, which is read from the
screen as a phone's camera reads it (zxing-cpp, on the pixels Chromium drew); the wallet (a
script with the ``sd-jwt`` library as issuer and holder: no NL Wallet app runs here) fetches
the request it names and answers; nobody clicks, and the page goes on to the waiting room.
The specialist opens the other link, sees the verified values, admits, and video frames are
decoded on both sides.

Deadlines only stop a broken test from hanging; nothing asserts speed.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import zxingcpp
from playwright.async_api import Browser, Page, expect

from identity.openid4vp.pid import DOCTYPE_PID, VCT_PID_EU, VCT_PID_NL
from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    admit_first_waiting,
    click_join,
    open_participant,
    video_flows,
    wait_for_phase,
)
from tests.identity.openid4vp.support import FAKE_VALUES
from tests.server.verification.openid4vp_support import (
    PUBLIC,
    ScriptedWallet,
    make_pkis,
    openid4vp_config,
)
from tests.support import balie_serve

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e

#: the QR code's pixels, grey, as a camera would see the screen: drawn onto a canvas
_PIXELS = """async () => {
  const svg = document.querySelector('#wallet-qr svg');
  const box = svg.getBoundingClientRect();
  const width = Math.round(box.width * 4) + 80, height = Math.round(box.height * 4) + 80;
  const image = new Image();
  const drawn = new XMLSerializer().serializeToString(svg);
  image.src = 'data:image/svg+xml;base64,' + btoa(drawn);
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = width; canvas.height = height;
  const context = canvas.getContext('2d');
  context.fillStyle = '#fff'; context.fillRect(0, 0, width, height);
  context.drawImage(image, 40, 40, width - 80, height - 80);
  const rgba = context.getImageData(0, 0, width, height).data;
  const grey = new Array(width * height);
  for (let i = 0; i < grey.length; i++) grey[i] = rgba[4 * i + 1];
  return {width, height, grey};
}"""


async def scan_qr(page: Page) -> str:
    """What a phone's camera reads from the QR code on ``page``."""
    drawn = await page.evaluate(_PIXELS)
    pixels = memoryview(bytes(drawn["grey"])).cast("B", shape=[drawn["height"], drawn["width"]])
    (found,) = zxingcpp.read_barcodes(pixels)
    text: str = found.text
    return text


async def test_the_nl_wallet_from_balie_serve_to_video_on_both_sides(
    browser: Browser, tmp_path: Path
) -> None:
    pkis = make_pkis()
    openid4vp_config(tmp_path, pkis)  # writes the certificate, its key and the anchors
    files = tmp_path / "openid4vp"
    env = {
        "BALIE_OPENID4VP_CERTIFICATE_FILE": str(files / "access.pem"),
        "BALIE_OPENID4VP_KEY_FILE": str(files / "access-key.pem"),
        "BALIE_OPENID4VP_TRUST_ANCHORS": (
            f"{VCT_PID_NL}={files / 'nl-pid.pem'},{VCT_PID_EU}={files / 'eu-pid.pem'},"
            f"{DOCTYPE_PID}={files / 'eu-pid.pem'}"
        ),
        # where the wallet reaches Balie; the test's wallet maps it to the port
        "BALIE_OPENID4VP_PUBLIC_URL": PUBLIC,
    }
    async with balie_serve(tmp_path / "var", stop=signal.SIGINT, env=env) as started:
        wallet = ScriptedWallet(started.url)
        resident = await open_participant(browser, started.demo_link(Role.RESIDENT), name="inwoner")
        specialist = None
        try:
            page = resident.page
            await click_join(resident)
            await expect(page.locator("#verify-choice")).to_be_visible()
            await page.get_by_role("button", name="Ga verder met uw wallet").click()

            # the phone's camera reads the QR code; the wallet fetches and answers
            await expect(page.locator("#wallet-qr svg")).to_be_visible()
            link = await scan_qr(page)
            assert link.startswith("openid4vp://"), link
            request = await wallet.fetch(link)
            form = wallet.nl_pid_form(request, pkis.nl)
            assert await wallet.answer(request, form) == (200, {})

            # nobody clicks: the page follows the session into the waiting room
            await wait_for_phase(resident, "lobby")

            specialist_url = started.demo_link(Role.SPECIALIST)
            specialist = await open_participant(browser, specialist_url, name="medewerker")
            await click_join(specialist)
            await wait_for_phase(specialist, "call")
            panel = specialist.page.locator("#verified-panel")
            await expect(panel).to_contain_text("NL Wallet / EU-wallet", timeout=DEADLINE_MS)
            await expect(panel).to_contain_text("Test Persoon")
            await admit_first_waiting(specialist)
            await wait_for_phase(resident, "call")

            await video_flows(resident, specialist)
            for participant in (resident, specialist):
                participant.assert_no_page_errors()
            for value in FAKE_VALUES:
                assert value not in started.printed
        finally:
            await wallet.close()
            if specialist is not None:
                await specialist.close()
            await resident.close()
