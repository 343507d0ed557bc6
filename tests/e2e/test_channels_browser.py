"""Voice, chat and the walk-in waiting room on the call page, in a real Chromium against a
real Balie server (issue 13).

- **Voice** (token ``channel: voice``): both pages ask for the microphone only, send and
  receive audio, and no video track, sender or transceiver ever exists on either side; the
  page is a phone call (call card with who and how long, no camera anywhere).
- **Chat** (``channel: chat``): no getUserMedia and no RTCPeerConnection at all (the device
  check's included), messages both ways, the chat is the main stage and takes the focus once,
  when the call starts, never when a message arrives.
- **Walk-in** (``walkin: true``): the resident's waiting room asks the queue on entering,
  shows place, count and expected wait from the server's ``queue`` notices (delivered by the
  server's own notice path, ``Hub.notify``, as the counter will), announces changes once
  without moving the focus, and "Wachtrij verlaten" sends DELETE and leaves. Once more with
  the counter's own server side (server/walkin): after the identity step the server makes
  the place and tells it, and DELETE gives it up.
- axe (0 violations, phone and desktop) and keyboard-only operation for all three.

A media probe (``tests/e2e/channels.py``) records every getUserMedia constraint and every
RTCPeerConnection a page makes. Deadlines only stop a broken test from hanging; nothing
asserts speed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from server.call.appkeys import HUB
from signaling.channels import Channel
from signaling.roles import Role
from signaling.turn import IceSettings
from tests.e2e import browser as e2e_browser
from tests.e2e.browser import (
    DEADLINE_MS,
    accessible_at_both_sizes,
    focused,
    tab_to,
    wait_for_phase,
)
from tests.e2e.channels import (
    admit_with_the_keyboard,
    button,
    into_the_call,
    issue_channel_room,
    join_and_show_who,
    join_with_the_keyboard,
    media_probe,
    open_both,
    open_probed,
    rtp_by_peer,
    status_texts,
    tab_stops,
    wait_for_audio_received,
    watch_status,
)
from tests.support import LiveServer, config_for, free_port, live_server

browser = e2e_browser.browser
live_balie = e2e_browser.live_balie

pytestmark = pytest.mark.e2e

# -- voice -------------------------------------------------------------------------------


async def test_a_voice_call_carries_audio_only_on_both_sides(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.VOICE)
    specialist, resident = await open_both(browser, room)
    try:
        for participant in (specialist, resident):
            page = participant.page
            await expect(page.locator("h1")).to_have_text("Bellen met de gemeente")
            # the device check: microphone and sound, no camera row, no own picture
            await expect(page.locator("#check-mic")).to_have_text(
                re.compile("^Goed"), timeout=DEADLINE_MS
            )
            await expect(page.locator("#check-camera-row")).to_be_hidden()
            await expect(page.locator("#check-sound-row")).to_be_visible()
            await expect(page.locator("#self-video")).to_be_hidden()
            await expect(
                page.get_by_role("button", name="Microfoon opnieuw proberen")
            ).to_be_hidden()
        await into_the_call(specialist, resident)

        for participant, other in ((specialist, "de inwoner"), (resident, "de medewerker")):
            page = participant.page
            connections = await wait_for_audio_received(participant)
            # sent too: the other side's inbound audio is this side's outbound
            outbound = [
                stream
                for connection in connections
                for stream in connection["rtp"]  # type: ignore[attr-defined]
                if stream["type"] == "outbound-rtp"
            ]
            assert outbound and all(s["kind"] == "audio" for s in outbound), connections
            for connection in await rtp_by_peer(participant):
                kinds = {(s["type"], s["kind"]) for s in connection["rtp"]}  # type: ignore[attr-defined]
                assert ("outbound-rtp", "video") not in kinds, connection
                assert ("inbound-rtp", "video") not in kinds, connection
                assert connection["senderTracks"] == ["audio"], connection
                # not even a receive-only video transceiver
                assert connection["transceivers"] == ["audio"], connection
            probe = await media_probe(participant)
            assert probe.constraints, "the microphone was never asked for"
            for constraints in probe.constraints:
                assert isinstance(constraints, dict) and constraints.get("video") is False, (
                    probe.constraints
                )
                assert constraints.get("audio"), probe.constraints
            state = await participant.evaluate_json("window.balie.state")
            assert isinstance(state, dict)
            assert (state["channel"], state["audio"], state["video"]) == ("voice", True, False)

            # a phone call: who it is with, for how long; a microphone and no camera button
            await expect(page.locator("#call-with")).to_have_text(f"In gesprek met {other}")
            await expect(page.locator("#call-time")).to_have_text(
                re.compile(r"^0:0[1-9]|^0:[1-5]\d|^\d+:\d\d"), timeout=DEADLINE_MS
            )
            await expect(page.locator("#mic-btn")).to_be_visible()
            await expect(page.locator("#cam-btn")).to_be_hidden()
            await expect(page.locator("#cam-state")).to_be_hidden()
            await expect(page.locator("#self-video")).to_be_hidden()
            # no picture anywhere: no remote video, and the own one plays nothing
            assert await page.locator("#tiles video:not(#self-video)").count() == 0
            assert await participant.evaluate_json(
                "document.getElementById('self-video').srcObject === null"
            )
            await expect(page.locator("#tiles audio")).to_have_count(1)
            await expect(page.get_by_role("status")).to_contain_text(
                f"U bent in gesprek met {other}"
            )
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_a_voice_call_with_the_keyboard_only_and_no_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.VOICE)
    specialist, resident = await open_both(browser, room)
    r_page = resident.page
    try:
        await r_page.wait_for_function("() => !document.getElementById('join-btn').disabled")
        await accessible_at_both_sizes(r_page, "voice: device check")
        await into_the_call(specialist, resident)
        await wait_for_audio_received(resident)
        await expect(r_page.locator("#call-card")).to_be_visible()
        await accessible_at_both_sizes(r_page, "voice: resident in the call")
        await accessible_at_both_sizes(specialist.page, "voice: specialist in the call")

        # the call started with the focus on the microphone; there is no camera to reach
        assert re.search(button("mic-btn"), await focused(r_page)), await focused(r_page)
        stops = await tab_stops(r_page)
        assert not any("cam-btn" in stop for stop in stops), stops
        assert any(re.search(button("leave-btn"), stop) for stop in stops), stops

        await tab_to(r_page, button("mic-btn"))
        await r_page.keyboard.press("Space")
        await expect(r_page.locator("#mic-btn")).to_have_text("Microfoon aanzetten")
        await expect(r_page.locator("#mic-state")).to_have_text("Uw microfoon staat uit.")
        await expect(r_page.get_by_role("status")).to_have_text("Uw microfoon staat uit.")
        # the other side sees it, without a "camera uit" that would mean nothing here
        await expect(specialist.page.locator("#tiles .tile-remote .tile-state")).to_have_text(
            "(microfoon uit)", timeout=DEADLINE_MS
        )
        await r_page.keyboard.press("Enter")
        await expect(r_page.locator("#mic-state")).to_have_text("Uw microfoon staat aan.")
        await expect(specialist.page.locator("#tiles .tile-remote .tile-state")).to_have_text(
            "", timeout=DEADLINE_MS
        )

        await tab_to(r_page, button("leave-btn"))
        await r_page.keyboard.press("Enter")
        await wait_for_phase(resident, "finished")
        await expect(specialist.page.get_by_role("status")).to_contain_text(
            "De inwoner heeft het gesprek verlaten.", timeout=DEADLINE_MS
        )
        await accessible_at_both_sizes(r_page, "voice: resident hung up")
        for participant in (specialist, resident):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


# -- chat --------------------------------------------------------------------------------


async def test_a_chat_call_carries_messages_both_ways_and_no_media_at_all(
    browser: Browser, tmp_path: Path
) -> None:
    # A STUN server configured (where nothing answers): a video page's device check would
    # make a peer connection to test it; a chat page must not.
    stun = IceSettings(stun_urls=(f"stun:127.0.0.1:{free_port(udp=True)}",))
    async with live_server(tmp_path, config=config_for(tmp_path, ice=stun)) as server:
        await _chat_without_media(browser, server)


async def _chat_without_media(browser: Browser, server: LiveServer) -> None:
    room = issue_channel_room(server, Channel.CHAT)
    specialist, resident = await open_both(browser, room)
    s_page, r_page = specialist.page, resident.page
    try:
        for participant in (specialist, resident):
            page = participant.page
            await expect(page.locator("h1")).to_have_text("Chatten met de gemeente")
            # only the connection is checked: no camera, microphone or sound rows
            for row in ("#check-camera-row", "#check-mic-row", "#check-sound-row"):
                await expect(page.locator(row)).to_be_hidden()
            await expect(page.locator("#check-network")).to_have_text(
                "Uw verbinding is goed.", timeout=DEADLINE_MS
            )
            await expect(page.locator("#self-video")).to_be_hidden()

        await join_with_the_keyboard(specialist)
        await wait_for_phase(specialist, "call")
        # the chat is the call: open without a click, its input focused as the call starts
        await expect(s_page.locator("#chat-panel")).to_be_visible()
        await expect(s_page.locator("#chat-input")).to_be_focused()
        await join_with_the_keyboard(resident)
        await wait_for_phase(resident, "lobby")
        await admit_with_the_keyboard(specialist)
        await wait_for_phase(resident, "call")
        await expect(r_page.locator("#chat-input")).to_be_focused()
        for page, other in ((s_page, "de inwoner"), (r_page, "de medewerker")):
            await expect(page.locator("#chat-btn")).to_be_hidden()
            await expect(page.locator("#mic-btn")).to_be_hidden()
            await expect(page.locator("#cam-btn")).to_be_hidden()
            await expect(page.locator("#media-state")).to_be_hidden()
            await expect(page.locator("#call-with")).to_have_text(f"U chat met {other}.")

        # (the specialist admitted from the lobby panel: the focus is there)
        specialist_focus = await focused(s_page)
        await r_page.keyboard.type("Goedemorgen, ik heb een vraag over mijn paspoort.")
        await r_page.keyboard.press("Enter")
        await expect(s_page.locator("#chat-list .chat-text")).to_have_text(
            ["Goedemorgen, ik heb een vraag over mijn paspoort."], timeout=DEADLINE_MS
        )
        # an arriving message leaves the focus where it was: no jump to the chat
        assert await focused(s_page) == specialist_focus
        await tab_to(s_page, r"^textarea\|\|chat-input\|")
        # Escape does not close the chat: it is the call itself
        await s_page.keyboard.press("Escape")
        await expect(s_page.locator("#chat-panel")).to_be_visible()
        await expect(s_page.locator("#chat-input")).to_be_focused()

        # a message that arrives never takes the focus from where the resident is
        await tab_to(r_page, button("leave-btn"))
        await s_page.keyboard.type("Goedemorgen. Wat wilt u weten?")
        await s_page.keyboard.press("Enter")
        await expect(r_page.locator("#chat-list .chat-text")).to_have_text(
            [
                "Goedemorgen, ik heb een vraag over mijn paspoort.",
                "Goedemorgen. Wat wilt u weten?",
            ],
            timeout=DEADLINE_MS,
        )
        await expect(r_page.locator("#leave-btn")).to_be_focused()
        await expect(r_page.locator("#leave-btn")).to_have_text("Chat verlaten")

        for participant in (specialist, resident):
            probe = await media_probe(participant)
            assert probe.constraints == [], f"{participant.name} asked for devices"
            # none at all: not for the call, not for the device check
            assert probe.connections == 0, f"{participant.name} made a peer connection"
            assert await participant.evaluate_json("window.balie.pcs.size") == 0
            state = await participant.evaluate_json("window.balie.state")
            assert isinstance(state, dict)
            assert (state["channel"], state["audio"], state["video"]) == ("chat", False, False)
            verdict = await participant.evaluate_json("window.balie.connectionVerdict")
            assert verdict == {"level": "good", "candidates": []}, verdict
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_a_chat_call_with_the_keyboard_only_and_no_axe_violations(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.CHAT)
    specialist, resident = await open_both(browser, room)
    r_page = resident.page
    try:
        await r_page.wait_for_function("() => !document.getElementById('join-btn').disabled")
        await accessible_at_both_sizes(r_page, "chat: device check")
        await into_the_call(specialist, resident)
        await r_page.keyboard.type("Hallo, zie https://example.org/uitleg.")
        await r_page.keyboard.press("Enter")
        await expect(specialist.page.locator("#chat-list a")).to_have_attribute(
            "href", "https://example.org/uitleg", timeout=DEADLINE_MS
        )
        await accessible_at_both_sizes(r_page, "chat: resident in the call, a message sent")
        await accessible_at_both_sizes(specialist.page, "chat: specialist, a message received")

        # everything is reached with Tab: the link in the log, the input, send, leave
        stops = await tab_stops(r_page)
        for wanted in (
            r"^a\|\|\|https://example\.org/uitleg$",
            r"^textarea\|\|chat-input\|",
            r"^button\|submit\|chat-send\|Versturen",
            button("leave-btn"),
        ):
            assert any(re.search(wanted, stop) for stop in stops), (wanted, stops)
        assert not any(re.search(r"mic-btn|cam-btn|chat-btn", stop) for stop in stops), stops

        await tab_to(r_page, button("leave-btn"))
        await r_page.keyboard.press("Enter")
        await wait_for_phase(resident, "finished")
        await expect(r_page.locator("#finished-title")).to_be_focused()
        for participant in (specialist, resident):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


# -- walk-in -----------------------------------------------------------------------------


async def test_the_walkin_waiting_room_follows_the_queue(
    browser: Browser, live_balie: LiveServer
) -> None:
    room = issue_channel_room(live_balie, Channel.VOICE, walkin=True)
    resident = await open_probed(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    page = resident.page
    hub = live_balie.app[HUB]

    async def notice(**fields: object) -> None:
        # the server's own path for notices to a room's residents (as verify/verified)
        await hub.notify(room.room, Role.RESIDENT, {"type": "queue", **fields})

    try:
        queue_url = f"/api/rooms/{room.room}/queue"
        async with page.expect_request(
            lambda r: r.url.endswith(queue_url) and r.method == "GET"
        ) as asked:
            await join_with_the_keyboard(resident)
            await wait_for_phase(resident, "lobby")
        request = await asked.value
        # the token rides in the header, never in the address
        assert (await request.all_headers())["authorization"].startswith("Bearer ")
        assert "token" not in request.url

        lobby = page.locator("#lobby")
        await expect(lobby).to_contain_text("U staat in de wachtrij.")
        await expect(page.locator("#queue")).to_be_visible()
        await expect(page.locator("#leave-btn")).to_have_text("Wachtrij verlaten")
        where = await focused(page)
        await watch_status(page)

        await notice(state="waiting", position=3, waiting=7, expected_minutes=12)
        await expect(page.locator("#queue-position")).to_have_text(
            "U bent nummer 3 in de wachtrij.", timeout=DEADLINE_MS
        )
        await expect(page.locator("#queue-waiting")).to_have_text(
            "Er wachten nu 7 mensen in totaal."
        )
        await expect(page.locator("#queue-expected")).to_have_text(
            "U moet ongeveer 12 minuten wachten."
        )
        await expect(page.get_by_role("status")).to_have_text(
            "U bent nummer 3 in de wachtrij. U moet ongeveer 12 minuten wachten."
        )
        state = await resident.evaluate_json("window.balie.state.queue")
        assert state == {
            "state": "waiting",
            "position": 3,
            "waiting": 7,
            "expectedMinutes": 12,
            "offer": None,
        }
        await accessible_at_both_sizes(page, "walk-in: waiting room with a place")

        # the same place again, then only more people behind: nothing new to announce
        await notice(state="waiting", position=3, waiting=7, expected_minutes=12)
        await notice(state="waiting", position=3, waiting=9, expected_minutes=12)
        await expect(page.locator("#queue-waiting")).to_have_text(
            "Er wachten nu 9 mensen in totaal."
        )
        await notice(state="waiting", position=1, waiting=9, expected_minutes=None)
        await expect(page.locator("#queue-position")).to_have_text(
            "U bent de eerste in de wachtrij."
        )
        await expect(page.locator("#queue-expected")).to_have_text(
            "We weten nog niet hoe lang het duurt."
        )
        await notice(state="taken")
        await expect(page.locator("#queue-taken")).to_be_visible()
        await expect(page.locator("#queue-taken")).to_have_text("Een medewerker komt zo bij u.")
        await expect(page.locator("#queue-position")).to_be_hidden()
        await expect(page.get_by_role("status")).to_have_text("Een medewerker komt zo bij u.")
        assert await status_texts(page) == [
            "U bent nummer 3 in de wachtrij. U moet ongeveer 12 minuten wachten.",
            "U bent de eerste in de wachtrij. We weten nog niet hoe lang het duurt.",
            "Een medewerker komt zo bij u.",
        ]
        # announced, never focused
        assert await focused(page) == where
        await accessible_at_both_sizes(page, "walk-in: a specialist is on the way")

        # "Wachtrij verlaten" with the keyboard: DELETE, then the normal way out
        async with page.expect_request(
            lambda r: r.url.endswith(queue_url) and r.method == "DELETE"
        ) as left:
            await tab_to(page, button("leave-btn"))
            await page.keyboard.press("Enter")
        assert (await (await left.value).all_headers())["authorization"].startswith("Bearer ")
        await wait_for_phase(resident, "finished")
        await expect(page.locator("#finished-title")).to_be_focused()
        await expect(page.locator("#finished-text")).to_have_text("U heeft de wachtrij verlaten.")
        resident.assert_no_page_errors()
    finally:
        await resident.close()


async def test_a_walkin_resident_is_admitted_and_the_queue_lines_go(
    browser: Browser, live_balie: LiveServer
) -> None:
    """The specialist who took the resident admits them (the existing lobby); a notice that
    arrives after that changes nothing on the call's screen."""
    room = issue_channel_room(live_balie, Channel.CHAT, walkin=True)
    specialist, resident = await open_both(browser, room)
    try:
        await join_with_the_keyboard(resident)
        await wait_for_phase(resident, "lobby")
        await live_balie.app[HUB].notify(
            room.room, Role.RESIDENT, {"type": "queue", "state": "taken"}
        )
        await expect(resident.page.locator("#queue-taken")).to_be_visible(timeout=DEADLINE_MS)
        # the room's own lobby holds only this resident: its "first in line" is not shown
        await expect(resident.page.locator("#lobby-position")).to_be_hidden()
        await accessible_at_both_sizes(resident.page, "walk-in chat: taken, phone and desktop")
        await join_with_the_keyboard(specialist)
        await wait_for_phase(specialist, "call")
        await admit_with_the_keyboard(specialist)
        await wait_for_phase(resident, "call")
        await expect(resident.page.locator("#queue")).to_be_hidden()
        await expect(resident.page.locator("#chat-input")).to_be_focused()
        await live_balie.app[HUB].notify(
            room.room, Role.RESIDENT, {"type": "queue", "state": "left"}
        )
        await resident.page.keyboard.type("Dag!")
        await resident.page.keyboard.press("Enter")
        # the own message comes back after the notice (one ordered stream per seat)
        await expect(resident.page.locator("#chat-list .chat-text")).to_have_text(
            ["Dag!"], timeout=DEADLINE_MS
        )
        await expect(resident.page.locator("#queue")).to_be_hidden()
        assert await resident.evaluate_json("window.balie.state.queue") is None
        for participant in (specialist, resident):
            participant.assert_no_page_errors()
    finally:
        await resident.close()
        await specialist.close()


