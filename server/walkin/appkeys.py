"""What the walk-in feature keeps in the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.walkin.service import WalkinService

WALKIN = web.AppKey("walkin", WalkinService)
