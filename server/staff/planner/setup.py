"""The planner console (docs/booking.md "Planner console"): pages for the planner role, in
Dutch or, by the ``balie_taal`` cookie, English (server/core/language.py).

Routes (all need the ``planner`` role; ``?tenant=`` of another tenant is refused, 403)::

    GET  /staff/planner                                   week: staff × days, hours, bookings
    GET  /staff/planner/staff/{staff}                     weekly hours and exceptions
    POST /staff/planner/staff/{staff}/hours               replace the weekly hours
    POST /staff/planner/staff/{staff}/exceptions          add a closed day or extra hours
    POST /staff/planner/staff/{staff}/exceptions/{id}/delete
    GET  /staff/planner/staff/{staff}/afwezigheid?change=   bookings a change would strand
    POST /staff/planner/staff/{staff}/afwezigheid           hand over, notify, then save
    GET  /staff/planner/book?purpose=&date=               book on behalf of a caller
    POST /staff/planner/book
    GET  /staff/planner/appointments/{appointment}        details, reschedule, cancel
    POST /staff/planner/appointments/{appointment}/reschedule
    POST /staff/planner/appointments/{appointment}/cancel
    GET  /staff/planner/dashboard?from=&to=               the numbers, as SVG charts and tables
    GET  /staff/planner/dashboard.csv?from=&to=           the same numbers, no personal data
    GET  /staff/planner/inloop                            walk-in counters: open now, settings
    GET  /staff/planner/inloop/{purpose}                  one counter's settings (a form)
    POST /staff/planner/inloop/{purpose}                  save them
    POST /staff/planner/inloop/{purpose}/uit              switch the counter off
    GET  /staff/planner/berichten                         messages: sent, retrying, failed
    POST /staff/planner/berichten/{message}               send a failed message again

Every change goes through :class:`~server.booking.service.BookingService` (bookings) or
:class:`~server.staff.planner.store.PlannerStore` (hours), both of which audit it with the planner
(``staff:<account id>``) as actor. Every form that books carries a fresh idempotency key, so
a double click or a resent form books once. A form with an error changes nothing and comes
back with an error summary; URLs carry ids and dates only, never a person's details. The
dashboard's CSV is data: its header and values are the same in every language.
"""

from __future__ import annotations

from aiohttp import web

from server.booking.appkeys import BOOKING
from server.db.appkeys import ENGINE
from server.staff.planner.absences import PATH as ABSENCE_PATH
from server.staff.planner.absences import absence_page, absence_submit
from server.staff.planner.appointments import (
    appointment_page,
    book_page,
    book_submit,
    cancel_submit,
    reschedule_submit,
)
from server.staff.planner.common import BASE, PLANNER_STORE
from server.staff.planner.dashboard import dashboard, dashboard_csv
from server.staff.planner.hours import add_exception, remove_exception, save_hours, staff_page
from server.staff.planner.messages import MESSAGES_BASE, messages_page, retry_message
from server.staff.planner.store import PlannerStore
from server.staff.planner.walkin import (
    WALKIN_BASE,
    walkin_counter_page,
    walkin_counter_remove,
    walkin_counter_save,
    walkin_overview,
)
from server.staff.planner.week import week_view


def setup(app: web.Application) -> None:
    app.router.add_get(BASE, week_view)
    app.router.add_get(BASE + "/staff/{staff}", staff_page)
    app.router.add_post(BASE + "/staff/{staff}/hours", save_hours)
    app.router.add_post(BASE + "/staff/{staff}/exceptions", add_exception)
    app.router.add_post(BASE + "/staff/{staff}/exceptions/{exception}/delete", remove_exception)
    app.router.add_get(BASE + "/staff/{staff}" + ABSENCE_PATH, absence_page)
    app.router.add_post(BASE + "/staff/{staff}" + ABSENCE_PATH, absence_submit)
    app.router.add_get(BASE + "/book", book_page)
    app.router.add_post(BASE + "/book", book_submit)
    app.router.add_get(BASE + "/appointments/{appointment}", appointment_page)
    app.router.add_post(BASE + "/appointments/{appointment}/reschedule", reschedule_submit)
    app.router.add_post(BASE + "/appointments/{appointment}/cancel", cancel_submit)
    app.router.add_get(MESSAGES_BASE, messages_page)
    app.router.add_post(MESSAGES_BASE + "/{message}", retry_message)
    app.router.add_get(BASE + "/dashboard", dashboard)
    app.router.add_get(BASE + "/dashboard.csv", dashboard_csv)
    app.router.add_get(WALKIN_BASE, walkin_overview)
    app.router.add_get(WALKIN_BASE + "/{purpose}", walkin_counter_page)
    app.router.add_post(WALKIN_BASE + "/{purpose}", walkin_counter_save)
    app.router.add_post(WALKIN_BASE + "/{purpose}/uit", walkin_counter_remove)
    app.on_startup.append(_store)


async def _store(app: web.Application) -> None:
    # on_startup runs after every cleanup_ctx has started, so the engine exists
    app[PLANNER_STORE] = PlannerStore(app[ENGINE], changed=app[BOOKING].forget_offers)
