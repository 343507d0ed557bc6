"""Hostile and unlucky clients against /ws over real loopback sockets.

Targets: reliability-security.md J1 (forged tokens), W2 (bad tokens), W3 (oversized
frames), W4 (malformed frames), W5 (floods), W6 (slow consumers), W8 (cross-room),
and the resume rules of docs/signaling.md. Timeouts only stop a broken test from
hanging; nothing here measures speed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import WSMsgType
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.call.rooms import IssuedRoom
from server.core.appkeys import KEYS
from signaling.roles import Role
from signaling.tokens import AUDIENCE, KeySet
from tests.support import Closed, LiveServer, SignalClient, live_server, seat_pair


async def connect(session: aiohttp.ClientSession, server: LiveServer) -> SignalClient:
    return await SignalClient.connect(session, server)


def abort(client: SignalClient) -> None:
    """Drop the TCP connection without a WebSocket close frame (a dead network)."""
    client.ws._writer.transport.abort()


async def send_invalid_utf8(client: SignalClient) -> None:
    await client.ws._writer.send_frame(b'{"type":"chat","text":"\xff\xfe"}', WSMsgType.TEXT)


async def until_pong(client: SignalClient, ts: float = 424242.0) -> list[dict[str, Any]]:
    """Everything the server sends before it answers this ping (frames are in order)."""
    await client.send(type="ping", ts=ts)
    frames: list[dict[str, Any]] = []
    while True:
        frame = await client.recv()
        if frame["type"] == "pong" and frame["ts"] == ts:
            return frames
        frames.append(frame)


def claims_for(room: IssuedRoom, role: Role, **changes: Any) -> dict[str, Any]:
    seat = room.seat(role)
    t = int(time.time())
    claims: dict[str, Any] = {
        "iss": "balie",
        "aud": AUDIENCE,
        "sub": seat.participant_id,
        "room": room.room,
        "role": role.value,
        "iat": t,
        "nbf": t,
        "exp": t + 600,
        "jti": "j",
    }
    claims.update(changes)
    return claims


def b64json(value: Any) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


TokenMaker = Callable[[KeySet, IssuedRoom], str]

BAD_TOKENS: dict[str, tuple[TokenMaker, str | None, str]] = {
    # name: (token maker, room field of the join, expected error code)
    "expired": (
        lambda k, r: jwt.encode(
            claims_for(r, Role.RESIDENT, exp=int(time.time()) - 120),
            k.signer()[1],
            algorithm="EdDSA",
            headers={"kid": k.active},
        ),
        None,
        "token-expired",
    ),
    "another room": (lambda k, r: r.seat(Role.RESIDENT).token, "r_someone_else", "token-invalid"),
    "alg none": (
        lambda k, r: (
            f"{b64json({'alg': 'none', 'kid': k.active})}."
            f"{b64json(claims_for(r, Role.SPECIALIST))}."
        ),
        None,
        "token-invalid",
    ),
    "wrong key": (
        lambda k, r: jwt.encode(
            claims_for(r, Role.SPECIALIST),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": k.active},
        ),
        None,
        "token-invalid",
    ),
    "unknown kid": (
        lambda k, r: jwt.encode(
            claims_for(r, Role.SPECIALIST),
            k.signer()[1],
            algorithm="EdDSA",
            headers={"kid": "k-nope"},
        ),
        None,
        "token-invalid",
    ),
    "embedded jwk": (
        lambda k, r: jwt.encode(
            claims_for(r, Role.SPECIALIST),
            k.signer()[1],
            algorithm="EdDSA",
            headers={"kid": k.active, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}},
        ),
        None,
        "token-invalid",
    ),
    "garbage": (lambda k, r: "not-a-token", None, "token-invalid"),
}


@pytest.mark.parametrize("name", list(BAD_TOKENS))
async def test_refused_token_gets_an_error_then_4401(
    tmp_path: Path, session: aiohttp.ClientSession, name: str
) -> None:
    make, room_field, code = BAD_TOKENS[name]
    async with live_server(tmp_path) as server:
        room = server.issue_room()
        # a specialist in the room: a refused joiner must learn nothing of it
        specialist = await connect(session, server)
        await specialist.join(room.seat(Role.SPECIALIST).token)
        before = await until_pong(specialist, 1.0)
        client = await connect(session, server)
        token = make(server.app[KEYS], room)
        if room_field is None:
            await client.send(type="join", token=token)
        else:
            await client.send(type="join", token=token, room=room_field)
        error = await client.recv()
        assert error["type"] == "error" and error["code"] == code
        assert token not in error["message"]
        assert await client.expect_close() == 4401
        assert client.backlog == []  # nothing about the room was sent
        # the room did not notice
        assert [f["type"] for f in before] == ["lobby-update"]
        assert await until_pong(specialist, 2.0) == []


async def test_valid_token_with_matching_room_field_joins(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        room = server.issue_room()
        client = await connect(session, server)
        joined = await client.join(room.seat(Role.RESIDENT).token, room=room.room)
        assert joined["state"] == "lobby"


@pytest.mark.parametrize(
    "first",
    [
        '{"type": "ping", "ts": 1}',
        '{"type": "chat", "text": "hoi"}',
        '{"type": "leave"}',
        '{"type": "join"}',
        '{"type": "join", "token": 5}',
        '{"type": "nope"}',
        "[1, 2]",
        "not json",
    ],
)
async def test_first_frame_that_is_not_join_closes_4400(
    tmp_path: Path, session: aiohttp.ClientSession, first: str
) -> None:
    async with live_server(tmp_path) as server:
        client = await connect(session, server)
        await client.send_raw(first)
        error = await client.recv()
        assert error["type"] == "error"
        assert error["code"] in ("not-allowed", "bad-message", "bad-json", "unknown-type")
        assert await client.expect_close() == 4400


async def test_binary_first_frame_closes_4400(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        client = await connect(session, server)
        await client.ws.send_bytes(b'{"type": "join", "token": "x"}')
        assert (await client.recv())["code"] == "binary-not-supported"
        assert await client.expect_close() == 4400


async def test_no_first_frame_closes_4408(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    async with live_server(tmp_path, join_timeout=0.5) as server:
        client = await connect(session, server)
        assert await client.expect_close(timeout=10) == 4408
        assert client.backlog == []


async def test_oversized_frame_closes_1009_and_the_server_keeps_serving(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path, max_message=2048) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await resident.send(type="chat", text="x" * 1500)  # under the limit: fine
        assert (await specialist.expect("chat"))["text"] == "x" * 1500
        await resident.send_raw(json.dumps({"type": "chat", "text": "y" * 2100}))
        assert await resident.expect_close() == 1009
        # the dropped socket's seat is held, the others go on
        assert (await specialist.expect("peer-away"))["id"] == resident.participant_id
        await specialist.send(type="ping", ts=7)
        assert (await specialist.expect("pong"))["ts"] == 7
        # a frame over the limit before join is refused the same way
        early = await connect(session, server)
        await early.send_raw("z" * 4096)
        assert await early.expect_close() == 1009
        # and new participants still get in
        other = server.issue_room()
        fresh = await connect(session, server)
        assert (await fresh.join(other.seat(Role.SPECIALIST).token))["state"] == "call"


async def test_binary_frame_while_seated_is_refused_and_the_socket_stays(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, _, _ = await seat_pair(session, server)
        await specialist.ws.send_bytes(b"\x00\x01binary")
        error = await specialist.expect("error")
        assert error["code"] == "binary-not-supported"
        await specialist.send(type="ping", ts=3)
        assert (await specialist.expect("pong"))["ts"] == 3


async def test_invalid_utf8_text_closes_1007(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await send_invalid_utf8(resident)
        assert await resident.expect_close() == 1007
        assert (await specialist.expect("peer-away"))["id"] == resident.participant_id


async def test_a_flood_of_binary_frames_is_rate_limited_too(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """Binary frames were answered with an error but never counted: 1,500 in a row and no
    close. Every frame counts against the rate."""
    async with live_server(tmp_path, rate=0.001, burst=5, rate_strikes=10) as server:
        room = server.issue_room()
        client = await connect(session, server)
        await client.join(room.seat(Role.SPECIALIST).token)
        for _ in range(40):
            await client.ws.send_bytes(b"\x00" * 16)
        assert await client.expect_close() == 4429
        codes = [f["code"] for f in client.backlog if f["type"] == "error"]
        assert codes == ["binary-not-supported"] * 5 + ["rate-limited"] * 9


async def test_flood_is_rate_limited_then_closed_4429(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path, rate=0.001, burst=5, rate_strikes=10) as server:
        room = server.issue_room()
        client = await connect(session, server)
        await client.join(room.seat(Role.SPECIALIST).token)
        for n in range(40):
            await client.send(type="ping", ts=n)
        assert await client.expect_close() == 4429
        kinds = [f["type"] for f in client.backlog]
        assert kinds.count("pong") == 5  # the burst
        errors = [f for f in client.backlog if f["type"] == "error"]
        assert len(errors) == 9  # the 10th strike closes instead
        assert {e["code"] for e in errors} == {"rate-limited"}
        pongs = [f["ts"] for f in client.backlog if f["type"] == "pong"]
        assert pongs == [0, 1, 2, 3, 4]


async def test_rate_limited_client_keeps_its_seat_for_the_grace_period_only(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """After 4429 the seat must be treated like any dropped socket.

    ``Connection.close`` marks every close as ``closed_by_room``, so after a
    4429 ``Hub.dropped`` neither holds the seat as away nor lets it expire: the
    flooder stays "in the call" for ever, its peers never get ``peer-away`` or
    ``peer-left`` and it keeps one of the three seats.
    """
    async with live_server(
        tmp_path, rate=0.001, burst=20, rate_strikes=5, resume_grace=0.5
    ) as server:
        specialist, resident, _ = await seat_pair(session, server)
        for n in range(40):
            await resident.send(type="ping", ts=n)
        assert await resident.expect_close() == 4429
        away = await specialist.expect("peer-away", timeout=5)
        assert away["id"] == resident.participant_id
        left = await specialist.expect("peer-left", timeout=10)
        assert left["id"] == resident.participant_id and left["reason"] == "timeout"


async def test_slow_consumer_is_closed_4503_and_the_others_lose_nothing(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """W6: a client that stops reading is dropped; nobody else waits or loses frames.

    The queue is large enough that only a client that really stopped reading
    overflows it (with a tiny queue, a burst of frames handled in one go
    overflows it already). Then the server must let go of the socket: peers see
    ``peer-away`` (the 30 s deadline is the W6 target and only stops a hang).
    ``Connection.deliver`` closes with ``ws.close(code=4503)``, which waits to
    drain the close frame to a peer that does not read; the read loop never
    ends, so ``Hub.dropped`` never runs and the seat looks connected for ever.
    """
    # the queue also holds a full replay (256) for the resume at the end
    async with live_server(tmp_path, send_queue=300, rate=1e6, burst=1e6) as server:
        room = server.issue_room((Role.SPECIALIST, Role.RESIDENT, Role.GUEST))
        flooder = await connect(session, server)
        await flooder.join(room.seat(Role.SPECIALIST).token)
        slow = await connect(session, server)
        await slow.join(room.seat(Role.RESIDENT).token)
        good = await connect(session, server)
        await good.join(room.seat(Role.GUEST).token)
        admitted_at: dict[str, int] = {}
        for client in (slow, good):
            await flooder.send(type="admit", participant_id=client.participant_id)
            admitted_at[client.participant_id] = (await client.expect("admitted"))["seq"]
        await until_pong(flooder)
        await until_pong(good)
        last_good_seq = good.last_seq

        # the flooder reads in the background and watches for the slow one going away
        slow_gone = asyncio.Event()

        async def read_flooder() -> None:
            while True:
                frame = await flooder.recv()
                if frame["type"] == "peer-away" and frame["id"] == slow.participant_id:
                    slow_gone.set()

        good_frames: list[dict[str, Any]] = []
        good_has_the_end = asyncio.Event()

        async def read_good() -> None:
            while True:
                good_frames.append(await good.recv())
                if good_frames[-1]["type"] == "chat":
                    good_has_the_end.set()

        readers = [asyncio.create_task(read_flooder()), asyncio.create_task(read_good())]
        try:
            sdp = "a=x\r\n" * 9_000  # ~45 KB: fills the socket buffers quickly
            sent_to_good = 0
            for n in range(1_000):
                await flooder.send(
                    type="description",
                    to=slow.participant_id,
                    description={"type": "offer", "sdp": f"v={n}\r\n{sdp}"},
                )
                await flooder.send(
                    type="candidate",
                    to=good.participant_id,
                    candidate={"candidate": f"candidate:{n}", "sdpMid": "0"},
                )
                sent_to_good += 1
                if n % 10 == 0:
                    await asyncio.sleep(0)
                if slow_gone.is_set():
                    break
            await asyncio.wait_for(slow_gone.wait(), timeout=30)
            # a barrier: the good peer has everything once it sees this chat
            await flooder.send(type="chat", text="einde")
            await asyncio.wait_for(good_has_the_end.wait(), timeout=30)
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*readers, return_exceptions=True)
            if not slow_gone.is_set():
                abort(slow)  # let the server's handler finish so the test ends quickly

        seqs = [f["seq"] for f in good_frames]
        assert seqs == list(range(last_good_seq + 1, last_good_seq + 1 + len(good_frames)))
        candidates = [f["candidate"]["candidate"] for f in good_frames if f["type"] == "candidate"]
        assert candidates == [f"candidate:{n}" for n in range(sent_to_good)]
        assert [f["id"] for f in good_frames if f["type"] == "peer-away"] == [slow.participant_id]

        # the slow reader finally reads: an unbroken run of its frames, then 4503
        received: list[dict[str, Any]] = []
        code: int | None = None
        while code is None:
            try:
                received.append(await slow.recv(timeout=30))
            except Closed as closed:
                code = closed.code
        assert code == 4503
        first = admitted_at[slow.participant_id] + 1
        slow_seqs = [f["seq"] for f in received if f.get("seq", 0) >= first]
        assert slow_seqs == list(range(first, first + len(slow_seqs)))
        assert sum(f["type"] == "description" for f in received) > 0

        # its seat was kept: it resumes on a new socket
        again = await connect(session, server)
        await again.send(type="resume", session_id=slow.session_id, last_seq=slow.last_seq)
        resumed = await again.expect("resumed")
        assert resumed["participant_id"] == slow.participant_id
        if not resumed.get("resync"):
            replay = [await again.recv() for _ in range(resumed["replayed"])]
            assert [f["seq"] for f in replay] == list(
                range(slow.last_seq + 1, slow.last_seq + 1 + resumed["replayed"])
            )
        assert (await flooder.expect("peer-back"))["id"] == slow.participant_id


async def resume(
    session: aiohttp.ClientSession, server: LiveServer, old: SignalClient
) -> SignalClient:
    client = await connect(session, server)
    client.continue_from(old)  # the client's own counter goes on
    await client.send(type="resume", session_id=old.session_id, last_seq=old.last_seq)
    return client


async def test_resume_after_a_dead_socket_replays_what_was_missed(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await resident.send(type="chat", text="voor")
        await resident.expect("chat")
        await until_pong(resident)
        await until_pong(specialist)
        abort(resident)
        assert (await specialist.expect("peer-away"))["id"] == resident.participant_id
        for text in ("een", "twee", "drie"):
            await specialist.send(type="chat", text=text)
        seen = resident.last_seq

        back = await resume(session, server, resident)
        resumed = await back.recv()
        assert resumed["type"] == "resumed"
        assert resumed["participant_id"] == resident.participant_id
        assert resumed["state"] == "call" and resumed["replayed"] == 3
        assert "resync" not in resumed
        assert resumed["last_client_seq"] == resident._seq  # the ping of until_pong
        assert resumed["peers"] == [
            {"id": specialist.participant_id, "role": "specialist", "polite": True}
        ]
        replay = [await back.recv() for _ in range(3)]
        assert [f["seq"] for f in replay] == [seen + 1, seen + 2, seen + 3]
        assert [(f["type"], f["text"]) for f in replay] == [
            ("chat", "een"),
            ("chat", "twee"),
            ("chat", "drie"),
        ]
        assert (await specialist.expect("peer-back"))["id"] == resident.participant_id
        # the resumed socket works, and its seq continues
        await back.send(type="chat", text="terug")
        texts = [(await specialist.expect("chat"))["text"] for _ in range(4)]
        assert texts == ["een", "twee", "drie", "terug"]  # its own echoes came first
        assert (await back.expect("chat"))["seq"] == seen + 4


async def test_resume_replays_more_frames_than_the_send_queue_holds(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """A resume may replay up to 256 frames; a smaller send queue must not turn
    that into a 4503 (the client would reconnect, resume and overflow again).

    ``Hub.resume`` pushes the whole replay through ``Connection.deliver`` at
    once, so with ``BALIE_WS_SEND_QUEUE`` below the replay size the fresh socket
    is closed as a slow consumer before it could read anything.
    """
    async with live_server(tmp_path, send_queue=16) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await until_pong(resident)
        abort(resident)
        await specialist.expect("peer-away")
        for n in range(40):
            await specialist.send(type="chat", text=f"m{n}")
        await until_pong(specialist)
        back = await resume(session, server, resident)
        resumed = await back.recv()
        assert resumed["type"] == "resumed" and resumed["replayed"] == 40
        replay = [await back.recv() for _ in range(40)]
        assert [f["text"] for f in replay] == [f"m{n}" for n in range(40)]


async def test_resume_after_the_grace_period_is_peer_left_and_4404(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path, resume_grace=0.5) as server:
        specialist, resident, _ = await seat_pair(session, server)
        abort(resident)
        assert (await specialist.expect("peer-away"))["id"] == resident.participant_id
        left = await specialist.expect("peer-left", timeout=10)
        assert left["id"] == resident.participant_id and left["reason"] == "timeout"
        late = await resume(session, server, resident)
        assert await late.expect_close() == 4404
        assert late.backlog == []


async def test_resume_of_an_unknown_session_is_4404(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        client = await connect(session, server)
        await client.send(type="resume", session_id="made-up", last_seq=0)
        assert await client.expect_close() == 4404


async def test_resume_while_the_old_socket_is_open_replaces_it(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, resident, _ = await seat_pair(session, server)
        await until_pong(resident)
        await until_pong(specialist)
        back = await resume(session, server, resident)
        resumed = await back.expect("resumed")
        assert resumed["replayed"] == 0 and "resync" not in resumed
        assert await resident.expect_close() == 4409
        await specialist.send(type="chat", text="hallo")
        assert (await back.expect("chat"))["text"] == "hallo"
        # the seat never looked away, so nobody was told
        assert [f["type"] for f in await until_pong(specialist)] == ["chat"]


async def test_a_replaced_tab_always_hears_4409_even_while_it_sends(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """Two tabs on one seat: the older one must hear 4409 (it then stops) and never a bare
    1006 (it would reconnect and take the seat back). Seen 6 times in 30 when the old tab was
    still sending: the server closed the connection with the client's frames unread, and the
    reset lost the close frame."""

    async def chatter(client: SignalClient) -> None:
        with contextlib.suppress(Exception):
            while True:
                await client.send(type="chat", text="x" * 1500)

    async with live_server(tmp_path, rate=1e6, burst=1e6) as server:
        specialist, current, room = await seat_pair(session, server)
        drain = asyncio.create_task(_read_everything(specialist))
        codes = []
        for trial in range(20):
            talking = asyncio.create_task(chatter(current))
            await asyncio.sleep(0.01)
            newer = await connect(session, server)
            if trial % 2:  # a resume of the same session, or a second join with the token
                newer.continue_from(current)
                await newer.resume()
            else:
                await newer.join(room.seat(Role.RESIDENT).token)
            codes.append(await current.expect_close(timeout=10))
            talking.cancel()
            current = newer
        drain.cancel()
    assert codes == [4409] * 20


async def _read_everything(client: SignalClient) -> None:
    with contextlib.suppress(Exception):
        while True:
            await client.ws.receive()


async def test_rejoin_with_the_same_token_closes_the_first_socket_4409(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, resident, room = await seat_pair(session, server)
        second = await connect(session, server)
        joined = await second.join(room.seat(Role.RESIDENT).token)
        assert joined["state"] == "call"  # the admission is kept
        assert joined["session_id"] != resident.session_id
        assert joined["peers"] == [
            {"id": specialist.participant_id, "role": "specialist", "polite": True}
        ]
        assert await resident.expect_close() == 4409
        left = await specialist.expect("peer-left")
        assert left["id"] == resident.participant_id and left["reason"] == "replaced"
        assert (await specialist.expect("peer-joined"))["peer"]["id"] == resident.participant_id
        # the old session cannot be resumed any more
        stale = await resume(session, server, resident)
        assert await stale.expect_close() == 4404


async def test_join_or_resume_on_a_seated_socket_is_not_allowed(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        specialist, resident, room = await seat_pair(session, server)
        seq = await resident.send(type="join", token=room.seat(Role.RESIDENT).token)
        error = await resident.expect("error")
        assert error["code"] == "not-allowed" and error["ref"] == seq
        seq = await resident.send(type="resume", session_id=resident.session_id, last_seq=0)
        error = await resident.expect("error")
        assert error["code"] == "not-allowed" and error["ref"] == seq
        # nothing changed
        await resident.send(type="chat", text="nog steeds hier")
        assert (await specialist.expect("chat"))["text"] == "nog steeds hier"


async def test_cross_room_relay_is_unknown_peer_and_delivers_nothing(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    async with live_server(tmp_path) as server:
        spec_a, _, _ = await seat_pair(session, server)
        spec_b, res_b, _ = await seat_pair(session, server)
        await until_pong(spec_b)
        await until_pong(res_b)
        for target in (spec_b.participant_id, res_b.participant_id):
            seq = await spec_a.send(
                type="description", to=target, description={"type": "offer", "sdp": "v=0"}
            )
            error = await spec_a.expect("error")
            assert error["code"] == "unknown-peer" and error["ref"] == seq
            seq = await spec_a.send(type="admit", participant_id=target)
            assert (await spec_a.expect("error"))["ref"] == seq
        assert await until_pong(spec_b) == []
        assert await until_pong(res_b) == []


async def test_error_for_a_malformed_frame_carries_ref_when_its_seq_is_readable(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """docs: ``error`` has ``ref?`` "the client seq it answers".

    A frame that is a JSON object with a valid ``seq`` but a bad field (here an
    empty chat text) is answered without ``ref``, so the client cannot tell
    which of its messages was refused.
    """
    async with live_server(tmp_path) as server:
        _, resident, _ = await seat_pair(session, server)
        await resident.send_raw(json.dumps({"type": "chat", "text": "", "seq": 5}))
        error = await resident.expect("error")
        assert error["code"] == "bad-message"
        assert error.get("ref") == 5


async def test_stopping_closes_sockets_that_have_not_joined_yet_with_1001(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    """A socket that has not sent its first frame held a stopping server back by the join
    timeout, then heard 4408; it is now told at once that the server goes away."""
    async with live_server(tmp_path, join_timeout=60) as server:
        seated = await connect(session, server)
        await seated.join(server.issue_room().seat(Role.SPECIALIST).token)
        silent = await connect(session, server)
        stopping = asyncio.create_task(server.runner.cleanup())
        assert await silent.expect_close(timeout=20) == 1001
        assert await seated.expect_close(timeout=20) == 1001
        await stopping
