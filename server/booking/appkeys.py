"""The booking service of an application (aiohttp ``AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.booking.service import BookingService

BOOKING = web.AppKey("booking", BookingService)
