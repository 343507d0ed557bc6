"""What the walk-in feature keeps in the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.core.limits import Limiter
from server.walkin.metrics import WalkinMetrics
from server.walkin.service import WalkinService

WALKIN = web.AppKey("walkin", WalkinService)
#: walk-in rooms and call-back requests one client may ask for (server/walkin/setup.py)
WALKIN_LIMIT = web.AppKey("walkin_limit", Limiter)
WALKIN_METRICS = web.AppKey("walkin_metrics", WalkinMetrics)
