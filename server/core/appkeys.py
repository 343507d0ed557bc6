"""Typed keys for what every part of the application shares (aiohttp ``AppKey``).

Each feature keeps its own keys in its own ``appkeys`` module; these are the ones core
sets up before any feature: the configuration, the room-token keys, the message bus and
the per-request CSP nonce.
"""

from __future__ import annotations

from aiohttp import web

from server.config import Config
from signaling.bus import MessageBus
from signaling.tokens import KeySet

CONFIG = web.AppKey("config", Config)
KEYS = web.AppKey("keys", KeySet)
BUS = web.AppKey("bus", MessageBus)
#: the per-request Content-Security-Policy nonce
NONCE = web.RequestKey("csp_nonce", str)
