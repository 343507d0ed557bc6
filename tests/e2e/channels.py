"""Helpers for the voice, chat, channel-switch and walk-in browser tests.

Rooms whose tokens carry a ``channel`` (and ``walkin``) claim, a probe that records what a
page asked of the browser's media (every ``getUserMedia`` constraint, every
``RTCPeerConnection`` made, the device check's included), the peer connections' RTP
statistics as plain data, and the call page's join, admit and status line by keyboard.

The probe is an init script: it wraps the two browser APIs before the page's own scripts
run, and the page cannot tell. It changes nothing the page gets back.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
from playwright.async_api import Browser, Page

from identity.wallet import TestWallet
from server.call.rooms import IssuedRoom, IssuedSeat, new_id
from server.core.appkeys import KEYS
from signaling.channels import Channel
from signaling.roles import Role
from signaling.tokens import issue_room_token
from tests.e2e.browser import (
    DEADLINE_MS,
    DEADLINE_S,
    Participant,
    call_state,
    click_join,
    focused,
    open_participant,
    tab_to,
    wait_for_phase,
)
from tests.support import LiveServer

MEDIA_PROBE_JS: Final = """
(() => {
  const probe = { constraints: [], connections: 0 };
  Object.defineProperty(window, '__mediaProbe', { value: probe });
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = (constraints) => {
      probe.constraints.push(JSON.parse(JSON.stringify(constraints ?? null)));
      return ask(constraints);
    };
  }
  const Original = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      probe.connections += 1;
    }
  };
})();
"""

#: per peer connection: its RTP streams, its senders' and transceivers' media kinds
_RTP_JS: Final = """
async () => {
  const found = [];
  for (const [peer, pc] of window.balie.pcs) {
    const rtp = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') {
        rtp.push({ type: s.type, kind: s.kind, packetsReceived: s.packetsReceived ?? 0,
                   packetsSent: s.packetsSent ?? 0 });
      }
    });
    found.push({
      peer,
      rtp,
      senderTracks: pc.getSenders().map((s) => (s.track ? s.track.kind : null)),
      transceivers: pc.getTransceivers().map((t) => t.receiver.track.kind),
    });
  }
  return found;
}
"""


@dataclass(frozen=True)
class MediaProbe:
    """What a page asked of the browser's media since it loaded."""

    #: the constraints of every getUserMedia call, in order
    constraints: list[object]
    #: how many RTCPeerConnections the page made (the device check's included)
    connections: int


def issue_channel_room(
    server: LiveServer,
    channel: Channel,
    *,
    walkin: bool = False,
    purpose: str | None = None,
    tenant: str | None = None,
) -> IssuedRoom:
    """A resident's and a specialist's seat in a new room, both tokens naming ``channel``
    (as the walk-in counter issues them), and ``walkin`` when the room is a counter's; with
    ``purpose`` and ``tenant`` the resident shows who they are first (and a walk-in
    resident then gets a real place in that purpose's queue)."""
    config = server.config
    room = new_id("r")
    seats = []
    for role in (Role.RESIDENT, Role.SPECIALIST):
        participant_id = new_id("p")
        token = issue_room_token(
            server.app[KEYS],
            issuer=config.tokens.issuer,
            room=room,
            participant_id=participant_id,
            role=role,
            now=int(time.time()),
            ttl=config.tokens.room_token_ttl,
            channel=channel,
            walkin=walkin,
            purpose=purpose,
            tenant=tenant,
        )
        seats.append(
            IssuedSeat(
                participant_id, role, token, f"{config.public_url}/call/{room}#token={token}"
            )
        )
    return IssuedRoom(room, tuple(seats))


async def open_probed(browser: Browser, url: str, *, name: str) -> Participant:
    """A participant whose page carries the media probe from its first script on."""
    return await open_participant(browser, url, name=name, init_script=MEDIA_PROBE_JS)


async def open_both(browser: Browser, room: IssuedRoom) -> tuple[Participant, Participant]:
    """The room's specialist and resident, each in a probed browser context of their own."""
    specialist = await open_probed(browser, room.seat(Role.SPECIALIST).url, name="medewerker")
    resident = await open_probed(browser, room.seat(Role.RESIDENT).url, name="inwoner")
    return specialist, resident


async def media_probe(participant: Participant) -> MediaProbe:
    raw = await participant.evaluate_json(
        "() => ({ constraints: window.__mediaProbe.constraints,"
        " connections: window.__mediaProbe.connections })"
    )
    assert isinstance(raw, dict), raw
    constraints = raw["constraints"]
    connections = raw["connections"]
    assert isinstance(constraints, list) and isinstance(connections, int), raw
    return MediaProbe(constraints, connections)


