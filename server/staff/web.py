"""Staff sign-in over HTTP: the pages, the session cookie, CSRF, and :func:`require_staff`.

Routes (pages in Dutch, or English when chosen; docs/security.md "Staff sign-in")::

    GET  /staff/sign-in              login + password form (starts an anonymous session)
    POST /staff/sign-in              step 1; on success on to the code, with a new session id
    GET  /staff/sign-in/code         the TOTP form
    POST /staff/sign-in/code         step 2; on success signed in, with a new session id
    POST /staff/sign-out             end this session
    POST /staff/sign-out-everywhere  end every session of this account
    GET  /staff                      who is signed in (the desk comes later)
    GET  /staff/session              seconds left, for the expiry warning (does not extend)
    POST /staff/session              extend (counts as activity)

Later pages call ``principal = await require_staff(request, role=Role.PLANNER,
tenant=tenant_id)``: it answers for them (sign-in redirect, 401, or a 403 page) by raising
:class:`StaffRefusal`, a :class:`Problem` the security middleware renders, and checks the
CSRF token and Origin of every state-changing request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import KeyRing
from server.config import Config
from server.core.appkeys import CONFIG
from server.core.language import N_, gettext_for
from server.core.pages import render
from server.core.problems import Problem
from server.core.security import from_our_site
from server.db.appkeys import ENGINE
from server.staff.accounts import AccountStore, Outcome, PasswordTotpAuthenticator
from server.staff.model import ROLE_LABELS, AccountRef, Role, StaffPrincipal, parse_roles
from server.staff.sessions import (
    ANONYMOUS_LIFETIME,
    PASSWORD_STAGE_LIFETIME,
    Session,
    SessionStore,
    Stage,
)
from server.verification.setup import vault_keys
from signaling.ratelimit import TokenBucket

log = logging.getLogger("balie.staff")

SIGN_IN: Final = "/staff/sign-in"
SIGN_IN_CODE: Final = "/staff/sign-in/code"
LANDING: Final = "/staff"
SESSION: Final = "/staff/session"
#: a page warns this long before the session ends (WCAG 2.2.1 asks for >= 20 s)
WARN_SECONDS: Final = 120
#: how often expired sessions are deleted
SWEEP_INTERVAL: Final = 300.0
#: sign-in POSTs per client address: a burst, then this many per minute (ASVS 2.4.1)
SIGN_IN_BURST: Final = 20
SIGN_IN_PER_MINUTE: Final = 20
_LIMITER_MAX_CLIENTS: Final = 10_000

_DEV_COOKIE: Final = "balie_staff"
# __Host-: only over HTTPS, only this host, Path=/ (no sub-domain can set or read it)
_PRODUCTION_COOKIE: Final = "__Host-balie_staff"
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
_SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
_AMSTERDAM: Final = ZoneInfo("Europe/Amsterdam")

#: the one message for a wrong login, password or code: it tells nothing about which
REFUSED: Final = N_("Inloggen is niet gelukt. Controleer uw gegevens en probeer het opnieuw.")
LOCKED: Final = N_(
    "Er ging te vaak iets mis bij het inloggen. Wacht een kwartier en probeer het dan opnieuw."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


class SignInLimiter:
    """A token bucket per client address for the sign-in POSTs (per node)."""

    def __init__(self, burst: int = SIGN_IN_BURST, per_minute: float = SIGN_IN_PER_MINUTE) -> None:
        self.burst = burst
        self.rate = per_minute / 60
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, client: str, now: float) -> bool:
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) >= _LIMITER_MAX_CLIENTS:
                self._buckets.clear()  # bounded memory beats perfect accounting in a flood
            bucket = self._buckets[client] = TokenBucket(self.rate, self.burst, now)
        return bucket.allow(now)


class StaffAuth:
    """The accounts, sessions and authenticators of one application."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        config: Config,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        #: tests move this clock to expire sessions without sleeping
        self.clock = clock
        self.accounts = AccountStore(engine)
        self.sessions = SessionStore(engine)
        self.keys = keys
        self.password_totp = PasswordTotpAuthenticator(self.accounts, keys, lambda: self.clock())
        self.limiter = SignInLimiter()
        self.idle = timedelta(minutes=config.staff.idle_minutes)
        self.absolute = timedelta(hours=config.staff.absolute_hours)


STAFF = web.AppKey("staff_auth", StaffAuth)
_STAFF_KEYS = web.AppKey("staff_keys", KeyRing)


# --- refusals ------------------------------------------------------------------------------


class StaffRefusal(Problem):
    """A staff request that cannot go on; carries the response the person gets (a redirect
    to sign-in, a page in the person's language, or problem JSON). The security middleware
    sends it."""

    def __init__(self, status: int, code: str, title: str, response: web.Response) -> None:
        super().__init__(status, code, title)
        self._response = response

    def response(self) -> web.Response:
        return self._response