async def test_a_walkin_resident_gets_a_place_from_the_server_and_gives_it_up(
    browser: Browser, live_balie: LiveServer
) -> None:
    """The whole path with the walk-in counter's own server side (server/walkin): the
    identity step, the lobby, the place the server makes and tells (notice and GET), and
    "Wachtrij verlaten" giving it up with DELETE."""
    room = issue_channel_room(
        live_balie, Channel.VOICE, walkin=True, purpose="belastingen", tenant="demo"
    )
    resident = await open_probed(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    page = resident.page
    try:
        async with page.expect_response(
            lambda r: r.url.endswith(f"/api/rooms/{room.room}/queue") and r.request.method == "GET"
        ):
            await join_and_show_who(resident, {"irma-demo.gemeente.personalData.bsn": "999999990"})
            await wait_for_phase(resident, "lobby")
        # alone in this purpose's queue of a fresh server
        await expect(page.locator("#queue-position")).to_have_text(
            "U bent de eerste in de wachtrij.", timeout=DEADLINE_MS
        )
        await expect(page.locator("#queue-waiting")).to_have_text("Er wacht nu niemand anders.")
        await expect(page.locator("#queue-expected")).to_be_visible()
        state = await resident.evaluate_json("window.balie.state.queue")
        assert isinstance(state, dict) and state["state"] == "waiting", state
        assert (state["position"], state["waiting"]) == (1, 1), state
        await accessible_at_both_sizes(page, "walk-in: a real place in the queue")

        async with page.expect_response(
            lambda r: (
                r.url.endswith(f"/api/rooms/{room.room}/queue") and r.request.method == "DELETE"
            )
        ) as left:
            await tab_to(page, button("leave-btn"))
            await page.keyboard.press("Enter")
        response = await left.value
        assert response.status == 200, await response.text()
        assert await response.json() == {"state": "left"}
        await wait_for_phase(resident, "finished")
        await expect(page.locator("#finished-text")).to_have_text("U heeft de wachtrij verlaten.")
        resident.assert_no_page_errors()
    finally:
        await resident.close()
