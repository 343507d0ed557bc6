"""Messages: the outbox worker, with the mailer, the SMS provider and the calendar writer it
delivers through; and the planner's view of what was sent (server/staff/planner/messages.py).

The worker starts after the booking context (it delivers through the booking service's
manage links and the calendar writer) and stops first: a message being sent when the node
stops keeps its lease and is sent by the next worker to claim it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from server.booking.appkeys import BOOKING, CALENDAR_WRITER, CATALOG
from server.core.appkeys import CLOCK, CONFIG, KEYS, VAULT_KEYS
from server.core.language import LANGUAGES
from server.core.metrics import METRICS
from server.db.appkeys import ENGINE
from server.messages.appkeys import OUTBOX
from server.messages.delivery import Delivery
from server.messages.mail import mailer_for
from server.messages.sms import sms_provider
from server.messages.worker import OutboxWorker
from server.walkin.callbacks import Callbacks


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(messages_context)


async def messages_context(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    async with aiohttp.ClientSession() as session:
        delivery = Delivery(
            engine=app[ENGINE],
            config=config,
            catalog=app[CATALOG],
            booking=app[BOOKING],
            languages=app[LANGUAGES],
            room_keys=app[KEYS],
            mailer=mailer_for(config.messages),
            sms=sms_provider(config, session),
            calendar=app[CALENDAR_WRITER],
            callbacks=Callbacks(app[ENGINE], app[VAULT_KEYS]),
            clock=app[CLOCK],
        )
        worker = OutboxWorker(
            app[ENGINE], delivery, app[CLOCK], config.messages, metrics=app[METRICS]
        )
        app[OUTBOX] = worker
        task = asyncio.get_running_loop().create_task(worker.run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
