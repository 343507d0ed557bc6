"""The identity gate of an application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.verification.gate import IdentityGate

GATE = web.AppKey("gate", IdentityGate)
