"""One socket and its bounded send queue: the only place frames are written.

A socket that stops reading overflows its own queue and is closed (4503), so nobody else
waits for it. Frames for an idle socket are batched into one write per event-loop pass.

Ten thousand quiet sockets must fit in little memory (bench/connections.py), so a socket
has no writer task and no queue while it has nothing queued: the first frame that has to
wait makes a deque and starts a task, which ends (and drops the deque) once it is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from collections import deque
from typing import Final

from aiohttp import WSMsgType, web

from signaling.bus import Envelope, Subscription
from signaling.close_codes import CloseCode
from signaling.errors import SignalingError
from signaling.messages import JsonObject, encode_server_message

log = logging.getLogger("balie.ws")

#: how long closing waits for queued frames to be written
FLUSH_BEFORE_CLOSE: Final = 5.0
#: a socket's batch of frames stays below this size: written into an empty
#: transport buffer it cannot reach the 64 KiB high-water mark, so the write
#: never has to pause and wait for this socket's reader
DIRECT_WRITE_LIMIT: Final = 32 * 1024


class Connection:
    """One socket and its bounded send queue.

    Frames for an idle socket (nothing queued, nothing in its transport
    buffer) are gathered while the event loop runs its ready callbacks and
    written with one ``transport.write`` at the end of that pass: a relay
    wakes up for a whole TCP read of frames, and one system call for all of
    them is most of the CPU a relayed frame costs. Anything else waits in the
    queue for the socket's own writer task, so a socket that does not read
    only ever fills its own queue.
    """

    # slots: an instance dict would cost every one of ten thousand sockets its own table
    __slots__ = (
        "_batch",
        "_batch_size",
        "_batchable",
        "_closer",
        "_finished",
        "_handshaking",
        "_loop",
        "_overflowed",
        "_queue",
        "_queue_size",
        "_transport",
        "_writer",
        "_writing",
        "browser",
        "close_sent",
        "closed_by_room",
        "id",
        "participant_id",
        "room_id",
        "session_id",
        "subscription",
        "ws",
    )

    def __init__(
        self, ws: web.WebSocketResponse, queue_size: int, transport: asyncio.Transport | None
    ) -> None:
        self.ws = ws
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        # a deflate context must see every frame in order, which aiohttp's writer
        # guarantees and a batch written past it would not
        self._batchable = transport is not None and not ws.compress
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._writing = False
        #: this socket's own id (its bus channel); not a secret, not the session id
        self.id = secrets.token_urlsafe(12)
        #: the room of the seat this socket holds or asked for; None before join
        self.room_id: str | None = None
        #: the browser-session id from the upgrade request's cookie, if any
        self.browser: str | None = None
        self.participant_id = ""
        self.session_id = ""
        self.subscription: Subscription | None = None
        #: set once the room closed this socket on purpose (leave, deny, end)
        self.closed_by_room = False
        #: the close code this side sent, for the metrics (None: the client closed first)
        self.close_sent: int | None = None
        self._overflowed = False
        #: our close frame is out and the writer waits for the client's (see :meth:`stop`)
        self._handshaking = False
        self._closer: asyncio.Task[bool] | None = None
        #: what waits for the writer; made by the first such frame, dropped once written
        self._queue: deque[Envelope] | None = None
        self._queue_size = queue_size
        #: writes what is queued; runs only while something is
        self._writer: asyncio.Task[None] | None = None
        #: the writer wrote a close frame or found the socket gone: nothing more goes out
        self._finished = False

    async def deliver(self, envelope: Envelope) -> None:
        """Take an envelope from the bus; never waits for this socket's reader."""
        self.take(envelope)

    def take(self, envelope: Envelope) -> None:
        """Send a frame or carry out a close that the room ordered.

        A close that comes this way was ordered by the room (leave, deny, end,
        replaced): the seat is gone, so the socket's end must not mark it
        away. Closes the server decides on its own (rate, slow consumer) go
        through :meth:`close` and keep the seat for resume.
        """
        if envelope.close_code is not None:
            self.closed_by_room = True
            self._enqueue(envelope)
        elif envelope.frame is not None:
            self.send(envelope.frame)

    def send(self, frame: bytes) -> None:
        """Write a frame at the end of this loop pass if the socket is idle, else queue it."""
        size = len(frame)
        transport = self._transport
        if (
            self._batchable
            and self._batch_size + size < DIRECT_WRITE_LIMIT - _MAX_HEADER
            and not self._writing
            and not self._queue
            and transport is not None
            and not transport.is_closing()
            and transport.get_write_buffer_size() == 0
        ):
            if not self._batch:
                # scheduled before anything this pass can queue: a frame that
                # goes to the writer task later in the pass is written after
                # the batch, because ready callbacks run in order
                self._loop.call_soon(self._flush)
            header = _text_header(size)
            self._batch.append(header)
            self._batch.append(frame)
            self._batch_size += len(header) + size
        else:
            self._enqueue(Envelope(frame=frame))

    def _flush(self) -> None:
        batch = self._batch
        self._batch = []
        self._batch_size = 0
        transport = self._transport
        # after a close frame nothing may follow; the seat's replay has these frames
        if transport is None or transport.is_closing() or self.ws.closed:
            return
        transport.write(b"".join(batch))

    def _enqueue(self, envelope: Envelope) -> None:
        if self._overflowed or self._finished:
            return
        if self._queue is None:
            self._queue = deque()
        if len(self._queue) < self._queue_size:
            self._queue.append(envelope)
            if self._writer is None:
                self._writer = self._loop.create_task(self._write_loop())
        else:
            self._overflowed = True
            self.close_sent = CloseCode.SLOW_CONSUMER
            log.warning("closing a socket that stopped reading (send queue full)")
            if self._writer is not None:
                self._writer.cancel()
            # drain=False: waiting to flush the close frame to a client that does
            # not read would hang this socket's handler for good
            self._closer = self._loop.create_task(
                self.ws.close(
                    code=CloseCode.SLOW_CONSUMER, message=b"send queue overflow", drain=False
                )
            )

    def send_now(self, message: JsonObject) -> None:
        """Queue an unnumbered frame (``error``, ``resumed``) for this socket only."""
        self.send_frame(encode_server_message(message))

    def send_frame(self, frame: bytes) -> None:
        """Queue an encoded frame for this socket only, behind what is queued."""
        self._enqueue(Envelope(frame=frame))

    def refuse(self, error: SignalingError, ref: int | None = None) -> None:
        frame: JsonObject = {"type": "error", "code": error.code, "message": error.message}
        if ref is not None:
            frame["ref"] = ref
        self.send_now(frame)

    async def close(self, code: int, reason: str) -> None:
        """Close after everything queued so far has been written (the seat stays)."""
        self._enqueue(Envelope(close_code=code, close_reason=reason))
        await self.written()

    async def written(self) -> None:
        """Return once what is queued has been written, a close included."""
        if self._writer is not None:
            # bounded: a half-open socket must not hold up whoever closes it
            await asyncio.wait({self._writer}, timeout=FLUSH_BEFORE_CLOSE)

    async def stop(self) -> None:
        writer = self._writer
        self._finished = True
        if writer is None:
            return
        if self._handshaking:
            # Let the close handshake finish. Closing the transport while the client's frames
            # still sit unread makes the kernel answer with a reset, and the client loses the
            # close frame before it reads it: 1006 instead of, say, 4409 (a replaced tab).
            await asyncio.wait({writer}, timeout=FLUSH_BEFORE_CLOSE)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer

    async def _write_loop(self) -> None:
        ws = self.ws
        queue = self._queue
        assert queue is not None  # the writer starts for a queued envelope
        while queue:
            envelope = queue.popleft()
            if ws.closed:
                break
            self._writing = True
            try:
                if envelope.frame is not None:
                    await ws.send_frame(envelope.frame, WSMsgType.TEXT)
                if envelope.close_code is not None:
                    self._handshaking = True
                    self.close_sent = envelope.close_code
                    await ws.close(code=envelope.close_code, message=envelope.close_reason.encode())
                    break
            except (ConnectionError, RuntimeError):
                break  # the socket went away under us; the reader notices too
            finally:
                self._writing = False
        else:
            # all written: the next frame that must wait makes a queue and starts a writer
            self._writer = None
            self._queue = None
            return
        self._finished = True


def _text_header(size: int) -> bytes:
    """The header of an unmasked, final text frame of ``size`` bytes (RFC 6455 5.2)."""
    if size < 126:
        return _HEADER_LEN1(0x81, size)
    if size < 0x10000:
        return _HEADER_LEN2(0x81, 126, size)
    return _HEADER_LEN3(0x81, 127, size)


_HEADER_LEN1: Final = struct.Struct("!BB").pack
_HEADER_LEN2: Final = struct.Struct("!BBH").pack
_HEADER_LEN3: Final = struct.Struct("!BBQ").pack
_MAX_HEADER: Final = 10
