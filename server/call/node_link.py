"""Links between nodes: a frame for a socket or a room on another node, one hop away.

Through Redis a frame between the nodes of a call takes two hops (to Redis, and from it)
and three processes' wake-ups. With ``BALIE_LINK_LISTEN`` set, each node also listens for
links from the others and keeps its address in Redis (``link.<node>``, renewed while the node
lives); the bus (``server/call/redis_bus.py``) sends a frame whose node it knows straight
there, over one TCP connection per pair of nodes, and everything else through Redis as
before. Redis stays the source of truth for homes, leases and which nodes are alive.

A link only ever makes things faster, never less reliable:

- the first frame for a node goes through Redis while the link opens beside it; the link is
  used only once everything sent through Redis before has reached Redis, so a channel's
  envelopes do not overtake each other at the switch;
- a link that cannot be opened (no address, refused, no hello) is tried again after
  :data:`RETRY_SECONDS`; meanwhile, and whenever a link drops, frames go through Redis;
- a node that stops reading its link holds its senders back once the link holds
  :data:`WRITE_HIGH_WATER` bytes, as Redis falling behind does, and for at most
  :data:`WRITE_WAIT_SECONDS`: then the link is closed and Redis carries on;
- an envelope carries the same number on either path, so one sent both ways (an ask whose
  link dropped before the answer, sent again through Redis) is dropped as a duplicate, and
  one lost with a link shows as a gap at the next, which resyncs its socket.

What crosses a link is sealed as on Redis (``signaling/link_wire.py``): a link needs the
cluster key to open, and carries nothing in clear.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final, Protocol, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from signaling import link_wire
from signaling.bus_wire import Sealer
from signaling.errors import BusWireError

log = logging.getLogger("balie.link")

#: how long a node's address lives in Redis without renewal; renewed every third of it
ADDRESS_MS: Final = 15_000
#: after a link could not be opened, how long frames for that node go through Redis only
RETRY_SECONDS: Final = 2.0
#: how long opening a link (address, connection, both hellos) may take
OPEN_SECONDS: Final = 2.0
#: how long an ask waits for its answer before it goes through Redis instead
ASK_SECONDS: Final = 2.0
#: bytes a link holds for a node that does not read them before its senders wait
WRITE_HIGH_WATER: Final = 1024 * 1024
#: how long senders wait for a node that does not read its link before the link is closed
#: (what it held is lost: the gap check resyncs those sockets) and Redis carries on
WRITE_WAIT_SECONDS: Final = 2.0
#: host names that mean "every interface": a node listening there advertises the address its
#: host name resolves to
WILDCARDS: Final = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 -- names, not a bind


class Receiver(Protocol):
    """The bus's side of a link: who listens here, and taking an envelope in."""

    def listening(self, name: str) -> bool: ...

    async def take(self, name: str, sealed: bytes) -> None: ...


def address_key(prefix: str, node: str) -> str:
    return f"{prefix}link.{node}"


