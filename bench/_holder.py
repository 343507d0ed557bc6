"""Socket holder for bench/connections.py: ``python -m bench._holder``.

One process opens a share of the WebSockets and keeps them open, answering the server's
pings and nothing else. It is a bare asyncio protocol, not aiohttp's client: the upgrade
request and the few frames are written by hand (masked, as RFC 6455 asks of a client), so
opening a socket costs this side much less CPU than the server, whose accept rate is what
is measured.

Protocol with the parent, one line each:
  stdin  ``OPEN <job>``, the job as JSON: {"host", "port", "origin", "kind" ("idle" or
         "joined"), "protocol" ("balie" or "echo"), "in_flight" (sockets being opened at
         once), "count" (idle: how many sockets), "pairs" (joined: [{"a": token of the
         specialist, "b": token of the resident, "b_id": the resident's participant id}])}
  stdout one JSON line once all of them are open or have failed: {"opened", "failed",
         "errors"} (up to five error texts)
  stdin  ``STATUS``
  stdout {"open", "closed", "close_codes", "pings", "late_frames"}
  stdin  ``QUIT`` (or end of input): drop every socket (RST, so nothing waits in TIME_WAIT)
         and exit

``idle`` sockets only upgrade. ``joined`` pairs do what a call does before it goes quiet:
the specialist joins (``joined``), the resident joins (``joined``, in the lobby), the
specialist admits the resident (``admitted``), then each sends the ``ping`` the call page
sends every 10 s, with the last ``seq`` it has received (``pong``). On the echo server the
same frames go out and each side waits for its own frame to come back.
"""

from __future__ import annotations

import asyncio
import base64
import os
import resource
import socket
import struct
import sys
from collections import Counter
from typing import Any, Final, cast

import orjson

_SETUP_TIMEOUT_S: Final = 60.0
_MAX_ERROR_SAMPLES: Final = 5
_JOB_LINE_LIMIT: Final = 64 << 20
_OP_TEXT: Final = 0x1
_OP_CLOSE: Final = 0x8
_OP_PING: Final = 0x9
_OP_PONG: Final = 0xA
#: SO_LINGER on, 0 s: close() sends a reset instead of a FIN
_LINGER_RESET: Final = struct.pack("ii", 1, 0)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final frame from a client: masked with a fresh key (RFC 6455 5.3)."""
    size = len(payload)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 0x10000:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    key = os.urandom(4)
    stream = (key * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        size, "little"
    )
    return header + key + masked


class Sock(asyncio.Protocol):
    """One client WebSocket: the upgrade, pongs, and the text frames of the setup."""

    def __init__(self, holder: Holder, request: bytes) -> None:
        self.holder = holder
        self.request = request
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.open = False
        self.close_code: int | None = None
        loop = asyncio.get_running_loop()
        self.ready: asyncio.Future[None] = loop.create_future()
        #: text frames until the setup is over; None afterwards (they are only counted)
        self.inbox: list[bytes] | None = []
        #: the highest server ``seq`` among them, which the page's ping reports
        self.last_seq = 0
        self.waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            del self.buffer[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self._fail(ConnectionError(f"upgrade refused: {head[:200]!r}"))
                return
            self.upgraded = self.open = True
            if not self.ready.done():
                self.ready.set_result(None)
        self._read_frames()

    def _read_frames(self) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            size, start = buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, start = int.from_bytes(buf[2:4], "big"), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + size:
                return
            opcode, payload = buf[0] & 0x0F, bytes(buf[start : start + size])
            del buf[: start + size]
            self._frame(opcode, payload)

    def _frame(self, opcode: int, payload: bytes) -> None:
        if opcode == _OP_PING:
            self.holder.pings += 1
            self.write(client_frame(_OP_PONG, payload))
        elif opcode == _OP_TEXT:
            if self.inbox is None:
                self.holder.late_frames += 1
                return
            self.inbox.append(payload)
            self._wake()
        elif opcode == _OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.write(client_frame(_OP_CLOSE, payload[:2]))
            self.open = False
            if self.transport is not None:
                self.transport.close()
            self._wake()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_json(self, message: dict[str, Any]) -> None:
        self.write(client_frame(_OP_TEXT, orjson.dumps(message)))

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    def _fail(self, error: Exception) -> None:
        if not self.ready.done():
            self.ready.set_exception(error)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        if self.close_code is None:
            self.close_code = 1006
        self._fail(ConnectionError(f"connection lost before the upgrade ({exc})"))
        self._wake()

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next text frame of type ``kind``; other frames are skipped, errors raise."""
        while True:
            assert self.inbox is not None
            while self.inbox:
                raw = self.inbox.pop(0)
                frame = orjson.loads(raw)
                if isinstance(frame.get("seq"), int):
                    self.last_seq = max(self.last_seq, frame["seq"])
                if frame.get("type") == kind:
                    result: dict[str, Any] = frame
                    return result
                if frame.get("type") == "error":
                    raise ConnectionError(f"refused: {raw[:300]!r}")
            if not self.open:
                raise ConnectionError(f"closed ({self.close_code}) while waiting for {kind}")
            self.waiter = asyncio.get_running_loop().create_future()
            await asyncio.wait_for(self.waiter, _SETUP_TIMEOUT_S)

    def done_with_setup(self) -> None:
        self.inbox = None
        self.waiter = None

    def drop(self) -> None:
        if self.transport is None:
            return
        raw = self.transport.get_extra_info("socket")
        if raw is not None:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self.transport.close()


