"""The hub of an application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.call.hub import Hub
from signaling.bus import MessageBus

HUB = web.AppKey("hub", Hub)

#: the bus to the nodes that hold other sockets (in-process on a single node)
BUS = web.AppKey("bus", MessageBus)
