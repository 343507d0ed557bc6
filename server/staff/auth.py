"""Who is signed in: the staff session cookie, CSRF, and the access every staff route declares.

Staff routes are authenticated by default. :func:`staff_access` (a request guard) stands in
front of every route under ``/staff``: it looks up the access the route's handler declared
with :func:`requires`, :func:`signed_in` or :func:`public`, refuses a route that declared
none, and otherwise resolves the signed-in person once (:func:`require_staff`: session,
role, tenant, CSRF token and Origin of every state-changing request) before the handler
runs. Handlers read the person with :func:`staff_principal`. A refusal is a
:class:`StaffRefusal`: a redirect to sign-in, a page in the person's language, or problem
JSON, which the security middleware sends.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.vault import KeyRing
from server.config import Config
from server.core.appkeys import CONFIG
from server.core.clock import Clock, utc_now
from server.core.forms import see_other
from server.core.language import N_, gettext_for
from server.core.limits import Limiter, LocalLimiter
from server.core.logs import Event, event
from server.core.pages import render
from server.core.problems import Problem
from server.core.security import from_our_site
from server.staff.accounts import AccountStore, PasswordTotpAuthenticator
from server.staff.model import AccountRef, Role, StaffPrincipal, parse_roles
from server.staff.sessions import Session, SessionStore, Stage

log = logging.getLogger("balie.staff")

SIGN_IN: Final = "/staff/sign-in"

LANDING: Final = "/staff"

SESSION: Final = "/staff/session"

#: a page warns this long before the session ends (WCAG 2.2.1 asks for >= 20 s)
WARN_SECONDS: Final = 120

#: sign-in POSTs per client address, across every node: a burst, then this many per minute
#: (ASVS 2.4.1)
SIGN_IN_BURST: Final = 20

SIGN_IN_PER_MINUTE: Final = 20

_DEV_COOKIE: Final = "balie_staff"

# __Host-: only over HTTPS, only this host, Path=/ (no sub-domain can set or read it)
_PRODUCTION_COOKIE: Final = "__Host-balie_staff"

_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class StaffAuth:
    """The accounts, sessions and authenticators of one application."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: KeyRing,
        config: Config,
        clock: Clock = utc_now,
        limiter: Limiter | None = None,
    ) -> None:
        self.config = config
        #: tests move this clock to expire sessions without sleeping
        self.clock = clock
        self.accounts = AccountStore(engine)
        self.sessions = SessionStore(engine)
        self.keys = keys
        self.password_totp = PasswordTotpAuthenticator(self.accounts, keys, lambda: self.clock())
        self.limiter = (
            limiter if limiter is not None else LocalLimiter(SIGN_IN_BURST, SIGN_IN_PER_MINUTE)
        )
        self.idle = timedelta(minutes=config.staff.idle_minutes)
        self.absolute = timedelta(hours=config.staff.absolute_hours)


STAFF = web.AppKey("staff_auth", StaffAuth)


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
        switch_back=None if request.method in SAFE_METHODS else back,
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


def csrf_refusal(request: web.Request) -> StaffRefusal:
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
            clear_cookie(request, response)
        return StaffRefusal(401, code, problem.title, response)
    redirect = see_other(SIGN_IN + ("?verlopen=1" if expired else ""))
    if clear:
        clear_cookie(request, redirect)
    return StaffRefusal(303, code, "Log opnieuw in", redirect)


def cookie_name(config: Config) -> str:
    return _PRODUCTION_COOKIE if config.production else _DEV_COOKIE