def _wants_json(request: web.Request) -> bool:
    if request.path == SESSION or request.path.startswith("/api/"):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def staff_error_page(
    request: web.Request, status: int, title: str, advice: str, *, back: str
) -> web.Response:
    """The staff error page; ``title`` and ``advice`` are Dutch texts marked with ``N_``,
    shown in the request's language. The switch returns to ``back`` after a POST."""
    gettext = gettext_for(request)
    response = render(
        request,
        "staff/error.html",
        switch_back=None if request.method in _SAFE_METHODS else back,
        title=gettext(title),
        advice=gettext(advice),
        back=back,
    )
    response.set_status(status)
    return response


def _refusal_page(
    request: web.Request, status: int, code: str, title: str, advice: str, *, back: str
) -> StaffRefusal:
    # problem JSON keeps its Dutch title (not translated, like every problem's)
    if _wants_json(request):
        problem = Problem(status, code, title)
        return StaffRefusal(status, code, title, problem.response())
    response = staff_error_page(request, status, title, advice, back=back)
    return StaffRefusal(status, code, title, response)


def _csrf_refusal(request: web.Request) -> StaffRefusal:
    return _refusal_page(
        request,
        403,
        "csrf-failed",
        N_("Dit formulier is verlopen"),
        N_(
            "Om uw account te beschermen nemen we dit formulier niet aan. Open de pagina "
            "opnieuw en probeer het nog een keer."
        ),
        back=SIGN_IN,
    )


def _forbidden(request: web.Request, code: str) -> StaffRefusal:
    return _refusal_page(
        request,
        403,
        code,
        N_("U heeft hier geen toegang"),
        N_(
            "Deze pagina hoort bij een andere rol of een andere gemeente dan uw account. "
            "Vraag uw functioneel beheerder om toegang als u die nodig heeft."
        ),
        back=LANDING,
    )


def _sign_in_required(request: web.Request, *, expired: bool, clear: bool) -> StaffRefusal:
    # ``clear``: the cookie names a session that is gone; a half-signed-in one is kept, so
    # the person can still finish the code step
    code = "staff-session-expired" if expired else "staff-sign-in-required"
    if _wants_json(request):
        problem = Problem(401, code, "Log opnieuw in")
        response = problem.response()
        if clear:
            _clear_cookie(request, response)
        return StaffRefusal(401, code, problem.title, response)
    redirect = web.Response(
        status=303, headers={"Location": SIGN_IN + ("?verlopen=1" if expired else "")}
    )
    if clear:
        _clear_cookie(request, redirect)
    return StaffRefusal(303, code, "Log opnieuw in", redirect)


# --- cookie, sessions, CSRF ----------------------------------------------------------------


def cookie_name(config: Config) -> str:
    return _PRODUCTION_COOKIE if config.production else _DEV_COOKIE


def _cookie_token(request: web.Request) -> str | None:
    value = request.cookies.get(cookie_name(request.app[CONFIG]), "")
    return value if _TOKEN.fullmatch(value) else None


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    # no max-age: a browser session cookie; the server's limits decide when it stops working
    response.set_cookie(
        cookie_name(request.app[CONFIG]),
        token,
        path="/",
        secure=request.app[CONFIG].production,
        httponly=True,
        samesite="Strict",
    )


def _clear_cookie(request: web.Request, response: web.StreamResponse) -> None:
    config = request.app[CONFIG]
    response.del_cookie(
        cookie_name(config), path="/", secure=config.production, httponly=True, samesite="Strict"
    )


async def _load_session(request: web.Request) -> tuple[Session | None, bool]:
    """This request's session and whether it had one that expired."""
    token = _cookie_token(request)
    if token is None:
        return None, False
    auth = request.app[STAFF]
    session = await auth.sessions.load(token)
    if session is None:
        return None, False
    if session.expired(auth.clock(), auth.idle):
        await auth.sessions.end(session, auth.clock())
        return None, session.stage is Stage.ACTIVE
    return session, False


async def start_session(
    request: web.Request,
    response: web.StreamResponse,
    account: AccountRef,
    *,
    method: str,
    replaces: Session | None,
) -> Session:
    """Sign ``account`` in: a new session with a new id, replacing any earlier one.

    The OpenID Connect seam: any authenticator that has proven a person holds ``account``
    ends here, so pages and :func:`require_staff` never care how they signed in.
    """
    auth = request.app[STAFF]
    now = auth.clock()
    token, session = await auth.sessions.start(
        Stage.ACTIVE,
        now=now,
        lifetime=auth.absolute,
        account=account,
        method=method,
        replaces=replaces.id_hash if replaces else None,
    )
    _set_cookie(request, response, token)
    log.info(
        "staff account %s of tenant %r signed in (%s)",
        account.account_id,
        account.tenant_id,
        method,
    )
    return session


