"""What the rest of Balie knows about a signed-in staff member."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from server.core.language import N_


class Role(StrEnum):
    """Roles per tenant. Not a hierarchy: an account holds every role it needs, so an admin
    who also plans has both ``admin`` and ``planner`` (least privilege, ASVS 8.2)."""

    #: talks to residents: the desk with today's calls and verified attributes
    SPECIALIST = "specialist"
    #: manages availability and bookings, sees the numbers
    PLANNER = "planner"
    #: functional admin: purposes, staff, calendars, retention
    ADMIN = "admin"


#: how the pages name each role (Dutch, B1; translated where shown)
ROLE_LABELS: Final = {
    Role.SPECIALIST: N_("Specialist"),
    Role.PLANNER: N_("Planner"),
    Role.ADMIN: N_("Functioneel beheerder"),
}


def parse_roles(raw: object) -> frozenset[Role]:
    """The known roles in a stored list; unknown names grant nothing."""
    if not isinstance(raw, list):
        return frozenset()
    known = {role.value for role in Role}
    return frozenset(Role(name) for name in raw if name in known)


@dataclass(frozen=True, slots=True)
class AccountRef:
    """A person proven to hold this account; what every authenticator produces."""

    tenant_id: str
    account_id: str


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """The signed-in staff member of one request, as :func:`require_staff` returns it."""

    tenant_id: str
    account_id: str
    login: str
    display_name: str
    #: the bookable staff member (``staff.id``) this account acts as, if any
    staff_id: str | None
    roles: frozenset[Role]
    #: how the person authenticated: ``password+totp`` (later also ``oidc``)
    method: str
    #: put in a hidden ``csrf_token`` field (or the ``X-CSRF-Token`` header) of every POST
    csrf_token: str = field(repr=False)
    signed_in_at: datetime
    #: when the session ends if nothing happens (idle) and at the latest (absolute)
    idle_expires_at: datetime
    expires_at: datetime

    @property
    def session_ends_at(self) -> datetime:
        return min(self.idle_expires_at, self.expires_at)

    def has(self, role: Role) -> bool:
        return role in self.roles
