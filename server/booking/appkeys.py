"""What the booking feature keeps in the application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.booking.calendar_writer import CalendarWriter
from server.booking.catalog import Catalog
from server.booking.links import LinkKeys
from server.booking.service import BookingService
from server.calendars.feed import FeedTokens

BOOKING = web.AppKey("booking", BookingService)
CATALOG = web.AppKey("booking_catalog", Catalog)
CALENDAR_WRITER = web.AppKey("calendar_writer", CalendarWriter)
LINK_KEYS = web.AppKey("link_keys", LinkKeys)
FEED_TOKENS = web.AppKey("feed_tokens", FeedTokens)
