"""Staff sign-in over HTTP: the pages, and the session's own routes.

Routes (pages in Dutch, or English when chosen; docs/security.md "Staff sign-in")::

    GET  /staff/sign-in              login + password form (starts an anonymous session)
    POST /staff/sign-in              step 1; on success on to the code, with a new session id
    GET  /staff/sign-in/code         the TOTP form
    POST /staff/sign-in/code         step 2; on success signed in, with a new session id
    POST /staff/sign-out             end this session
    POST /staff/sign-out-everywhere  end every session of this account
    GET  /staff                      who is signed in, and the way to the desk and planner
    GET  /staff/session              seconds left, for the expiry warning (does not extend)
    POST /staff/session              extend (counts as activity)
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp import web
from multidict import MultiDictProxy

from server.core.appkeys import CONFIG
from server.core.clients import client_key
from server.core.clock import AMSTERDAM
from server.core.forms import see_other
from server.core.language import N_, gettext_for
from server.core.logs import Event, event
from server.core.pages import render
from server.staff.accounts import Outcome
from server.staff.auth import (
    LANDING,
    SAFE_METHODS,
    SIGN_IN,
    STAFF,
    WARN_SECONDS,
    check_csrf,
    clear_cookie,
    csrf_refusal,
    load_session,
    public,
    set_cookie,
    signed_in,
    signed_in_quietly,
    staff_error_page,
    staff_principal,
    start_session,
)
from server.staff.model import ROLE_LABELS, AccountRef, Role, StaffPrincipal
from server.staff.sessions import ANONYMOUS_LIFETIME, PASSWORD_STAGE_LIFETIME, Session, Stage

log = logging.getLogger("balie.staff")


SIGN_IN_CODE: Final = "/staff/sign-in/code"

#: the one message for a wrong login, password or code: it tells nothing about which
REFUSED: Final = N_("Inloggen is niet gelukt. Controleer uw gegevens en probeer het opnieuw.")

LOCKED: Final = N_(
    "Er ging te vaak iets mis bij het inloggen. Wacht een kwartier en probeer het dan opnieuw."
)


async def _form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise csrf_refusal(request)
    return await request.post()


def _field(
    form: MultiDictProxy[str | bytes | bytearray | web.FileField], name: str, limit: int
) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


async def _rate_limited(request: web.Request) -> bool:
    # per client behind our trusted proxies: the proxy's own address would put every
    # member of staff in one budget
    return not await request.app[STAFF].limiter.allow(client_key(request))


def _too_many(request: web.Request) -> web.Response:
    log.warning("sign-in posts over the rate limit", extra=event(Event.STAFF_SIGN_IN_RATE_LIMITED))
    response = staff_error_page(
        request,
        429,
        N_("Even te veel pogingen"),
        N_("Er kwamen te veel inlogpogingen binnen. Wacht een minuut en probeer het opnieuw."),
        back=SIGN_IN,
    )
    response.headers["Retry-After"] = "60"
    return response


async def _sign_in_page(
    request: web.Request,
    session: Session,
    *,
    tenant: str = "",
    login: str = "",
    errors: dict[str, str] | None = None,
    summary: str = "",
    notice: str = "",
    status: int = 200,
) -> web.Response:
    """The sign-in form; ``summary`` and ``notice`` are Dutch texts marked with ``N_``,
    ``errors`` already translated."""
    gettext = gettext_for(request)
    tenants = await request.app[STAFF].accounts.tenants()
    wanted = tenant or request.query.get("tenant", "")
    if not wanted and len(tenants) == 1:
        wanted = tenants[0][0]
    response = render(
        request,
        "staff/sign_in.html",
        switch_back=None if request.method in SAFE_METHODS else SIGN_IN,
        csrf_token=session.csrf_secret,
        tenants=tenants,
        tenant=wanted,
        login=login,
        errors=errors or {},
        summary=gettext(summary) if summary else "",
        notice=gettext(notice) if notice else "",
    )
    response.set_status(status)
    return response


async def _anonymous_session(
    request: web.Request, response_cookie: list[str], current: Session | None
) -> Session:
    auth = request.app[STAFF]
    if current is not None and current.stage is Stage.ANONYMOUS:
        return current
    token, session = await auth.sessions.start(
        Stage.ANONYMOUS,
        now=auth.clock(),
        lifetime=ANONYMOUS_LIFETIME,
        replaces=current.id_hash if current else None,
    )
    response_cookie.append(token)
    return session


@public
async def sign_in_form(request: web.Request) -> web.Response:
    session, expired = await load_session(request)
    if session is not None and session.stage is Stage.ACTIVE:
        return see_other(LANDING)
    new_token: list[str] = []
    session = await _anonymous_session(request, new_token, session)
    notice = ""
    if expired or request.query.get("verlopen"):
        notice = N_("U bent uitgelogd omdat u een tijdje niets deed. Log opnieuw in.")
    elif request.query.get("uitgelogd"):
        notice = N_("U bent uitgelogd.")
    response = await _sign_in_page(request, session, notice=notice)
    if new_token:
        set_cookie(request, response, new_token[0])
    return response


@public
async def sign_in_submit(request: web.Request) -> web.Response:
    if await _rate_limited(request):
        return _too_many(request)
    session, _ = await load_session(request)
    if session is None or session.stage not in (Stage.ANONYMOUS, Stage.PASSWORD):
        raise csrf_refusal(request)
    form = await _form(request)
    await check_csrf(request, session)
    tenant = _field(form, "tenant", 64)
    login = _field(form, "login", 128)
    password = _field(form, "password", 1024)
    gettext = gettext_for(request)
    errors = {}
    if not login.strip():
        errors["login"] = gettext("Vul uw gebruikersnaam in.")
    if not password:
        errors["password"] = gettext("Vul uw wachtwoord in.")
    if errors:
        return await _sign_in_page(
            request, session, tenant=tenant, login=login, errors=errors, status=400
        )
    auth = request.app[STAFF]
    result = await auth.password_totp.check_password(tenant, login, password)
    if result.outcome is Outcome.OK and result.account is not None:
        token, _pending = await auth.sessions.start(
            Stage.PASSWORD,
            now=auth.clock(),
            lifetime=PASSWORD_STAGE_LIFETIME,
            account=result.account,
            replaces=session.id_hash,
        )
        response = see_other(SIGN_IN_CODE)
        set_cookie(request, response, token)
        return response
    locked = result.outcome is Outcome.LOCKED
    who = result.account.account_id if result.account else "unknown"
    log.info(
        "staff sign-in refused at the password (%s, account %s)",
        result.outcome.value,
        who,
        extra=event(Event.STAFF_SIGN_IN_REFUSED),
    )
    return await _sign_in_page(
        request,
        session,
        tenant=tenant,
        login=login,
        summary=LOCKED if locked else REFUSED,
        status=429 if locked else 200,
    )


@public
async def code_form(request: web.Request) -> web.Response:
    session, _ = await load_session(request)
    if session is None or session.stage is not Stage.PASSWORD:
        return see_other(SIGN_IN)
    return render(request, "staff/sign_in_code.html", csrf_token=session.csrf_secret, summary="")


@public
async def code_submit(request: web.Request) -> web.Response:
    if await _rate_limited(request):
        return _too_many(request)
    session, _ = await load_session(request)
    if session is None or session.stage is not Stage.PASSWORD or session.account is None:
        raise csrf_refusal(request)
    form = await _form(request)
    await check_csrf(request, session)
    code = _field(form, "code", 16)
    auth = request.app[STAFF]
    result = await auth.password_totp.check_code(session.account, code)
    if result.outcome is Outcome.OK and result.account is not None:
        response = see_other(LANDING)
        await start_session(
            request, response, result.account, method=auth.password_totp.method, replaces=session
        )
        return response
    log.info(
        "staff sign-in refused at the code (%s, account %s)",
        result.outcome.value,
        session.account.account_id,
        extra=event(Event.STAFF_SIGN_IN_REFUSED),
    )
    if result.outcome is Outcome.LOCKED:
        # back to the start: the pending session is no good any more
        new_token: list[str] = []
        await auth.sessions.end(session, auth.clock())
        fresh = await _anonymous_session(request, new_token, None)
        response = await _sign_in_page(request, fresh, summary=LOCKED, status=429)
        set_cookie(request, response, new_token[0])
        return response
    return render(
        request,
        "staff/sign_in_code.html",
        switch_back=SIGN_IN_CODE,
        csrf_token=session.csrf_secret,
        summary=gettext_for(request)(REFUSED),
    )


@signed_in_quietly
async def sign_out(request: web.Request) -> web.Response:
    session, _ = await load_session(request)
    auth = request.app[STAFF]
    if session is not None:
        await auth.sessions.end(session, auth.clock())
    response = see_other(SIGN_IN + "?uitgelogd=1")
    clear_cookie(request, response)
    return response


@signed_in_quietly
async def sign_out_everywhere(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    auth = request.app[STAFF]
    ended = await auth.sessions.end_all(
        AccountRef(principal.tenant_id, principal.account_id), auth.clock()
    )
    log.info("staff account %s signed out everywhere (%d sessions)", principal.account_id, ended)
    response = see_other(SIGN_IN + "?uitgelogd=1")
    clear_cookie(request, response)
    return response


@signed_in
async def landing(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    tenants = dict(await request.app[STAFF].accounts.tenants())
    return render(
        request,
        "staff/home.html",
        principal=principal,
        tenant_name=tenants.get(principal.tenant_id, principal.tenant_id),
        roles=[gettext(ROLE_LABELS[role]) for role in Role if role in principal.roles],
        ends_at=principal.session_ends_at.astimezone(AMSTERDAM).strftime("%H:%M"),
        idle_minutes=request.app[CONFIG].staff.idle_minutes,
        csrf_token=principal.csrf_token,
        warn_seconds=WARN_SECONDS,
    )


def _session_status(request: web.Request, principal: StaffPrincipal) -> web.Response:
    now = request.app[STAFF].clock()
    idle = max(0, int((principal.idle_expires_at - now).total_seconds()))
    absolute = max(0, int((principal.expires_at - now).total_seconds()))
    return web.json_response(
        {
            "seconds_left": min(idle, absolute),
            "idle_seconds_left": idle,
            "absolute_seconds_left": absolute,
            "warn_seconds": WARN_SECONDS,
        }
    )


@signed_in_quietly
async def session_status(request: web.Request) -> web.Response:
    """Seconds left; polling this does not keep the session alive."""
    return _session_status(request, staff_principal(request))


@signed_in
async def session_extend(request: web.Request) -> web.Response:
    """The one-action extend of the expiry warning: counts as activity."""
    return _session_status(request, staff_principal(request))
