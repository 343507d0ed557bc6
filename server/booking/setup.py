"""Build booking from the configuration: manage-link keys, the feed secret, the service, the
calendar connector and writer, and the housekeeping task.

Keys are read in :func:`setup_booking`, when the application is built, so a bad key file
fails start-up instead of the first booking. The rest lives in :func:`booking_context`
(a ``cleanup_ctx`` after the database's): one HTTP client session for all calendars.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web

from server.booking.appkeys import BOOKING
from server.booking.calendar_writer import CalendarWriter
from server.booking.catalog import Catalog
from server.booking.checkin import resident_arrived
from server.booking.links import LinkKeys
from server.booking.service import BookingService
from server.calendars.caldav import CalDAVSource
from server.calendars.errors import InvalidCalendarInput
from server.calendars.feed import MIN_SECRET_BYTES, FeedTokens
from server.calendars.staff_source import StaffCalendarsBusy
from server.call.ws import HUB
from server.config import Config, ConfigError
from server.core.appkeys import CONFIG
from server.db.appkeys import ENGINE
from signaling.tokens import RoomClaims

log = logging.getLogger("balie.booking")

#: how often lapsed holds are swept and old idempotency keys purged
HOUSEKEEPING_INTERVAL: Final = 60.0

LINK_KEYS = web.AppKey("link_keys", LinkKeys)
FEED_TOKENS = web.AppKey("feed_tokens", FeedTokens)
CATALOG = web.AppKey("booking_catalog", Catalog)
CALENDAR_WRITER = web.AppKey("calendar_writer", CalendarWriter)


def setup_booking(app: web.Application, config: Config) -> None:
    """Read the keys now; start the service with the application (after the database)."""
    app[LINK_KEYS] = load_link_keys(config)
    app[FEED_TOKENS] = feed_tokens(config)
    app.cleanup_ctx.append(booking_context)


def load_link_keys(config: Config) -> LinkKeys:
    """The manage-link keys; in development a file is made on first start."""
    path = config.link_keys_file
    if path.exists():
        try:
            return LinkKeys.from_json(path.read_text())
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(
                f"BALIE_LINK_KEYS_FILE {path}: {type(error).__name__}: {error}"
            ) from None
    if config.production:
        # Every node must sign and check with the same keys: never invent them in production.
        raise ConfigError(f"BALIE_LINK_KEYS_FILE {path} does not exist")
    keys = LinkKeys.generate()
    _write_secret(path, keys.to_json())
    return keys


def feed_tokens(config: Config) -> FeedTokens:
    """Feed tokens under BALIE_FEED_SECRET; in development a secret file is made."""
    secret = config.booking.feed_secret
    if not secret and config.production:
        # A generated file would give every node its own secret, and each its own feed URLs.
        raise ConfigError("BALIE_FEED_SECRET must be set in production")
    if not secret:
        path = config.data_dir / "feed-secret.txt"
        if not path.exists():
            _write_secret(path, base64.b64encode(secrets.token_bytes(MIN_SECRET_BYTES)).decode())
        try:
            secret = base64.b64decode(path.read_text().strip(), validate=True)
        except ValueError:
            raise ConfigError(f"BALIE_FEED_SECRET: {path} is not base64") from None
    try:
        return FeedTokens(secret)
    except InvalidCalendarInput as error:
        raise ConfigError(f"BALIE_FEED_SECRET: {error}") from None


def _write_secret(path: Path, text: str) -> None:
    """Owner-only, replaced atomically: a crash never leaves half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    os.replace(tmp, path)


async def booking_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the calendar client, the booking service, the calendar writer and the
    housekeeping task."""
    config = app[CONFIG]
    settings = config.booking
    timeout = aiohttp.ClientTimeout(total=settings.caldav_timeout, connect=5)
    async with aiohttp.ClientSession() as session:
        source = CalDAVSource(session, timeout=timeout, uid_domain=settings.caldav_uid_domain)
        catalog = Catalog(app[ENGINE])
        app[BOOKING] = BookingService(
            app[ENGINE],
            busy_source=StaffCalendarsBusy(source, settings.caldav_credentials),
            link_keys=app[LINK_KEYS],
            hold_duration=timedelta(minutes=settings.hold_minutes),
        )
        app[CATALOG] = catalog
        writer = CalendarWriter(source, catalog, settings.caldav_credentials, config)
        app[CALENDAR_WRITER] = writer
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(writer.run()), loop.create_task(_housekeeping(app[BOOKING]))]

        async def seated(claims: RoomClaims) -> None:
            try:
                await resident_arrived(app, claims)
            except Exception:
                log.exception("checking in a resident failed")

        app[HUB].on_seated = seated
        try:
            yield
        finally:
            # Finish the calendar writes already promised, within the CalDAV timeout.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.drain(), settings.caldav_timeout)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _housekeeping(service: BookingService) -> None:
    while True:
        await asyncio.sleep(HOUSEKEEPING_INTERVAL)
        try:
            expired = await service.expire_holds()
            purged = await service.purge_idempotency_keys()
        except Exception as error:
            # the class only; booking does not depend on this sweep (see expire_holds)
            log.warning("booking housekeeping failed: %s", type(error).__name__)
        else:
            if expired or purged:
                log.info("expired %d holds, purged %d idempotency keys", expired, purged)
