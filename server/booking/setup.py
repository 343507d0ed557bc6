"""Booking: the JSON API, the service behind it and the resident's pages, the calendar writer,
and the housekeeping task.

Keys are read in :func:`setup`, when the application is built, so a bad key file fails
start-up instead of the first booking. The rest lives in :func:`booking_context` (a
``cleanup_ctx`` after the database's): one HTTP client session for all calendars.
"""

from __future__ import annotations

import base64
import logging
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Final

import aiohttp
from aiohttp import web

from server.booking import api, room_info
from server.booking.appkeys import BOOKING, CALENDAR_WRITER, CATALOG, FEED_TOKENS, LINK_KEYS
from server.booking.calendar_writer import CalendarWriter
from server.booking.catalog import Catalog
from server.booking.links import LinkKeys
from server.booking.metrics import CountedBookings
from server.calendars.caldav import CalDAVSource
from server.calendars.errors import InvalidCalendarInput
from server.calendars.feed import FeedTokens
from server.calendars.staff_source import StaffCalendarsBusy
from server.config import MIN_FEED_SECRET_BYTES, Config, ConfigError
from server.core.appkeys import CLOCK, CONFIG
from server.core.metrics import METRICS
from server.core.secrets import key_file, write_secret
from server.core.tasks import periodic
from server.db.appkeys import ENGINE
from server.messages.changes import OutboxHook

log = logging.getLogger("balie.booking")

#: how often lapsed holds are swept and old idempotency keys purged
HOUSEKEEPING_INTERVAL: Final = 60.0


def setup(app: web.Application) -> None:
    """Read the keys now; start the service with the application (after the database)."""
    config = app[CONFIG]
    app[LINK_KEYS] = load_link_keys(config)
    app[FEED_TOKENS] = feed_tokens(config)
    api.add_routes(app)
    app.router.add_get(room_info.PATH, room_info.room_appointment)
    app.cleanup_ctx.append(booking_context)
    app.cleanup_ctx.append(
        periodic(HOUSEKEEPING_INTERVAL, _housekeeping, what="booking housekeeping")
    )


def load_link_keys(config: Config) -> LinkKeys:
    """The manage-link keys."""
    return key_file(
        config.link_keys_file,
        "BALIE_LINK_KEYS_FILE",
        LinkKeys.from_json,
        LinkKeys.generate,
        production=config.production,
    )


def feed_tokens(config: Config) -> FeedTokens:
    """Feed tokens under BALIE_FEED_SECRET; in development a secret file is made."""
    secret = config.booking.feed_secret
    if not secret and config.production:
        # A generated file would give every node its own secret, and each its own feed URLs.
        raise ConfigError("BALIE_FEED_SECRET must be set in production")
    if not secret:
        path = config.data_dir / "feed-secret.txt"
        if not path.exists():
            write_secret(
                path, base64.b64encode(secrets.token_bytes(MIN_FEED_SECRET_BYTES)).decode()
            )
        try:
            secret = base64.b64decode(path.read_text().strip(), validate=True)
        except ValueError:
            raise ConfigError(f"BALIE_FEED_SECRET: {path} is not base64") from None
    try:
        return FeedTokens(secret)
    except InvalidCalendarInput as error:
        raise ConfigError(f"BALIE_FEED_SECRET: {error}") from None


async def booking_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the calendar client, the booking service (whose changes write their
    messages into the outbox, server/messages/), the catalog and the calendar writer the
    outbox worker delivers calendar writes with."""
    config = app[CONFIG]
    settings = config.booking
    timeout = aiohttp.ClientTimeout(total=settings.caldav_timeout, connect=5)
    async with aiohttp.ClientSession() as session:
        source = CalDAVSource(session, timeout=timeout, uid_domain=settings.caldav_uid_domain)
        catalog = Catalog(app[ENGINE])
        app[BOOKING] = CountedBookings(
            app[ENGINE],
            metrics=app[METRICS],
            clock=app[CLOCK],
            busy_source=StaffCalendarsBusy(source, settings.caldav_credentials),
            link_keys=app[LINK_KEYS],
            hold_duration=timedelta(minutes=settings.hold_minutes),
            holds_per_client=settings.holds_per_client,
            on_change=OutboxHook(),
        )
        app[CATALOG] = catalog
        app[CALENDAR_WRITER] = CalendarWriter(source, catalog, settings.caldav_credentials, config)
        yield


async def _housekeeping(app: web.Application) -> None:
    service = app[BOOKING]
    expired = await service.expire_holds()
    purged = await service.purge_idempotency_keys()
    if expired or purged:
        log.info("expired %d holds, purged %d idempotency keys", expired, purged)
