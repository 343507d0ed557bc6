"""The hub of an application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.call.hub import Hub

HUB = web.AppKey("hub", Hub)
