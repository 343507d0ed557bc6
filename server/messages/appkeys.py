"""The application's keys of server/messages."""

from __future__ import annotations

from aiohttp import web

from server.messages.worker import OutboxWorker

OUTBOX = web.AppKey("outbox", OutboxWorker)
