"""Typed keys for what the application holds (aiohttp ``AppKey``)."""

from __future__ import annotations

import jinja2
from aiohttp import web

from server.config import Config
from signaling.bus import MessageBus
from signaling.tokens import KeySet

CONFIG = web.AppKey("config", Config)
KEYS = web.AppKey("keys", KeySet)
BUS = web.AppKey("bus", MessageBus)
TEMPLATES = web.AppKey("templates", jinja2.Environment)
#: the per-request Content-Security-Policy nonce
NONCE = web.RequestKey("csp_nonce", str)
