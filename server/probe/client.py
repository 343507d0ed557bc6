"""``balie probe``: one whole synthetic call against a running Balie, step by step.

1. ``room``: ask ``POST /api/probe/rooms`` for a fresh room with the probe secret;
2. ``connect``: open two signalling WebSockets, as the call page does (same ``Origin``);
3. ``join``: the specialist takes its seat in the call, the resident in the waiting room;
4. ``admit``: the specialist admits the resident;
5. ``ice``: offer and answer through the server until both peer connections are connected
   (ICE), with the ICE servers (and TURN credentials) the server gave each seat;
6. ``frame``: until each side has decoded a frame of the other's video.

Each step's duration is reported; the first step that fails ends the probe with one line
that says what is wrong. At the end the specialist ends the call, so the room closes.
``relay_only`` keeps both peers to TURN relay candidates (and checks they had some), so
the call goes through the TURN server or not at all; ``turn`` picks which of the server's
TURN URLs to use (``udp``, ``tcp`` or ``tls``: aiortc uses one).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import aiohttp

from server.probe.peer import VideoPeer, negotiate
from server.probe.signalling import Signal, SignalError

#: the probe-room endpoint (server/probe/api.py)
ROOMS_PATH: Final = "/api/probe/rooms"
#: seconds each step may take unless told otherwise
STEP_DEADLINE: Final = 20.0
#: which of the server's TURN URLs ``turn`` picks
TURN_KINDS: Final = ("udp", "tcp", "tls")
#: what each step has done when it succeeds
DONE: Final = {
    "room": "a probe room issued",
    "connect": "two signalling WebSockets open",
    "join": "specialist in the call, resident in the waiting room",
    "admit": "resident admitted",
    "ice": "both peer connections connected",
    "frame": "both sides decoded a video frame",
}

_T = TypeVar("_T")


class ProbeFailed(Exception):
    """A step failed; the message says what is wrong, in one line."""


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    seconds: float
    detail: str


@dataclass(slots=True)
class ProbeReport:
    url: str
    relay_only: bool
    steps: list[Step] = field(default_factory=list)
    #: the step that failed and why, or None
    failed: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def total(self) -> float:
        return sum(step.seconds for step in self.steps)

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "url": self.url,
            "relay_only": self.relay_only,
            "steps": [
                {"step": s.name, "ms": round(s.seconds * 1000), "detail": s.detail}
                for s in self.steps
            ],
            "total_ms": round(self.total * 1000),
            "failed": self.failed,
            "error": self.error,
        }

    def lines(self) -> list[str]:
        """The steps done as text, then ``ok`` (a failure is the caller's one line)."""
        mode = " (relay only)" if self.relay_only else ""
        lines = [f"balie probe {self.url}{mode}"]
        lines += [f"{s.name:8} {s.seconds * 1000:6.0f} ms  {s.detail}" for s in self.steps]
        if self.ok:
            lines.append(f"ok: a whole call in {self.total * 1000:.0f} ms")
        return lines

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time step ``name``; what it appends to the list it is given goes after its
        :data:`DONE` text. Any error ends the probe as :class:`ProbeFailed`."""
        notes: list[str] = []
        started = time.perf_counter()
        try:
            yield notes
        except ProbeFailed as failed:
            self.failed, self.error = name, str(failed)
            raise
        except (TimeoutError, SignalError, aiohttp.ClientError, OSError, ValueError) as error:
            self.failed, self.error = name, explain(error, self.url)
            raise ProbeFailed(self.error) from None
        detail = DONE[name] + (f" ({'; '.join(notes)})" if notes else "")
        self.steps.append(Step(name, time.perf_counter() - started, detail))


async def probe(
    url: str,
    secret: str,
    *,
    relay_only: bool = False,
    turn: str | None = None,
    deadline: float = STEP_DEADLINE,
) -> ProbeReport:
    """Place the call; the report says how far it got and how long each step took."""
    base = url.rstrip("/")
    report = ProbeReport(base, relay_only)
    timeout = aiohttp.ClientTimeout(total=deadline)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, AsyncExitStack() as stack:
            await _call(report, http, stack, secret, relay_only, turn, deadline)
    except ProbeFailed:
        pass
    return report


async def _call(
    report: ProbeReport,
    http: aiohttp.ClientSession,
    stack: AsyncExitStack,
    secret: str,
    relay_only: bool,
    turn: str | None,
    deadline: float,
) -> None:
    base = report.url
    with report.step("room"):
        room = await _issue(http, base, secret)
    parts = urlsplit(base)
    origin = f"{parts.scheme}://{parts.netloc}"
    ws_url = f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}/ws"
    with report.step("connect"):
        specialist, resident = [
            await stack.enter_async_context(
                Signal.open(http, ws_url, origin=origin, deadline=deadline)
            )
            for _ in range(2)
        ]
    with report.step("join"):
        specialist_joined = await specialist.join(room["specialist"]["token"])
        resident_joined = await resident.join(room["resident"]["token"])
        if (specialist_joined["state"], resident_joined["state"]) != ("call", "lobby"):
            raise ProbeFailed("the seats did not land where a new room puts them")
    # whatever happens next, the call ends and the room closes
    stack.push_async_callback(_end, specialist)
    with report.step("admit"):
        await specialist.send(type="admit", participant_id=resident.participant_id)
        await resident.expect("admitted")
        await specialist.expect("peer-joined")
    with report.step("ice") as notes:
        started = time.perf_counter()
        peers = []
        for joined in (specialist_joined, resident_joined):
            usable = ice_servers(joined["ice_servers"], relay_only=relay_only, turn=turn)
            peers.append(VideoPeer(usable, relay_only=relay_only))
            stack.push_async_callback(peers[-1].close)
        await negotiate(peers[0], specialist, peers[1], resident)
        if relay_only:
            _relay_candidates_on_both_sides(peers)
        ends = await _within(deadline, "ICE", asyncio.gather(peers[0].ice, peers[1].ice))
        if any(state == "failed" for state, _ in ends):
            raise ProbeFailed(
                "ICE failed: no candidate pair connected the two peers"
                + (" through the TURN server" if relay_only else "")
            )
        connected = max(at for _, at in ends)
        notes.append(f"{peers[0].route()}; candidates {', '.join(sorted(_types(peers)))}")
    with report.step("frame"):
        firsts = await _within(
            deadline, "video frame", asyncio.gather(peers[0].first_frame, peers[1].first_frame)
        )
    # ICE's and the first frame's own moments, not when this task got round to them
    report.steps[-2] = _timed(report.steps[-2], connected - started)
    report.steps[-1] = _timed(report.steps[-1], max(0.0, max(firsts) - connected))


def ice_servers(
    given: list[Mapping[str, Any]], *, relay_only: bool, turn: str | None
) -> list[dict[str, Any]]:
    """The server's ICE servers for a seat, cut to what the probe may use: TURN only when
    relay-only, and of TURN only the URLs of the ``turn`` kind if one is asked for."""
    servers = []
    for server in given:
        urls = [server["urls"]] if isinstance(server["urls"], str) else list(server["urls"])
        if "credential" not in server:  # STUN: no use to a relay
            if relay_only or turn:
                continue
        elif turn:
            urls = [u for u in urls if turn_kind(u) == turn]
        if urls:
            servers.append({**server, "urls": urls})
    if (relay_only or turn) and not any("credential" in s for s in servers):
        kind = f" over {turn}" if turn else ""
        raise ProbeFailed(
            f"the server gives out no TURN URL{kind} (BALIE_TURN_URLS), so there is no relay to use"
        )
    return servers


def turn_kind(url: str) -> str:
    """``udp``, ``tcp`` or ``tls`` for a ``turn:``/``turns:`` URL."""
    if url.startswith("turns:"):
        return "tls"
    return "tcp" if "transport=tcp" in url else "udp"


def explain(error: BaseException, url: str) -> str:
    """One line for what went wrong talking to the server."""
    if isinstance(error, aiohttp.WSServerHandshakeError):
        if error.status == 403:
            origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
            return (
                f"the WebSocket was refused (403): BALIE_ALLOWED_ORIGINS on the server does "
                f"not name {origin}"
            )
        return (
            f"the WebSocket upgrade on /ws was answered {error.status}: the proxy in front "
            "must pass WebSocket upgrades on /ws"
        )
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return f"{url}: the TLS certificate is not trusted ({error.certificate_error})"
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
        reason = os.strerror(cause.errno) if cause.errno else str(cause) or type(cause).__name__
        return f"cannot reach {url}: {reason} (is Balie running there?)"
    if isinstance(error, SignalError):
        return _refused_frame(error)
    if isinstance(error, TimeoutError):
        return f"no answer in time: {error}" if str(error) else "no answer in time"
    return f"{type(error).__name__}: {error}"


def _refused_frame(error: SignalError) -> str:
    if error.code in ("token-invalid", "token-expired") or error.close_code == 4401:
        return (
            f"the probe room could not be joined ({error}): the node that answered the "
            "WebSocket does not accept the room token; every node needs the same "
            "BALIE_ROOM_KEYS_FILE"
        )
    if error.code == "unavailable" or error.close_code == 1013:
        return f"the probe room could not be joined ({error}): the nodes' Redis is unavailable"
    return f"the server refused the probe: {error}"


async def _issue(http: aiohttp.ClientSession, base: str, secret: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}"}
    async with http.post(base + ROOMS_PATH, headers=headers) as response:
        if response.status == 201:
            room: dict[str, Any] = await response.json()
            return room
        status = response.status
        retry = response.headers.get("Retry-After", "60")
    if status == 401:
        raise ProbeFailed(
            "the probe secret was refused (401), so no room can be joined: BALIE_PROBE_SECRET "
            "here must be the server's"
        )
    if status == 404:
        raise ProbeFailed(
            f"no probe rooms at {base} (404): probing is off there (set BALIE_PROBE_SECRET on "
            "every node), or this is not Balie"
        )
    if status == 429:
        raise ProbeFailed(f"too many probes from here (429): try again in {retry} s")
    raise ProbeFailed(f"{base}{ROOMS_PATH} answered {status}")


def _relay_candidates_on_both_sides(peers: list[VideoPeer]) -> None:
    for side, peer in zip(("specialist", "resident"), peers, strict=True):
        if "relay" not in peer.candidate_types():
            raise ProbeFailed(
                f"no TURN relay candidate on the {side}'s side: the TURN server refused the "
                "credentials Balie gave (BALIE_TURN_SECRET must be coturn's "
                "static-auth-secret) or cannot be reached at its URL"
            )


def _types(peers: list[VideoPeer]) -> set[str]:
    return {kind for peer in peers for kind in peer.candidate_types()}


def _timed(step: Step, seconds: float) -> Step:
    return Step(step.name, seconds, step.detail)


async def _within(seconds: float, what: str, awaitable: Awaitable[_T]) -> _T:
    try:
        async with asyncio.timeout(seconds):
            return await awaitable
    except TimeoutError:
        raise ProbeFailed(f"no {what} within {seconds:g} s") from None


async def _end(specialist: Signal) -> None:
    """End the call for both seats, so the room closes at once (best effort)."""
    try:
        await specialist.send(type="end")
    except (aiohttp.ClientError, ConnectionError, RuntimeError):
        pass
