"""The municipality's own pages: routes, the footer's guard, and the profile store.

The resident pages are wrapped like the resident feature's (errors become pages); the
administrator's page lives under ``/staff``, where the staff guard checks its role, tenant,
CSRF token and Origin before it runs.
"""

from __future__ import annotations

from aiohttp import web

from server.booking.appkeys import BOOKING
from server.core.security import add_guard
from server.db.appkeys import ENGINE
from server.municipality import admin, pages
from server.municipality.appkeys import PROFILES
from server.municipality.store import ProfileStore
from server.resident.common import page


def setup(app: web.Application) -> None:
    add_guard(app, pages.footer_guard)
    app.router.add_get(pages.BASE, page(pages.home))
    app.router.add_get(pages.BASE + "/contact", page(pages.contact))
    app.router.add_get(pages.BASE + "/privacy", page(pages.privacy))
    app.router.add_get(pages.BASE + "/toegankelijkheid", page(pages.accessibility))
    app.router.add_get(admin.ADMIN_PAGE, admin.admin_form)
    app.router.add_post(admin.ADMIN_PAGE, admin.admin_save)
    app.router.add_post(admin.HOLIDAYS_PAGE, admin.holidays_save)
    app.on_startup.append(_store)


async def _store(app: web.Application) -> None:
    # on_startup runs after every cleanup_ctx has started, so the engine exists
    app[PROFILES] = ProfileStore(app[ENGINE], changed=app[BOOKING].forget_offers)
