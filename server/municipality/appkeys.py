"""The municipality feature's application and request keys."""

from __future__ import annotations

from aiohttp import web

from server.municipality.store import Municipality, ProfileStore

PROFILES = web.AppKey("municipality_profiles", ProfileStore)

#: the path's municipality, read once by the footer's guard and reused by its own pages
MUNICIPALITY = web.RequestKey("municipality", Municipality)
