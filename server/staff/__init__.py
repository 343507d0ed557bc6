"""Staff: accounts per tenant with roles, password + TOTP, server-side sessions; the
specialist's desk and the planner console.

- :mod:`server.staff.accounts` – the account store, argon2id, TOTP, lockout, and the
  :class:`Authenticator` seam (password + TOTP now, OpenID Connect later);
- :mod:`server.staff.sessions` – server-side sessions, rotated at every stage;
- :mod:`server.staff.auth` – the session cookie, CSRF, and the access each route declares;
- :mod:`server.staff.sign_in` – the sign-in pages;
- :mod:`server.staff.desk` and :mod:`server.staff.planner` – the two consoles.

A staff page declares what it needs and reads who is signed in::

    @requires(Role.PLANNER)
    async def planner_page(request):
        principal = staff_principal(request)
        ...  # forms carry principal.csrf_token in a hidden "csrf_token" field
"""

from server.staff.accounts import AccountStore, Authenticator, PasswordTotpAuthenticator
from server.staff.auth import (
    STAFF,
    StaffAuth,
    StaffRefusal,
    check_csrf,
    public,
    require_staff,
    requires,
    signed_in,
    staff_principal,
    start_session,
)
from server.staff.model import AccountRef, Role, StaffPrincipal

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
    "public",
    "require_staff",
    "requires",
    "signed_in",
    "staff_principal",
    "start_session",
]