class NodeLinks:
    """This node's links: the listener for the other nodes' and its own to them."""

    def __init__(
        self,
        *,
        node: str,
        sealer: Sealer,
        redis: Redis,
        prefix: str,
        listen: tuple[str, int],
        advertise: str = "",
        receiver: Receiver,
        ready: Callable[[], Awaitable[None]],
    ) -> None:
        self._node, self._sealer, self._redis, self._prefix = node, sealer, redis, prefix
        self._listen = listen
        self._advertise = advertise
        self._receiver = receiver
        #: returns once what was queued for Redis before has gone there
        self._ready = ready
        self._server: asyncio.Server | None = None
        self._renewing: asyncio.Task[None] | None = None
        #: links to other nodes, open and in use
        self._peers: dict[str, _Outgoing] = {}
        self._opening: dict[str, asyncio.Task[None]] = {}
        self._retry_at: dict[str, float] = {}
        self._incoming: set[_Incoming] = set()
        #: this node's address as the others reach it (``host:port``), once started
        self.address = ""
        #: frames sent over links (the rest went through Redis)
        self.sent = 0

    async def start(self) -> None:
        """Listen, and keep this node's address in Redis while it lives."""
        loop = asyncio.get_running_loop()
        host, port = self._listen
        self._server = await loop.create_server(
            lambda: _Incoming(self), host or None, port, reuse_address=True
        )
        bound = self._server.sockets[0].getsockname()[1]
        shown = (self._advertise or host).strip("[]")
        if shown in WILDCARDS:
            # this machine's own address by its name (/etc/hosts: a container's address)
            shown = socket.gethostbyname(socket.gethostname())
        self.address = link_wire.join_address(shown, bound)
        await self._write_address()  # reachable by the time the node serves
        self._renewing = asyncio.create_task(self._keep_address(), name="link-address")

    async def _write_address(self) -> None:
        key = address_key(self._prefix, self._node)
        try:
            await self._redis.set(key, self.address.encode(), px=ADDRESS_MS)
        except (OSError, RedisError) as error:  # the bus says Redis is away; retried
            log.debug("link: address not written: %s", type(error).__name__)

    async def _keep_address(self) -> None:
        while True:
            await asyncio.sleep(ADDRESS_MS / 3000)
            await self._write_address()

    # --- sending -----------------------------------------------------------------------

    def send(self, node: str, name: str, sealed: bytes) -> bool:
        """Send over the link to ``node`` if one is open (True); else start opening one and
        leave this frame to Redis (False)."""
        link = self._link(node)
        if link is None:
            return False
        link.write(link_wire.send(name, sealed))
        self.sent += 1
        return True

    async def writable(self, node: str) -> None:
        """Return once the link to ``node`` holds less than :data:`WRITE_HIGH_WATER` bytes
        (at once, mostly); a link whose node reads nothing for :data:`WRITE_WAIT_SECONDS`
        is closed instead, so a stuck node holds neither memory nor its senders for long."""
        link = self._peers.get(node)
        if link is None or link.writable.is_set():
            return
        try:
            async with asyncio.timeout(WRITE_WAIT_SECONDS):
                await link.writable.wait()
        except TimeoutError:
            log.warning("link: another node reads nothing from its link; closed it")
            self._lost(node, link)
            link.abort()  # a close would wait to send what the node does not read

    async def ask(self, node: str, name: str, sealed: bytes) -> int | None:
        """Send over the link to ``node`` and say how many listen there (0 or 1); None if
        there is no open link or it gave no answer (the caller sends it through Redis)."""
        link = self._link(node)
        if link is None:
            return None
        heard = await link.ask(name, sealed)
        if heard is not None:
            self.sent += 1
        return heard

    def _link(self, node: str) -> _Outgoing | None:
        """The open link to ``node``; if there is none, one starts opening (unless one is
        opening already or failed a moment ago) and the caller goes through Redis."""
        link = self._peers.get(node)
        if link is not None or self._server is None or node == self._node:
            return link
        now = asyncio.get_running_loop().time()
        if node not in self._opening and self._retry_at.get(node, 0.0) <= now:
            self._opening[node] = asyncio.create_task(self._open(node), name="link-open")
        return None

    async def _open(self, node: str) -> None:
        loop = asyncio.get_running_loop()
        link: _Outgoing | None = None
        try:
            async with asyncio.timeout(OPEN_SECONDS):
                address = await self._redis.get(address_key(self._prefix, node))
                if not isinstance(address, bytes):
                    raise LookupError("the node keeps no link address")
                host, port = link_wire.split_address(address.decode())
                _, link = await loop.create_connection(lambda: _Outgoing(self, node), host, port)
                await link.opened
            # what this node sent through Redis before must not be overtaken by the link
            await self._ready()
            if not link.lost:
                self._peers[node] = link
                self._retry_at.pop(node, None)
        except (OSError, TimeoutError, ValueError, LookupError, RedisError, BusWireError) as error:
            self._retry_at[node] = loop.time() + RETRY_SECONDS
            log.info("link: none to a node yet (%s); through Redis", type(error).__name__)
        finally:
            self._opening.pop(node, None)
            if link is not None and self._peers.get(node) is not link:
                link.close()  # not in use: failed, lost, or the node is stopping

    def _lost(self, node: str, link: _Outgoing) -> None:
        if self._peers.get(node) is link:
            del self._peers[node]
            log.info("link: a link to another node closed; through Redis until it opens again")

    # --- receiving ---------------------------------------------------------------------

    async def drained(self) -> None:
        """Return once every envelope links brought in so far has been taken in."""
        await asyncio.gather(*(link.drained() for link in list(self._incoming)))

    async def close(self) -> None:
        """Stop listening, forget the address, close every link."""
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
        for task in list(self._opening.values()):
            task.cancel()
        await asyncio.gather(*self._opening.values(), return_exceptions=True)
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(OSError, RedisError):
                await self._redis.delete(address_key(self._prefix, self._node))
        incoming = list(self._incoming)
        for link in [*self._peers.values(), *incoming]:
            link.close()
        await asyncio.gather(*(link.stopped() for link in incoming))
        self._peers.clear()
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def open_links(self) -> int:
        return len(self._peers)


