"""The resident's pages: booking as plain server-rendered pages (docs/booking.md, "Pages"),
feedback after a call, the home page and the language switch.

No account and no JavaScript needed: every step is a link or a POSTed form, every POST
answers with a redirect (Post/Redirect/Get) or re-renders its form with an error summary.
The service, its errors and the request checks are the JSON API's; these modules only turn
them into pages.

====================================================  =======================================
``GET  /``                                              the home page
``POST /taal``                                          the language switch
``GET  /afspraak/{t}``                                  what Balie is, the purposes
``GET  /afspraak/{t}/kies/{p}?week=``                   a week of dates with a free time
``GET  /afspraak/{t}/kies/{p}/{day}``                   the free times of one date
``POST /afspraak/{t}/vasthouden``                       hold      → ``/gegevens``
``GET  /afspraak/{t}/gegevens``                         optional e-mail/phone (hold cookie)
``POST /afspraak/{t}/bevestigen``                       confirm   → ``/{id}/bevestiging``
``GET  /afspraak/{t}/{id}``                             manage link: manage.js posts the token
``POST /afspraak/{t}/{id}``                             token → manage cookie → ``/beheren``
``POST /afspraak/{t}/{id}/herinneringen``               reminders on or off
``POST /afspraak/{t}/{id}/eerder``                      earlier-time list: on, off, take, no
``GET  /afspraak/{t}/{id}/bevestiging``, ``/beheren``   the appointment, its links
``GET  /afspraak/{t}/{id}/afspraak.ics``                the invite
``GET|POST /afspraak/{t}/{id}/afzeggen``                cancel, with a confirmation step
``GET|POST /afspraak/{t}/{id}/verzetten[/{day}]``       reschedule
``GET|POST /feedback/{room}``, ``/feedback/{room}/bedankt``  one question after the call
``GET  /balie/{t}``                                     the walk-in counters, open or not
``GET|POST /balie/{t}/{p}``                             video, voice or chat → the call page
``GET|POST /balie/{t}/{p}/terugbellen``, ``/{id}``      "bel mij terug": number and window
====================================================  =======================================

Where state must survive a redirect it rides in a cookie, never in the URL: the hold's id
(a capability to confirm it, for the hold's lifetime) and the manage token (``HttpOnly``,
``SameSite=Strict``, scoped to the appointment's path). Tokens appear in pages only inside
link fragments (``#token=``), which browsers never send. Each form carries an idempotency key
made when the form was rendered, so a double click or a refresh replays instead of booking
twice. A POST from another origin is refused. E-mail addresses and phone numbers travel only
in request bodies and the page that echoes a refused value back into its field.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from server.booking.appkeys import CATALOG
from server.booking.appointment import APPOINTMENT_ID
from server.core.pages import render
from server.resident import booking, callback, counter, feedback, manage
from server.resident.common import page
from server.resident.language import choose_language

PREFIX: Final = "/afspraak/{tenant}"
_APPOINTMENT: Final = "{appointment:" + APPOINTMENT_ID.pattern + "}"
_DAY: Final = "{day:[0-9]{4}-[0-9]{2}-[0-9]{2}}"


def setup(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_post("/taal", choose_language)
    app.router.add_get("/feedback/{room}", page(feedback.feedback_info))
    app.router.add_post("/feedback/{room}", page(feedback.feedback_post))
    app.router.add_get("/feedback/{room}/bedankt", page(feedback.feedback_thanks))
    app.router.add_get("/balie/{tenant}", page(counter.counters_page))
    app.router.add_get("/balie/{tenant}/{purpose}", page(counter.counter_page))
    app.router.add_post("/balie/{tenant}/{purpose}", page(counter.join_queue))
    back = "/balie/{tenant}/{purpose}/terugbellen"
    app.router.add_get(back, page(callback.callback_form))
    app.router.add_post(back, page(callback.request_callback))
    app.router.add_get(back + "/{callback}", page(callback.callback_made))
    one = PREFIX + "/" + _APPOINTMENT
    app.router.add_get(PREFIX, page(booking.landing))
    app.router.add_get(PREFIX + "/kies/{purpose}", page(booking.choose_date))
    app.router.add_get(PREFIX + "/kies/{purpose}/" + _DAY, page(booking.choose_time))
    app.router.add_post(PREFIX + "/vasthouden", page(booking.hold))
    app.router.add_get(PREFIX + "/gegevens", page(booking.details))
    app.router.add_post(PREFIX + "/bevestigen", page(booking.confirm))
    app.router.add_get(one, page(manage.manage_entry))
    app.router.add_post(one, page(manage.manage_open))
    app.router.add_get(one + "/bevestiging", page(manage.confirmation))
    app.router.add_get(one + "/beheren", page(manage.manage))
    app.router.add_get(one + "/afspraak.ics", page(manage.invite))
    app.router.add_get(one + "/afzeggen", page(manage.cancel_ask))
    app.router.add_post(one + "/afzeggen", page(manage.cancel))
    app.router.add_post(one + "/herinneringen", page(manage.reminders))
    app.router.add_post(one + "/eerder", page(manage.earlier_time))
    app.router.add_get(one + "/verzetten", page(manage.reschedule_date))
    app.router.add_get(one + "/verzetten/" + _DAY, page(manage.reschedule_time))
    app.router.add_post(one + "/verzetten", page(manage.reschedule))


async def home(request: web.Request) -> web.Response:
    """What Balie is, and per municipality: talk now (the walk-in counter) or book."""
    tenants = await request.app[CATALOG].tenants()
    return render(request, "resident/home.html", tenants=tenants)