async def rtp_by_peer(participant: Participant) -> list[dict[str, object]]:
    """Per peer connection: ``rtp`` (inbound/outbound streams with kind and packet counts),
    ``senderTracks`` (the kind of each sender's track, or None) and ``transceivers``."""
    raw = await participant.evaluate_json(_RTP_JS)
    assert isinstance(raw, list), raw
    found: list[dict[str, object]] = []
    for item in raw:
        assert isinstance(item, dict), item
        found.append({str(key): value for key, value in item.items()})
    return found


def audio_packets_received(connections: list[dict[str, object]]) -> int:
    total = 0
    for connection in connections:
        rtp = connection["rtp"]
        assert isinstance(rtp, list)
        for stream in rtp:
            assert isinstance(stream, dict)
            if stream["type"] == "inbound-rtp" and stream["kind"] == "audio":
                packets = stream["packetsReceived"]
                assert isinstance(packets, int | float)
                total += int(packets)
    return total


async def wait_for_audio_received(participant: Participant) -> list[dict[str, object]]:
    """Poll until the page's one peer connection has received audio packets; the stats
    that showed it. Only that packets arrive is asserted, never a rate."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    connections: list[dict[str, object]] = []
    while loop.time() < deadline:
        connections = await rtp_by_peer(participant)
        if len(connections) == 1 and audio_packets_received(connections) > 0:
            return connections
        await asyncio.sleep(0.5)
    state = await call_state(participant)
    raise AssertionError(
        f"{participant.name}: no audio packets received: {connections}; state {state}\n"
        f"{participant.describe()}"
    )


async def join_and_show_who(resident: Participant, values: dict[str, str]) -> None:
    """Press "Deelnemen" and answer the identity step with the scripted wallet: for tests
    about what comes after it (the demo wallet's own path: tests/e2e/test_walkin_browser.py,
    test_demo_wallet.py)."""
    page = resident.page
    async with page.expect_response(
        lambda r: r.url.endswith("/verification/session") and r.request.method == "POST"
    ) as caught:
        await click_join(resident)
    started: Any = await (await caught.value).json()
    await page.locator("#yivi-web-form canvas").wait_for(state="visible")
    async with aiohttp.ClientSession() as http:
        await TestWallet(http).disclose(started["sessionPtr"], values)


# -- the call page by keyboard ----------------------------------------------------------

#: the focus description (``focused``) of a button by id
BUTTON: Final = r"^button\|button\|{}\|"


def button(element_id: str) -> str:
    return BUTTON.format(element_id)


async def join_with_the_keyboard(participant: Participant) -> None:
    page = participant.page
    # enabled once the device check is done; waiting is no click
    await page.wait_for_function(
        "() => !document.getElementById('join-btn').disabled", timeout=DEADLINE_MS
    )
    await tab_to(page, button("join-btn"))
    await page.keyboard.press("Enter")


async def admit_with_the_keyboard(specialist: Participant) -> None:
    page = specialist.page
    await page.get_by_role("button", name=re.compile(r"^Toelaten")).first.wait_for(state="visible")
    await tab_to(page, r"^button\|button\|\|Toelaten")
    await page.keyboard.press("Enter")


async def into_the_call(specialist: Participant, resident: Participant) -> None:
    """Both join and the specialist admits, with the keyboard only."""
    await join_with_the_keyboard(specialist)
    await wait_for_phase(specialist, "call")
    await join_with_the_keyboard(resident)
    await wait_for_phase(resident, "lobby")
    await admit_with_the_keyboard(specialist)
    await wait_for_phase(resident, "call")
    await wait_for_phase(specialist, "call")


async def tab_stops(page: Page, stops: int = 25) -> list[str]:
    """Where Tab goes, ``stops`` times from the focus (more than once round the page)."""
    await page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(stops):
        await page.keyboard.press("Tab")
        seen.append(await focused(page))
    return seen


async def status_texts(page: Page) -> list[str]:
    """What the status line said since ``watch_status`` (empty resets skipped)."""
    texts = await page.evaluate("() => window.__statusTexts")
    assert isinstance(texts, list)
    return [str(text) for text in texts]


async def watch_status(page: Page) -> None:
    """Record every text the polite status line shows from now on."""
    await page.evaluate(
        """() => {
             window.__statusTexts = [];
             const status = document.getElementById('status');
             new MutationObserver(() => {
               if (status.textContent) window.__statusTexts.push(status.textContent);
             }).observe(status, { childList: true, characterData: true, subtree: true });
           }"""
    )
