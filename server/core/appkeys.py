"""Typed keys for what every part of the application shares (aiohttp ``AppKey``).

Each feature keeps its own keys in its own ``appkeys`` module; these are the ones core sets
up before any feature: the configuration, the clock, the room-token keys, the vault key
ring and the per-request CSP nonce.
"""

from __future__ import annotations

from aiohttp import web

from identity.vault import KeyRing
from server.config import Config
from server.core.clock import Clock
from signaling.tokens import KeySet

CONFIG = web.AppKey("config", Config)
#: the one clock (server/core/clock.py); tests build the app with a clock they move
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
KEYS = web.AppKey("keys", KeySet)
#: the vault's key ring: seals verified attributes and staff TOTP secrets
VAULT_KEYS = web.AppKey("vault_keys", KeyRing)
#: the per-request Content-Security-Policy nonce
NONCE = web.RequestKey("csp_nonce", str)
