"""The municipality's own pages for residents, and the contact footer of every resident page
of a municipality.

::

    GET /gemeente/{tenant}                     its home: talk now or book, and how to reach it
    GET /gemeente/{tenant}/contact             phone and its hours, e-mail or form, address
    GET /gemeente/{tenant}/privacy             the privacy statement, made from the purposes
    GET /gemeente/{tenant}/toegankelijkheid    the accessibility statement

Like every resident page: Dutch at B1, English by the language switch, no JavaScript, and an
unknown municipality is a 404 page with a way back. The privacy statement is made from the
purposes as they are stored now (their disclosure policies, retention and skills), so it
cannot tell something the configuration does not do.
"""

from __future__ import annotations

from aiohttp import web

from server.core.language import N_, gettext_for, language_of
from server.core.pages import PAGE_CONTEXT, render
from server.core.problems import DatabaseUnavailable
from server.municipality.appkeys import MUNICIPALITY, PROFILES
from server.municipality.statement import date_words, purpose_statements, status_sentence
from server.municipality.store import Municipality
from server.resident.common import PageError
from signaling.messages import ID_PATTERN

BASE = "/gemeente/{tenant}"

#: the resident pages of one municipality: they get its contact details in their footer
_TENANT_PAGES = ("/afspraak/", "/balie/", "/gemeente/")

UNKNOWN = N_("Deze gemeente kent Balie niet. Controleer de link.")


async def footer_guard(request: web.Request) -> None:
    """Before a resident page of a municipality: its name and profile for the footer.

    A request guard rather than a step in each handler, so every page of the tenant gets
    the footer, the error pages too. If the database cannot be read the page goes on
    without it: the handler decides what that means for the page itself."""
    if not request.path.startswith(_TENANT_PAGES) or request.match_info.http_exception:
        return
    tenant = request.match_info.get("tenant", "")
    if not ID_PATTERN.fullmatch(tenant) or PROFILES not in request.app:
        return
    try:
        found = await request.app[PROFILES].municipality(tenant)
    except DatabaseUnavailable:
        return
    if found is None:
        return
    request[MUNICIPALITY] = found
    request[PAGE_CONTEXT] = request.get(PAGE_CONTEXT, {}) | {"municipality_footer": found}


async def _municipality(request: web.Request) -> Municipality:
    found = request.get(MUNICIPALITY)
    if found is None:
        tenant = request.match_info["tenant"]
        if ID_PATTERN.fullmatch(tenant):
            found = await request.app[PROFILES].municipality(tenant)
    if found is None:
        raise PageError(404, UNKNOWN, back=("/", N_("Naar de startpagina")))
    return found


async def home(request: web.Request) -> web.Response:
    found = await _municipality(request)
    purposes = await request.app[PROFILES].purposes(found.tenant_id)
    return render(
        request,
        "municipality/home.html",
        municipality=found,
        purposes=[purpose.name for purpose in purposes],
        walkin=any(purpose.walkin for purpose in purposes),
    )


async def contact(request: web.Request) -> web.Response:
    return render(request, "municipality/contact.html", municipality=await _municipality(request))


async def privacy(request: web.Request) -> web.Response:
    found = await _municipality(request)
    facts = await request.app[PROFILES].purposes(found.tenant_id)
    gettext = gettext_for(request)
    statements = purpose_statements(facts, language_of(request).value, gettext)
    return render(
        request,
        "municipality/privacy.html",
        municipality=found,
        purposes=statements,
        identity=any(statement.asked for statement in statements),
        walkin=any(fact.walkin for fact in facts),
    )


async def accessibility(request: web.Request) -> web.Response:
    found = await _municipality(request)
    profile = found.profile
    gettext = gettext_for(request)
    return render(
        request,
        "municipality/accessibility.html",
        municipality=found,
        status=None
        if profile is None
        else status_sentence(profile.accessibility_status, found.name, gettext),
        statement_date=None
        if profile is None
        else date_words(profile.accessibility_date, language_of(request).value),
    )
