"""The call page in a real Chromium against a real Balie server.

A specialist and a resident open their join links in separate browser
contexts, press "Deelnemen", the specialist admits the resident through the
lobby panel, and media must then flow both ways peer to peer.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from signaling.roles import Role
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    Participant,
    SocketCutter,
    admit_first_waiting,
    browser_storage,
    click_join,
    open_participant,
    remote_video_facts,
    video_flows,
    wait_for_phase,
    wait_for_remote_video,
    wait_for_video_flowing,
)
from tests.support import LiveServer, live_server

# The shared fixtures, bound here so pytest finds them for this module. (A
# ``pytest_plugins`` entry would import browser.py before pytest can rewrite its
# asserts, which the warnings-as-errors setting turns into a collection error.)
browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e


@dataclass
class Call:
    specialist: Participant
    resident: Participant
    tokens: tuple[str, ...]

    async def close(self) -> None:
        await self.resident.close()
        await self.specialist.close()


async def start_call(
    browser: Browser, server: LiveServer, *, resident_socket: SocketCutter | None = None
) -> Call:
    """Specialist and resident in one room, the resident admitted through the UI."""
    room = server.issue_room()
    specialist_seat = room.seat(Role.SPECIALIST)
    resident_seat = room.seat(Role.RESIDENT)
    specialist = await open_participant(browser, specialist_seat.url, name="medewerker")
    resident = await open_participant(browser, resident_seat.url, name="inwoner")
    call = Call(specialist, resident, (specialist_seat.token, resident_seat.token))
    try:
        if resident_socket is not None:
            await resident_socket.install(resident.page)
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        await click_join(resident)
        await wait_for_phase(resident, "lobby")
        await expect(resident.page.locator("#lobby")).to_contain_text(
            "U bent in de wachtkamer. De medewerker laat u zo binnen.", timeout=DEADLINE_MS
        )
        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
    except BaseException:
        await call.close()
        raise
    return call


@pytest.fixture
async def call(browser: Browser, live_balie: LiveServer) -> AsyncIterator[Call]:
    started = await start_call(browser, live_balie)
    try:
        yield started
    finally:
        await started.close()


async def send_chat(participant: Participant, text: str) -> None:
    page = participant.page
    chat_button = page.get_by_role("button", name="Chat")
    if await chat_button.get_attribute("aria-expanded") != "true":
        await chat_button.click()
    await page.get_by_label("Uw bericht").fill(text)
    await page.keyboard.press("Enter")


async def test_admitted_resident_and_specialist_receive_each_others_video(call: Call) -> None:
    await video_flows(call.specialist, call.resident)
    for participant in (call.specialist, call.resident):
        facts = await remote_video_facts(participant)
        assert len(facts) == 1, facts
        remote = facts[0]
        assert isinstance(remote["videoWidth"], int) and remote["videoWidth"] > 0, remote
        assert remote["playsinline"] is True, remote
        assert remote["autoplay"] is True, remote
        # remote audio must be heard; only the own preview is muted
        assert remote["muted"] is False, remote

        self_view = participant.page.locator("#self-video")
        for attribute in ("playsinline", "autoplay", "muted"):
            assert await self_view.get_attribute(attribute) is not None, attribute

        await expect(participant.page.get_by_role("status")).to_contain_text(
            "U bent in gesprek met", timeout=DEADLINE_MS
        )
        participant.assert_no_page_errors()

    # Tiles are labelled by role, not by anything personal.
    await expect(call.specialist.page.locator("#tiles .tile-role")).to_have_text("Inwoner")
    await expect(call.resident.page.locator("#tiles .tile-role")).to_have_text("Medewerker")


async def test_chat_message_appears_on_the_other_page(call: Call) -> None:
    text = "Goedemiddag, ik heb een vraag over <b>mijn</b> paspoort."
    resident = call.resident.page
    await resident.get_by_role("button", name="Chat").click()
    await resident.get_by_label("Uw bericht").fill(text)
    await resident.get_by_role("button", name="Versturen").click()

    specialist = call.specialist.page
    chat_button = specialist.get_by_role("button", name="Chat")
    # a message that arrives while the panel is closed is counted, not lost
    await expect(chat_button).to_contain_text("1 nieuw", timeout=DEADLINE_MS)
    await chat_button.click()
    await expect(chat_button).to_have_attribute("aria-expanded", "true")

    received = specialist.locator("#chat-list li").last
    await expect(received.locator(".chat-text")).to_have_text(text, timeout=DEADLINE_MS)
    await expect(received.locator(".chat-meta strong")).to_have_text("Inwoner")
    # rendered as text: the markup in the message must not become an element
    assert await specialist.locator("#chat-list b").count() == 0

    own = resident.locator("#chat-list li").last
    await expect(own.locator(".chat-text")).to_have_text(text, timeout=DEADLINE_MS)
    await expect(own.locator(".chat-meta strong")).to_have_text("U")
    for participant in (call.specialist, call.resident):
        participant.assert_no_page_errors()


async def test_nothing_is_kept_in_browser_storage(call: Call) -> None:
    # Exercise the page first (media, chat, a toggle) so storage use on any path shows.
    await wait_for_video_flowing(call.resident, peers=1)
    resident = call.resident.page
    await resident.get_by_role("button", name="Microfoon uitzetten").click()
    await expect(resident.get_by_role("button", name="Microfoon aanzetten")).to_be_visible()
    await expect(resident.locator("#mic-state")).to_have_text("Uw microfoon staat uit.")
    await send_chat(call.resident, "Mijn BSN staat in de brief.")
    await expect(call.specialist.page.locator("#chat-list .chat-text")).to_have_text(
        "Mijn BSN staat in de brief.", timeout=DEADLINE_MS
    )

    for participant in (call.specialist, call.resident):
        storage = await browser_storage(participant)
        assert storage == {
            "localStorage": {},
            "sessionStorage": {},
            "indexedDB": [],
            # the browser-session id is HttpOnly: scripts cannot read it
            "documentCookie": "",
            "cookies": ["balie_browser"],
        }, f"{participant.name} stored {storage}"
        # The room token was taken out of the address bar at once.
        url = participant.page.url
        assert "#" not in url and "token" not in url, url
        assert not any(token in url for token in call.tokens)
        exposed = await participant.evaluate_json("JSON.stringify(window.balie.state)")
        assert isinstance(exposed, str)
        assert not any(token in exposed for token in call.tokens)


async def test_call_survives_a_dropped_signalling_socket(
    browser: Browser, live_balie: LiveServer
) -> None:
    cutter = SocketCutter()
    call = await start_call(browser, live_balie, resident_socket=cutter)
    try:
        await wait_for_video_flowing(call.resident, peers=1)
        cutter.blocked = True
        await cutter.cut()
        resident_status = call.resident.page.get_by_role("status")
        await expect(resident_status).to_have_text(
            "De verbinding is even weg. We proberen het opnieuw.", timeout=DEADLINE_MS
        )
        await expect(call.specialist.page.get_by_role("status")).to_contain_text(
            "De verbinding van de inwoner is even weg", timeout=DEADLINE_MS
        )
        # Media does not pass the server, so it keeps flowing without signalling.
        await wait_for_video_flowing(call.specialist, peers=1)
        # Typed while the socket is down: kept and sent after the resume.
        await send_chat(call.resident, "Hoort u mij nog?")

        cutter.blocked = False
        await expect(resident_status).to_have_text(
            "De verbinding is hersteld.", timeout=DEADLINE_MS
        )
        await expect(call.specialist.page.locator("#chat-list .chat-text")).to_have_text(
            ["Hoort u mij nog?"], timeout=DEADLINE_MS
        )
        # sent once, not again on top of the resend
        await expect(call.resident.page.locator("#chat-list .chat-text")).to_have_text(
            ["Hoort u mij nog?"], timeout=DEADLINE_MS
        )
        await wait_for_phase(call.resident, "call")
        assert cutter.attempts > 1
        await wait_for_video_flowing(call.resident, peers=1)
        await wait_for_video_flowing(call.specialist, peers=1)
        for participant in (call.specialist, call.resident):
            participant.assert_no_page_errors()
    finally:
        await call.close()


async def test_expired_seat_joins_again_through_the_lobby(browser: Browser, tmp_path: Path) -> None:
    async with live_server(tmp_path, resume_grace=1.0) as server:
        cutter = SocketCutter()
        call = await start_call(browser, server, resident_socket=cutter)
        try:
            cutter.blocked = True
            await cutter.cut()
            await expect(call.specialist.page.get_by_role("status")).to_have_text(
                "De verbinding met de inwoner is verbroken.", timeout=DEADLINE_MS
            )
            assert await call.specialist.evaluate_json("window.balie.pcs.size") == 0

            cutter.blocked = False
            # resume finds no seat (4404); the page joins again with the token it kept
            await wait_for_phase(call.resident, "lobby")
            await admit_first_waiting(call.specialist)
            await wait_for_phase(call.resident, "call")
            await wait_for_video_flowing(call.resident, peers=1)
            await wait_for_video_flowing(call.specialist, peers=1)
        finally:
            await call.close()


async def test_three_people_in_a_mesh_all_see_each_other(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room(roles=(Role.RESIDENT, Role.SPECIALIST, Role.GUEST))
    people = [
        await open_participant(browser, room.seat(role).url, name=role.value)
        for role in (Role.SPECIALIST, Role.RESIDENT, Role.GUEST)
    ]
    specialist, resident, guest = people
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        for waiting in (resident, guest):
            await click_join(waiting)
            await wait_for_phase(waiting, "lobby")
            await admit_first_waiting(specialist)
            await wait_for_phase(waiting, "call")
        for participant in people:
            await wait_for_video_flowing(participant, peers=2)
            await wait_for_remote_video(participant, count=2)
            participant.assert_no_page_errors()
        await expect(guest.page.locator("#tiles .tile-role")).to_have_text(
            ["Medewerker", "Inwoner"]
        )
        await expect(resident.page.locator("#tiles .tile-role")).to_have_text(
            ["Medewerker", "Tolk of collega"]
        )
    finally:
        for participant in people:
            await participant.close()


async def test_hold_message_admit_and_end_for_everyone(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    specialist = await open_participant(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_participant(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    try:
        await click_join(specialist)
        await wait_for_phase(specialist, "call")
        await click_join(resident)
        await wait_for_phase(resident, "lobby")

        panel = specialist.page.locator("#lobby-panel")
        await panel.get_by_label("Bericht aan Inwoner 1").fill("Ik kom over vijf minuten.")
        await panel.get_by_role("button", name="Laten wachten").click()
        await expect(resident.page.locator("#lobby-hold")).to_contain_text(
            "Ik kom over vijf minuten.", timeout=DEADLINE_MS
        )
        await expect(panel.locator(".waiting-state")).to_have_text(
            re.compile(r"^Wacht .+\. Heeft uw bericht gekregen\.$"), timeout=DEADLINE_MS
        )

        await admit_first_waiting(specialist)
        await wait_for_phase(resident, "call")
        await expect(panel.locator("#lobby-empty")).to_be_visible()
        await wait_for_video_flowing(specialist, peers=1)

        await specialist.page.get_by_role("button", name="Gesprek beëindigen voor iedereen").click()
        dialog = specialist.page.get_by_role("dialog", name="Gesprek beëindigen?")
        await expect(dialog).to_be_visible()
        await dialog.get_by_role("button", name="Ja, beëindigen").click()

        await wait_for_phase(specialist, "finished")
        await wait_for_phase(resident, "finished")
        await expect(resident.page.locator("#finished-text")).to_have_text(
            "De medewerker heeft het gesprek beëindigd."
        )
        await expect(specialist.page.locator("#finished-text")).to_have_text(
            "U heeft het gesprek beëindigd voor iedereen."
        )
        for participant in (specialist, resident):
            assert await participant.evaluate_json("window.balie.pcs.size") == 0
            # the camera is released when the call ends
            assert (
                await participant.evaluate_json("document.getElementById('self-video').srcObject")
                is None
            )
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_refused_camera_gives_advice_and_joining_still_works(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = live_balie.issue_room()
    # Headless Chromium grants the camera regardless of permissions; refuse it
    # the way a person clicking "Blokkeren" would.
    refuse = """navigator.mediaDevices.getUserMedia = () =>
        Promise.reject(new DOMException('refused by test', 'NotAllowedError'));"""
    resident = await open_participant(
        browser, room.seat(Role.RESIDENT).url, name="inwoner", init_script=refuse
    )
    try:
        await expect(resident.page.get_by_role("alert")).to_contain_text(
            "U heeft de camera en microfoon niet toegestaan", timeout=DEADLINE_MS
        )
        retry = resident.page.get_by_role("button", name="Camera en microfoon opnieuw proberen")
        await expect(retry).to_be_visible()
        for line in ("#check-camera", "#check-mic"):
            await expect(resident.page.locator(line)).to_have_text(
                "Werkt niet. Lees de melding bovenaan de pagina."
            )
        await expect(resident.page.locator("#mic-level")).to_be_hidden()
        # without a camera one can still join, to listen and to chat
        await click_join(resident)
        await wait_for_phase(resident, "lobby")
        resident.assert_no_page_errors()
    finally:
        await resident.close()
