"""Typed keys for what the application holds (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking.service import BookingService
from server.config import Config
from server.identity_gate import IdentityGate
from signaling.bus import MessageBus
from signaling.tokens import KeySet

CONFIG = web.AppKey("config", Config)
KEYS = web.AppKey("keys", KeySet)
BUS = web.AppKey("bus", MessageBus)
ENGINE = web.AppKey("engine", AsyncEngine)
GATE = web.AppKey("gate", IdentityGate)
BOOKING = web.AppKey("booking", BookingService)
#: the per-request Content-Security-Policy nonce
NONCE = web.RequestKey("csp_nonce", str)