class _Link(asyncio.Protocol):
    """What both ends share: reading frames, writing them, closing on nonsense."""

    def __init__(self, links: NodeLinks) -> None:
        self._links = links
        self._frames = link_wire.FrameReader()
        self._transport: asyncio.Transport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # (asyncio and uvloop both turn Nagle off on TCP: a frame goes out as it is written)
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            for frame in self._frames.feed(data):
                self.handle(frame)
        except BusWireError as error:
            log.warning("link: closed a link that sent %s", error.message)
            self.close()

    def handle(self, frame: link_wire.Frame) -> None:
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self.lost:
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class _Outgoing(_Link):
    """This node's link to another: sends, and reads the answers to its asks."""

    def __init__(self, links: NodeLinks, node: str) -> None:
        super().__init__(links)
        self._node = node
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asks: dict[int, asyncio.Future[int | None]] = {}
        self._next_ask = 0
        #: set while the link holds less than WRITE_HIGH_WATER bytes not yet sent
        self.writable = asyncio.Event()
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self._transport is not None
        self._transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        self.write(link_wire.hello(self._links._sealer, self._links._node, self._node))

    def handle(self, frame: link_wire.Frame) -> None:
        if isinstance(frame, link_wire.Heard):
            answer = self._asks.pop(frame.ask_id, None)
            if answer is not None and not answer.done():
                answer.set_result(frame.listeners)
        elif isinstance(frame, link_wire.Hello) and not self.opened.done():
            sender = link_wire.open_hello(self._links._sealer, frame, self._links._node)
            if sender != self._node:
                raise BusWireError("a link answered by another node than the one asked")
            self.opened.set_result(None)
        else:
            raise BusWireError("a link frame a node does not answer with")

    async def ask(self, name: str, sealed: bytes) -> int | None:
        if self.lost:
            return None
        self._next_ask = ask_id = (self._next_ask + 1) % 2**32
        answer: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._asks[ask_id] = answer
        self.write(link_wire.ask(ask_id, name, sealed))
        try:
            async with asyncio.timeout(ASK_SECONDS):
                return await asyncio.shield(answer)
        except TimeoutError:
            log.warning("link: no answer from another node in time; through Redis")
            self._asks.pop(ask_id, None)
            return None

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.writable.set()  # nobody waits for a closed link
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("the link closed before its hello"))
            self.opened.exception()  # retrieved: the opener may have given up already
        for answer in self._asks.values():
            if not answer.done():
                answer.set_result(None)
        self._asks.clear()
        self._links._lost(self._node, self)


class _Incoming(_Link):
    """Another node's link to this one: takes its envelopes in, in the order they came."""

    def __init__(self, links: NodeLinks) -> None:
        super().__init__(links)
        self._peer: str | None = None
        self._queue: deque[tuple[str, bytes]] = deque()
        self._wake: asyncio.Event = asyncio.Event()
        self._idle: asyncio.Event = asyncio.Event()
        self._idle.set()
        self._taker: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._links._incoming.add(self)
        loop = asyncio.get_running_loop()
        self._taker = loop.create_task(self._take_in(), name="link-taker")
        # a connection that does not say hello in time is not a node
        loop.call_later(OPEN_SECONDS, self._close_if_silent)

    def _close_if_silent(self) -> None:
        if self._peer is None:
            self.close()

    def handle(self, frame: link_wire.Frame) -> None:
        if isinstance(frame, link_wire.Hello) and self._peer is None:
            links = self._links
            self._peer = link_wire.open_hello(links._sealer, frame, links._node)
            self.write(link_wire.hello(links._sealer, links._node, self._peer))
            return
        if self._peer is None or not isinstance(frame, (link_wire.Send, link_wire.Ask)):
            raise BusWireError("a link frame out of turn")
        listening = self._links._receiver.listening(frame.channel)
        if isinstance(frame, link_wire.Ask):
            self.write(link_wire.heard(frame.ask_id, int(listening)))
        if listening:
            self._queue.append((frame.channel, frame.sealed))
            self._idle.clear()
            self._wake.set()

    async def _take_in(self) -> None:
        receiver = self._links._receiver
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    name, sealed = self._queue.popleft()
                    try:
                        await receiver.take(name, sealed)
                    except Exception:  # one socket's trouble must not stop the link
                        log.exception("link: taking an envelope in failed")
                self._idle.set()
                if self.lost:
                    return  # what it read before it closed has been taken in
        finally:
            self._idle.set()
            self._links._incoming.discard(self)

    async def drained(self) -> None:
        await self._idle.wait()

    async def stopped(self) -> None:
        if self._taker is not None:
            self._taker.cancel()
            await asyncio.gather(self._taker, return_exceptions=True)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._wake.set()
