"""The administrator's page for the municipality's own details (docs/municipality.md).

::

    GET  /staff/beheer/gemeente               both forms, filled in with what is stored
    POST /staff/beheer/gemeente               save the profile → 303 back, with a notice
    POST /staff/beheer/gemeente/feestdagen    save the holiday rules for booking → 303 back

The holiday rules are a small form of their own on the same page, so a municipality whose
profile is not filled in (or has an error) can still set them, and the other way round.

The ``admin`` role only, of the administrator's own tenant (``?tenant=`` of another is
refused, 403, by the staff guard); the guard also checks the CSRF token and the Origin of
the POST. The form is plain HTML and works without JavaScript. A form with an error changes
nothing and comes back (400) with every field in error named, its values kept (the other
form shows what is stored). Each save is audited (``municipality.profile_save``,
``municipality.holidays_save``) in the transaction that stores it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final

from aiohttp import web

from server.core.appkeys import CLOCK
from server.core.clock import local_day
from server.core.forms import see_other
from server.core.language import N_, gettext_for
from server.core.pages import render
from server.municipality import holiday_form
from server.municipality.appkeys import PROFILES
from server.municipality.errors import FieldProblem, HolidaysInvalid, ProfileInvalid
from server.municipality.profile import STATUS_LABELS, form_values, from_form
from server.staff.auth import WARN_SECONDS, requires, staff_principal
from server.staff.model import Role, StaffPrincipal

log = logging.getLogger("balie.municipality")

ADMIN_PAGE: Final = "/staff/beheer/gemeente"
HOLIDAYS_PAGE: Final = ADMIN_PAGE + "/feestdagen"

SAVED: Final = N_("De gegevens van de gemeente zijn opgeslagen. Inwoners zien ze meteen.")
UNREADABLE: Final = N_(
    "De opgeslagen gegevens konden niet gelezen worden. Vul ze opnieuw in en sla ze op."
)
NOT_SAVED: Final = N_("Er is niets opgeslagen. Verbeter de velden hieronder.")
HOLIDAYS_SAVED: Final = N_(
    "De keuze voor de feestdagen is opgeslagen. Die geldt meteen voor nieuwe afspraken."
)
HOLIDAYS_NOT_SAVED: Final = N_(
    "De keuze voor de feestdagen is niet opgeslagen. Verbeter de vragen hieronder."
)
#: ?klaar= after a save → the notice the page shows
_NOTICES: Final = {"opgeslagen": SAVED, "feestdagen": HOLIDAYS_SAVED}


async def _page(
    request: web.Request,
    principal: StaffPrincipal,
    *,
    values: dict[str, str] | None = None,
    problems: dict[str, FieldProblem] | None = None,
    holiday_values: dict[str, str] | None = None,
    holiday_problems: dict[str, FieldProblem] | None = None,
    notice: str = "",
    status: int = 200,
) -> web.Response:
    """The page; a form whose ``values`` are not given shows what is stored."""
    gettext = gettext_for(request)
    profiles = request.app[PROFILES]
    found = await profiles.municipality(principal.tenant_id)
    if values is None:
        values = form_values(None if found is None else found.profile)
    holidays = await profiles.holidays(principal.tenant_id)
    if holiday_values is None:
        holiday_values = holiday_form.form_values(holidays.rules)
    # one summary for the page: only one form is posted at a time, and the field names differ
    problems = (problems or {}) | (holiday_problems or {})
    errors = {name: problem.text(gettext) for name, problem in problems.items()}
    summary = HOLIDAYS_NOT_SAVED if holiday_problems else NOT_SAVED
    response = render(
        request,
        "municipality/admin.html",
        switch_back=ADMIN_PAGE,
        principal=principal,
        csrf_token=principal.csrf_token,
        warn_seconds=WARN_SECONDS,
        action=ADMIN_PAGE,
        holidays_action=HOLIDAYS_PAGE,
        tenant=principal.tenant_id,
        tenant_name=principal.tenant_id if found is None else found.name,
        unreadable=found is not None and found.unreadable and not problems,
        holidays_unreadable=holidays.unreadable and not problems,
        statuses={status.value: gettext(label) for status, label in STATUS_LABELS.items()},
        holiday_choices=_choices(gettext),
        values=values | holiday_values,
        errors=errors,
        summary=gettext(summary) if errors else "",
        notice=gettext(notice) if notice else "",
    )
    response.set_status(status)
    return response


def _choices(gettext: Callable[[str], str]) -> dict[str, dict[str, str]]:
    """Each holiday question's radios, field name → value → label in the page's language."""
    return {
        name: {value: gettext(label) for value, label in choices.items()}
        for name, choices in (
            (holiday_form.CLOSE, holiday_form.CLOSING_CHOICES),
            (holiday_form.LIBERATION, holiday_form.LIBERATION_CHOICES),
            (holiday_form.GOOD_FRIDAY, holiday_form.GOOD_FRIDAY_CHOICES),
        )
    }


def _posted(form: Mapping[str, object]) -> dict[str, str]:
    return {name: value for name, value in form.items() if isinstance(value, str)}


@requires(Role.ADMIN)
async def admin_form(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    notice = _NOTICES.get(request.query.get("klaar", ""), "")
    return await _page(request, principal, notice=notice)


@requires(Role.ADMIN)
async def admin_save(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    fields = _posted(await request.post())
    try:
        profile = from_form(fields, local_day(request.app[CLOCK]()))
    except ProfileInvalid as invalid:
        values = {name: value for name, value in fields.items() if name != "csrf_token"}
        return await _page(
            request, principal, values=values, problems=dict(invalid.problems), status=400
        )
    await request.app[PROFILES].save(
        principal.tenant_id,
        profile,
        actor=f"staff:{principal.account_id}",
        now=request.app[CLOCK](),
    )
    log.info("staff account %s saved the municipality's profile", principal.account_id)
    return see_other(ADMIN_PAGE + "?klaar=opgeslagen")


@requires(Role.ADMIN)
async def holidays_save(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    fields = _posted(await request.post())
    try:
        rules = holiday_form.from_form(fields)
    except HolidaysInvalid as invalid:
        # what was posted comes back checked (a value outside the choices checks no radio)
        values = {name: fields.get(name, "") for name in holiday_form.FIELDS}
        return await _page(
            request,
            principal,
            holiday_values=values,
            holiday_problems=dict(invalid.problems),
            status=400,
        )
    await request.app[PROFILES].save_holidays(
        principal.tenant_id,
        rules,
        actor=f"staff:{principal.account_id}",
        now=request.app[CLOCK](),
    )
    log.info("staff account %s saved the holiday rules for booking", principal.account_id)
    return see_other(ADMIN_PAGE + "?klaar=feestdagen")