async def check_csrf(request: web.Request, session: Session) -> None:
    """Refuse (403) a state-changing request without this session's token or from
    another origin. The token comes from the form field ``csrf_token`` or the
    ``X-CSRF-Token`` header."""
    if not from_our_site(request):
        log.warning("staff %s %s refused: foreign origin", request.method, request.path)
        raise _csrf_refusal(request)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_secret.encode()):
        log.warning(
            "staff %s %s refused: missing or wrong CSRF token", request.method, request.path
        )
        raise _csrf_refusal(request)


async def require_staff(
    request: web.Request,
    role: Role | None = None,
    tenant: str | None = None,
    *,
    touch: bool = True,
) -> StaffPrincipal:
    """The signed-in staff member, or a :class:`StaffRefusal`:

    - no or expired session: a redirect to sign-in (pages) or 401 problem JSON (API);
    - ``role`` not among the account's roles, or ``tenant`` not the account's: 403;
    - a state-changing method without a valid CSRF token or from a foreign origin: 403.

    ``touch=False`` reads without counting as activity (the expiry poll).
    """
    auth = request.app[STAFF]
    session, expired = await _load_session(request)
    if session is None or session.stage is not Stage.ACTIVE or session.account is None:
        raise _sign_in_required(request, expired=expired, clear=session is None)
    account = await auth.accounts.get(session.account.tenant_id, session.account.account_id)
    if account is None or account.disabled:
        await auth.sessions.end(session, auth.clock())
        raise _sign_in_required(request, expired=False, clear=True)
    roles = parse_roles(list(account.roles))
    if request.method not in _SAFE_METHODS:
        await check_csrf(request, session)
    if tenant is not None and tenant != account.tenant_id:
        log.warning("staff account %s refused: other tenant's page %s", account.id, request.path)
        raise _forbidden(request, "staff-other-tenant")
    if role is not None and role not in roles:
        log.warning("staff account %s refused: %s needs role %s", account.id, request.path, role)
        raise _forbidden(request, "staff-role-required")
    now = auth.clock()
    last_seen = session.last_seen
    if touch:
        await auth.sessions.touch(session, now)
        last_seen = now
    return StaffPrincipal(
        tenant_id=account.tenant_id,
        account_id=account.id,
        login=account.login,
        display_name=account.display_name,
        staff_id=account.staff_id,
        roles=roles,
        method=session.method or "",
        csrf_token=session.csrf_secret,
        signed_in_at=session.created_at,
        idle_expires_at=last_seen + auth.idle,
        expires_at=session.expires_at,
    )


# --- pages ---------------------------------------------------------------------------------


async def _form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    if request.content_type != "application/x-www-form-urlencoded":
        raise _csrf_refusal(request)
    return await request.post()


def _field(
    form: MultiDictProxy[str | bytes | bytearray | web.FileField], name: str, limit: int
) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def _rate_limited(request: web.Request) -> bool:
    auth = request.app[STAFF]
    return not auth.limiter.allow(request.remote or "?", asyncio.get_running_loop().time())


def _too_many(request: web.Request) -> web.Response:
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
        switch_back=None if request.method in _SAFE_METHODS else SIGN_IN,
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


async def sign_in_form(request: web.Request) -> web.Response:
    session, expired = await _load_session(request)
    if session is not None and session.stage is Stage.ACTIVE:
        return web.Response(status=303, headers={"Location": LANDING})
    new_token: list[str] = []
    session = await _anonymous_session(request, new_token, session)
    notice = ""
    if expired or request.query.get("verlopen"):
        notice = N_("U bent uitgelogd omdat u een tijdje niets deed. Log opnieuw in.")
    elif request.query.get("uitgelogd"):
        notice = N_("U bent uitgelogd.")
    response = await _sign_in_page(request, session, notice=notice)
    if new_token:
        _set_cookie(request, response, new_token[0])
    return response


async def sign_in_submit(request: web.Request) -> web.Response:
    if _rate_limited(request):
        return _too_many(request)
    session, _ = await _load_session(request)
    if session is None or session.stage not in (Stage.ANONYMOUS, Stage.PASSWORD):
        raise _csrf_refusal(request)
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
        response = web.Response(status=303, headers={"Location": SIGN_IN_CODE})
        _set_cookie(request, response, token)
        return response
    locked = result.outcome is Outcome.LOCKED
    who = result.account.account_id if result.account else "unknown"
    log.info("staff sign-in refused at the password (%s, account %s)", result.outcome.value, who)
    return await _sign_in_page(
        request,
        session,
        tenant=tenant,
        login=login,
        summary=LOCKED if locked else REFUSED,
        status=429 if locked else 200,
    )


