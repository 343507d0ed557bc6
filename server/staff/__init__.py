"""Staff sign-in: accounts per tenant with roles, password + TOTP, server-side sessions.

What later pages use::

    from server.staff import Role, require_staff

    async def planner_page(request):
        principal = await require_staff(request, role=Role.PLANNER, tenant=tenant_id)
        ...  # forms carry principal.csrf_token in a hidden "csrf_token" field

- :mod:`server.staff.accounts` – the account store, argon2id, TOTP, lockout, and the
  :class:`Authenticator` seam (password + TOTP now, OpenID Connect later);
- :mod:`server.staff.sessions` – server-side sessions, rotated at every stage;
- :mod:`server.staff.web` – the sign-in pages, cookie, CSRF and :func:`require_staff`.
"""

from server.staff.accounts import AccountStore, Authenticator, PasswordTotpAuthenticator
from server.staff.model import AccountRef, Role, StaffPrincipal
from server.staff.web import (
    STAFF,
    StaffAuth,
    StaffRefusal,
    check_csrf,
    require_staff,
    setup_staff,
    start_session,
)

__all__ = [
    "STAFF",
    "AccountRef",
    "AccountStore",
    "Authenticator",
    "PasswordTotpAuthenticator",
    "Role",
    "StaffAuth",
    "StaffPrincipal",
    "StaffRefusal",
    "check_csrf",
    "require_staff",
    "setup_staff",
    "start_session",
]