def _cookie_token(request: web.Request) -> str | None:
    value = request.cookies.get(cookie_name(request.app[CONFIG]), "")
    return value if _TOKEN.fullmatch(value) else None


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    # no max-age: a browser session cookie; the server's limits decide when it stops working
    response.set_cookie(
        cookie_name(request.app[CONFIG]),
        token,
        path="/",
        secure=request.app[CONFIG].production,
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(request: web.Request, response: web.StreamResponse) -> None:
    config = request.app[CONFIG]
    response.del_cookie(
        cookie_name(config), path="/", secure=config.production, httponly=True, samesite="Strict"
    )


async def load_session(request: web.Request) -> tuple[Session | None, bool]:
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
    set_cookie(request, response, token)
    log.info(
        "staff account %s of tenant %r signed in (%s)",
        account.account_id,
        account.tenant_id,
        method,
        extra=event(Event.STAFF_SIGNED_IN),
    )
    return session


async def check_csrf(request: web.Request, session: Session) -> None:
    """Refuse (403) a state-changing request without this session's token or from
    another origin. The token comes from the form field ``csrf_token`` or the
    ``X-CSRF-Token`` header."""
    if not from_our_site(request):
        log.warning(
            "staff %s %s refused: foreign origin",
            request.method,
            request.path,
            extra=event(Event.STAFF_CSRF_REFUSED),
        )
        raise csrf_refusal(request)
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_secret.encode()):
        log.warning(
            "staff %s %s refused: missing or wrong CSRF token",
            request.method,
            request.path,
            extra=event(Event.STAFF_CSRF_REFUSED),
        )
        raise csrf_refusal(request)


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
    session, expired = await load_session(request)
    if session is None or session.stage is not Stage.ACTIVE or session.account is None:
        raise _sign_in_required(request, expired=expired, clear=session is None)
    account = await auth.accounts.get(session.account.tenant_id, session.account.account_id)
    if account is None or account.disabled:
        await auth.sessions.end(session, auth.clock())
        raise _sign_in_required(request, expired=False, clear=True)
    roles = parse_roles(list(account.roles))
    if request.method not in SAFE_METHODS:
        await check_csrf(request, session)
    if tenant is not None and tenant != account.tenant_id:
        log.warning(
            "staff account %s refused: other tenant's page %s",
            account.id,
            request.path,
            extra=event(Event.STAFF_ACCESS_REFUSED),
        )
        raise _forbidden(request, "staff-other-tenant")
    if role is not None and role not in roles:
        log.warning(
            "staff account %s refused: %s needs role %s",
            account.id,
            request.path,
            role,
            extra=event(Event.STAFF_ACCESS_REFUSED),
        )
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


# --- what each route needs ---------------------------------------------------------------

#: every staff route lives under this path, and must declare its access
STAFF_PREFIX: Final = "/staff"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True, slots=True)
class Access:
    """What a staff route needs before its handler runs."""

    #: the role the person must have; None: any signed-in staff member
    role: Role | None
    #: False: answering does not count as activity (the expiry poll, the desk's poll)
    touch: bool = True
    #: the sign-in pages: open before anyone is signed in
    public: bool = False


_DECLARED: dict[object, Access] = {}

#: the signed-in person, resolved by :func:`staff_access` before a staff handler runs
PRINCIPAL = web.RequestKey("staff_principal", StaffPrincipal)


def requires(role: Role, *, touch: bool = True) -> Callable[[H], H]:
    """Declare that a staff route needs ``role``."""

    def declare(handler: H) -> H:
        _DECLARED[handler] = Access(role, touch)
        return handler

    return declare


def signed_in(handler: H) -> H:
    """Declare that a staff route is for any signed-in staff member (it checks the rest
    itself, such as "your own appointment or a planner")."""
    _DECLARED[handler] = Access(None)
    return handler


def signed_in_quietly(handler: H) -> H:
    """As :func:`signed_in`, but answering does not count as activity."""
    _DECLARED[handler] = Access(None, touch=False)
    return handler


def public(handler: H) -> H:
    """Declare a staff route open to everyone (the sign-in steps)."""
    _DECLARED[handler] = Access(None, public=True)
    return handler


def access_of(handler: object) -> Access | None:
    """What ``handler`` declared, or None if it declared nothing."""
    return _DECLARED.get(handler)


def is_staff_path(path: str) -> bool:
    return path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")


def staff_principal(request: web.Request) -> StaffPrincipal:
    """The signed-in person of a staff route (resolved by :func:`staff_access`)."""
    return request[PRINCIPAL]


async def staff_access(request: web.Request) -> None:
    """Resolve the signed-in person once for every staff route, as the route declared (a
    guard the security middleware runs before every handler)."""
    match = request.match_info
    if not is_staff_path(request.path) or match.http_exception is not None:
        return  # not a staff route, or a 404/405 with nothing to guard
    access = access_of(match.handler)
    if access is None:
        # a route added without a declaration is refused, never left open
        log.error("staff route %s %s declares no access: refused", request.method, request.path)
        raise _forbidden(request, "staff-route-undeclared")
    if not access.public:
        request[PRINCIPAL] = await require_staff(
            request, access.role, tenant=request.query.get("tenant") or None, touch=access.touch
        )
