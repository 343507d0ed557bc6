"""The walk-in counter end to end in Chromium, as people use it: Balie started as the README
starts it (``balie serve``, demo data, nothing else configured), the resident from the home
page through "Nu praten, zonder afspraak", a question, a channel, the device check, the demo
wallet answered by hand in its own tab, and the queue; the specialist signs in (password and
code), sees the queue on the desk and presses "Volgende inwoner", joins and admits. Then:

- **video**: video frames decoded on both sides;
- **voice only**: audio packets received on both sides, and no video track sent by either
  (no video sender, transceiver or outbound stream);
- **chat only**: messages both ways, and no media at all (no device asked, no peer
  connection made).

The specialist ends the call; the resident is offered the feedback question, and the ticket
is served (the desk no longer lists the resident). Deadlines only stop a broken test from
hanging; nothing asserts speed.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Final

import pytest
from playwright.async_api import Browser, Page, expect

from server.config import Config
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    admit_first_waiting,
    click_join,
    open_demo_wallet,
    share_in_demo_wallet,
    sign_in_staff,
    wait_for_phase,
    wait_for_remote_video,
    wait_for_video_flowing,
)
from tests.e2e.channels import media_probe, open_probed, rtp_by_peer, wait_for_audio_received
from tests.support import balie_serve

browser = e2e_browser.browser

pytestmark = pytest.mark.e2e

#: the demo purpose of the demo specialist Anna's skill; it asks for BSN and name
PURPOSE: Final = "Bijstand (Participatiewet)"
LABELS: Final = {"video": "Video", "voice": "Alleen bellen", "chat": "Chatten"}
HEADINGS: Final = {
    "video": "Videogesprek met de gemeente",
    "voice": "Bellen met de gemeente",
    "chat": "Chatten met de gemeente",
}


async def walk_in(resident: Participant, channel: str) -> None:
    """From the home page to the queue."""
    page = resident.page
    await page.get_by_role("link", name="Nu praten, zonder afspraak").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("^Nu praten met Gemeente Voorbeeld")
    )
    await page.get_by_role("link", name=PURPOSE).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(PURPOSE)
    await page.get_by_label(LABELS[channel], exact=True).check()
    await page.get_by_role("button", name="Naar de wachtrij").click()
    await page.wait_for_url(re.compile(r"/call/r_[A-Za-z0-9_-]+$"))
    await expect(page.locator("h1")).to_have_text(HEADINGS[channel])
    await click_join(resident)
    await share_in_demo_wallet(resident, await open_demo_wallet(resident))
    await wait_for_phase(resident, "lobby")
    await expect(page.locator("#queue-position")).to_have_text(
        "U bent de eerste in de wachtrij.", timeout=DEADLINE_MS
    )


async def take_the_next_resident(specialist: Participant) -> None:
    page = specialist.page
    await page.goto(page.url.split("/staff", 1)[0] + "/staff/desk")
    queues = page.get_by_role("table", name="Wachtrij per onderwerp")
    row = queues.get_by_role("row", name=re.compile(re.escape(PURPOSE)))
    await expect(row).to_contain_text("1")
    await page.get_by_role("button", name="Volgende inwoner").click()
    await page.wait_for_url(re.compile(r"/call/r_[A-Za-z0-9_-]+$"))
    await click_join(specialist)
    await wait_for_phase(specialist, "call")
    await admit_first_waiting(specialist)


async def end_the_call(specialist: Participant, resident: Participant) -> None:
    page = specialist.page
    await page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
    await page.get_by_role("button", name="Ja, beëindigen").click()
    await wait_for_phase(specialist, "finished")
    await wait_for_phase(resident, "finished")
    # the same question after every channel
    await expect(resident.page.get_by_role("button", name="Geef uw mening")).to_be_visible()


async def desk_serves_nobody(page: Page) -> None:
    """The ticket is served: the desk lists nobody being helped, nobody waiting."""
    await page.goto(page.url.split("/call", 1)[0] + "/staff/desk")
    await expect(page.get_by_text("U helpt nu")).to_have_count(0)
    row = page.get_by_role("table", name="Wachtrij per onderwerp").get_by_role(
        "row", name=re.compile(re.escape(PURPOSE))
    )
    await expect(row.locator(".desk-waiting")).to_have_text("0")


@pytest.mark.parametrize("channel", ["video", "voice", "chat"])
async def test_a_resident_walks_in_and_a_specialist_takes_them(
    browser: Browser, tmp_path: Path, channel: str
) -> None:
    data_dir = tmp_path / "var"
    async with balie_serve(data_dir, stop=signal.SIGINT) as started:
        resident = await open_probed(browser, started.url + "/", name="inwoner")
        specialist = await open_probed(browser, started.url + "/staff", name="medewerker")
        try:
            await walk_in(resident, channel)
            await sign_in_staff(
                specialist.page, Config(data_dir=data_dir, public_url=started.url), "specialist"
            )
            await take_the_next_resident(specialist)
            await wait_for_phase(resident, "call")

            if channel == "video":
                for participant in (resident, specialist):
                    await wait_for_remote_video(participant, count=1)
                    first, second = await wait_for_video_flowing(participant, peers=1)
                    assert all(second[p] > first[p] > 0 for p in second), (first, second)
            elif channel == "voice":
                for participant in (resident, specialist):
                    await wait_for_audio_received(participant)
                    for connection in await rtp_by_peer(participant):
                        kinds = {(s["type"], s["kind"]) for s in connection["rtp"]}  # type: ignore[attr-defined]
                        assert ("outbound-rtp", "video") not in kinds, connection
                        assert connection["senderTracks"] == ["audio"], connection
                        assert connection["transceivers"] == ["audio"], connection
                    probe = await media_probe(participant)
                    asked = [c for c in probe.constraints if isinstance(c, dict)]
                    assert asked and all(c.get("video") is False for c in asked), probe
            else:
                await resident.page.locator("#chat-input").fill("Ik heb een vraag over bijstand.")
                await resident.page.keyboard.press("Enter")
                await expect(specialist.page.locator("#chat-list .chat-text")).to_have_text(
                    ["Ik heb een vraag over bijstand."], timeout=DEADLINE_MS
                )
                await specialist.page.locator("#chat-input").fill("Waarmee kan ik helpen?")
                await specialist.page.keyboard.press("Enter")
                await expect(resident.page.locator("#chat-list .chat-text")).to_have_text(
                    ["Ik heb een vraag over bijstand.", "Waarmee kan ik helpen?"],
                    timeout=DEADLINE_MS,
                )
                for participant in (resident, specialist):
                    probe = await media_probe(participant)
                    assert probe.constraints == [] and probe.connections == 0, probe

            await end_the_call(specialist, resident)
            await desk_serves_nobody(specialist.page)
            for participant in (resident, specialist):
                participant.assert_no_page_errors()
        finally:
            await resident.close()
            await specialist.close()