async def code_form(request: web.Request) -> web.Response:
    session, _ = await _load_session(request)
    if session is None or session.stage is not Stage.PASSWORD:
        return web.Response(status=303, headers={"Location": SIGN_IN})
    return render(request, "staff/sign_in_code.html", csrf_token=session.csrf_secret, summary="")


async def code_submit(request: web.Request) -> web.Response:
    if _rate_limited(request):
        return _too_many(request)
    session, _ = await _load_session(request)
    if session is None or session.stage is not Stage.PASSWORD or session.account is None:
        raise _csrf_refusal(request)
    form = await _form(request)
    await check_csrf(request, session)
    code = _field(form, "code", 16)
    auth = request.app[STAFF]
    result = await auth.password_totp.check_code(session.account, code)
    if result.outcome is Outcome.OK and result.account is not None:
        response = web.Response(status=303, headers={"Location": LANDING})
        await start_session(
            request, response, result.account, method=auth.password_totp.method, replaces=session
        )
        return response
    log.info(
        "staff sign-in refused at the code (%s, account %s)",
        result.outcome.value,
        session.account.account_id,
    )
    if result.outcome is Outcome.LOCKED:
        # back to the start: the pending session is no good any more
        new_token: list[str] = []
        await auth.sessions.end(session, auth.clock())
        fresh = await _anonymous_session(request, new_token, None)
        response = await _sign_in_page(request, fresh, summary=LOCKED, status=429)
        _set_cookie(request, response, new_token[0])
        return response
    return render(
        request,
        "staff/sign_in_code.html",
        switch_back=SIGN_IN_CODE,
        csrf_token=session.csrf_secret,
        summary=gettext_for(request)(REFUSED),
    )


async def sign_out(request: web.Request) -> web.Response:
    await require_staff(request, touch=False)
    session, _ = await _load_session(request)
    auth = request.app[STAFF]
    if session is not None:
        await auth.sessions.end(session, auth.clock())
    response = web.Response(status=303, headers={"Location": SIGN_IN + "?uitgelogd=1"})
    _clear_cookie(request, response)
    return response


async def sign_out_everywhere(request: web.Request) -> web.Response:
    principal = await require_staff(request, touch=False)
    auth = request.app[STAFF]
    ended = await auth.sessions.end_all(
        AccountRef(principal.tenant_id, principal.account_id), auth.clock()
    )
    log.info("staff account %s signed out everywhere (%d sessions)", principal.account_id, ended)
    response = web.Response(status=303, headers={"Location": SIGN_IN + "?uitgelogd=1"})
    _clear_cookie(request, response)
    return response


async def landing(request: web.Request) -> web.Response:
    principal = await require_staff(request)
    gettext = gettext_for(request)
    tenants = dict(await request.app[STAFF].accounts.tenants())
    return render(
        request,
        "staff/home.html",
        principal=principal,
        tenant_name=tenants.get(principal.tenant_id, principal.tenant_id),
        roles=[gettext(ROLE_LABELS[role]) for role in Role if role in principal.roles],
        ends_at=principal.session_ends_at.astimezone(_AMSTERDAM).strftime("%H:%M"),
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


async def session_status(request: web.Request) -> web.Response:
    """Seconds left; polling this does not keep the session alive."""
    return _session_status(request, await require_staff(request, touch=False))


async def session_extend(request: web.Request) -> web.Response:
    """The one-action extend of the expiry warning: counts as activity."""
    return _session_status(request, await require_staff(request))


# --- wiring --------------------------------------------------------------------------------


def setup_staff(app: web.Application, config: Config) -> None:
    """Routes and the staff context; call after the database context is added."""
    app[_STAFF_KEYS] = vault_keys(config)
    app.router.add_get(SIGN_IN, sign_in_form)
    app.router.add_post(SIGN_IN, sign_in_submit)
    app.router.add_get(SIGN_IN_CODE, code_form)
    app.router.add_post(SIGN_IN_CODE, code_submit)
    app.router.add_post("/staff/sign-out", sign_out)
    app.router.add_post("/staff/sign-out-everywhere", sign_out_everywhere)
    app.router.add_get(LANDING, landing)
    app.router.add_get(SESSION, session_status)
    app.router.add_post(SESSION, session_extend)
    app.cleanup_ctx.append(staff_context)


async def staff_context(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the staff service, and a sweeper for expired sessions."""
    auth = StaffAuth(app[ENGINE], app[_STAFF_KEYS], app[CONFIG])
    app[STAFF] = auth

    async def sweep() -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL)
            try:
                await auth.sessions.sweep(auth.clock(), auth.idle)
            except Exception:
                log.exception("sweeping staff sessions failed")

    task = asyncio.get_running_loop().create_task(sweep())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = [
    "STAFF",
    "StaffAuth",
    "StaffRefusal",
    "check_csrf",
    "require_staff",
    "setup_staff",
    "start_session",
]
