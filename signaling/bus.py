"""The message bus that carries frames to the node holding a participant's socket.

One channel per socket (``socket_channel``) and one per room, to its home
(``server/call/homes.py``). The in-process bus delivers synchronously to a callback; the
Redis bus (``server/call/redis_bus.py``) carries the same envelopes between nodes.
Delivery is at most once: seats number their messages and ``resume`` replays gaps, so a
lost envelope is recoverable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Envelope:
    """A frame for one socket, or an order to close it (or both, frame first)."""

    #: the UTF-8 payload of a text frame
    frame: bytes | None = None
    close_code: int | None = None
    close_reason: str = ""


Deliver = Callable[[Envelope], Awaitable[None]]


def socket_channel(socket_id: str) -> str:
    """The channel of one socket: a random id of its own, not its session id, which is a
    resume secret (and which a newer socket may take over)."""
    return "c." + socket_id


class Subscription(Protocol):
    async def cancel(self) -> None: ...


class MessageBus(Protocol):
    async def publish(self, channel: str, envelope: Envelope, *, node: str | None = None) -> None:
        """``node``: the node that listens on ``channel``, if the caller knows it (a bus
        between nodes may send straight there)."""

    async def subscribe(self, channel: str, deliver: Deliver) -> Subscription: ...

    async def close(self) -> None: ...


class InProcessBus:
    """The bus of the embedded, single-process shape."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Deliver]] = {}

    async def publish(self, channel: str, envelope: Envelope, *, node: str | None = None) -> None:
        delivers = self._subscribers.get(channel)
        if delivers:
            for deliver in delivers[:]:  # a copy: a delivery may (un)subscribe
                await deliver(envelope)

    async def subscribe(self, channel: str, deliver: Deliver) -> Subscription:
        self._subscribers.setdefault(channel, []).append(deliver)
        return _InProcessSubscription(self, channel, deliver)

    def _remove(self, channel: str, deliver: Deliver) -> None:
        delivers = self._subscribers.get(channel)
        if delivers and deliver in delivers:
            delivers.remove(deliver)
            if not delivers:
                del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()

    @property
    def channel_count(self) -> int:
        return len(self._subscribers)


class _InProcessSubscription:
    def __init__(self, bus: InProcessBus, channel: str, deliver: Deliver) -> None:
        self._bus, self._channel, self._deliver = bus, channel, deliver

    async def cancel(self) -> None:
        self._bus._remove(self._channel, self._deliver)