class Holder:
    def __init__(self) -> None:
        self.socks: list[Sock] = []
        self.pings = 0
        self.late_frames = 0
        self.key = base64.b64encode(os.urandom(16)).decode()

    async def connect(self, job: dict[str, Any]) -> Sock:
        host, port = job["host"], int(job["port"])
        request = (
            f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {job['origin']}\r\n\r\n"
        ).encode()
        loop = asyncio.get_running_loop()
        sock = Sock(self, request)
        self.socks.append(sock)
        await loop.create_connection(lambda: sock, host, port)
        await asyncio.wait_for(sock.ready, _SETUP_TIMEOUT_S)
        return sock

    async def open_idle(self, job: dict[str, Any], gate: asyncio.Semaphore) -> int:
        async with gate:
            sock = await self.connect(job)
        sock.done_with_setup()
        return 1

    async def open_pair(
        self, job: dict[str, Any], pair: dict[str, str], gate: asyncio.Semaphore
    ) -> int:
        balie = job["protocol"] == "balie"
        async with gate:
            a = await self.connect(job)
            a.send_json({"type": "join", "token": pair["a"]})
            await a.expect("joined" if balie else "join")
            b = await self.connect(job)
            b.send_json({"type": "join", "token": pair["b"]})
            joined = await b.expect("joined" if balie else "join")
            if not balie:
                a.send_json({"type": "admit", "participant_id": pair["b_id"]})
                await a.expect("admit")
            elif joined.get("state") != "call":
                a.send_json({"type": "admit", "participant_id": pair["b_id"]})
                await b.expect("admitted")
            for sock in (a, b):  # the call page's ping: what it has, so the server lets go
                sock.send_json({"type": "ping", "ts": 0, "last_seq": sock.last_seq})
                await sock.expect("pong" if balie else "ping")
        a.done_with_setup()
        b.done_with_setup()
        return 2

    async def open(self, job: dict[str, Any]) -> dict[str, Any]:
        if job["kind"] == "idle":
            gate = asyncio.Semaphore(max(1, int(job["in_flight"])))
            work = [self.open_idle(job, gate) for _ in range(int(job["count"]))]
        else:
            gate = asyncio.Semaphore(max(1, int(job["in_flight"]) // 2))
            work = [self.open_pair(job, pair, gate) for pair in job["pairs"]]
        first = len(self.socks)
        results = await asyncio.gather(*work, return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        # a pair that failed half-way leaves a socket open: count what the server holds
        opened = sum(1 for s in self.socks[first:] if s.open)
        return {
            "opened": opened,
            "failed": len(errors),
            "errors": [f"{type(e).__name__}: {e}"[:300] for e in errors[:_MAX_ERROR_SAMPLES]],
        }

    def status(self) -> dict[str, Any]:
        codes = Counter(str(s.close_code) for s in self.socks if not s.open)
        return {
            "open": sum(1 for s in self.socks if s.open),
            "closed": sum(codes.values()),
            "close_codes": dict(codes),
            "pings": self.pings,
            "late_frames": self.late_frames,
        }

    def quit(self) -> None:
        for sock in self.socks:
            sock.drop()


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(orjson.dumps(message).decode() + "\n")
    sys.stdout.flush()


async def run() -> None:
    loop = asyncio.get_running_loop()
    lines = asyncio.StreamReader(limit=_JOB_LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    holder = Holder()
    while line := (await lines.readline()).decode().strip():
        command, _, rest = line.partition(" ")
        if command == "OPEN":
            _say(await holder.open(orjson.loads(rest)))
        elif command == "STATUS":
            _say(holder.status())
        elif command == "QUIT":
            break
    holder.quit()
    await asyncio.sleep(0)  # let the transports close


def main() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


if __name__ == "__main__":
    main()
