"""Just enough of Balie's signalling (docs/signaling.md) to place one call: a participant's
socket that sends numbered frames and waits for the one it needs.

Frames it does not wait for are passed over; an ``error`` frame or the socket closing ends
the wait with :class:`SignalError`, which names the server's code or close code.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import aiohttp
import orjson

#: seconds to wait for one frame unless told otherwise
DEADLINE: Final = 20.0


class SignalError(Exception):
    """The server refused a frame (``code``) or closed the socket (``close_code``)."""

    def __init__(
        self, message: str, *, code: str | None = None, close_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.close_code = close_code


class Signal:
    """One participant's signalling socket."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, deadline: float = DEADLINE) -> None:
        self.ws = ws
        #: seconds :meth:`expect` waits
        self.deadline = deadline
        #: set by :meth:`join`
        self.participant_id = ""
        self._seq = 0

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        http: aiohttp.ClientSession,
        url: str,
        *,
        origin: str,
        deadline: float = DEADLINE,
    ) -> AsyncIterator[Signal]:
        """A socket to ``url`` (``wss://host/ws``) from a page of ``origin``, closed after."""
        async with http.ws_connect(url, origin=origin, heartbeat=None) as ws:
            yield cls(ws, deadline=deadline)

    async def send(self, **frame: Any) -> None:
        self._seq += 1
        await self.ws.send_str(orjson.dumps({**frame, "seq": self._seq}).decode())

    async def expect(self, kind: str) -> dict[str, Any]:
        """The next frame of ``kind``."""
        try:
            async with asyncio.timeout(self.deadline):
                return await self._next(kind)
        except TimeoutError:
            raise TimeoutError(f"no {kind!r} within {self.deadline:g} s") from None

    async def _next(self, kind: str) -> dict[str, Any]:
        while True:
            message = await self.ws.receive()
            if message.type is not aiohttp.WSMsgType.TEXT:
                closed = self.ws.close_code
                raise SignalError(f"the socket closed ({closed})", close_code=closed)
            frame: dict[str, Any] = orjson.loads(message.data)
            if frame.get("type") == kind:
                return frame
            if frame.get("type") == "error":
                refused = str(frame.get("code"))
                raise SignalError(f"{refused}: {frame.get('message')}", code=refused)

    async def join(self, token: str) -> dict[str, Any]:
        """Take the seat the room token names; the ``joined`` frame."""
        await self.send(type="join", token=token)
        joined = await self.expect("joined")
        self.participant_id = joined["participant_id"]
        return joined
