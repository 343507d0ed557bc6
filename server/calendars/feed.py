"""Feed tokens: the secret in a staff member's ``.ics`` feed URL.

A calendar app subscribing to a feed cannot log in, so the URL itself is the credential. The
token is an HMAC-SHA256 over (tenant id, staff id, generation) under a server secret, not a
random value stored per staff member, because:

- it needs no database column (the storage layer is still being written) and survives a
  restore from backup unchanged;
- it is unguessable without the secret (256 bits of MAC, 43 URL-safe characters);
- one staff member's feed is revoked by raising their ``generation`` (a stored counter that
  starts at 0; a leaked URL stops working), all feeds at once by rotating the secret.

The price: whoever holds the secret can mint every feed URL, so it is a secret of its own
(``BALIE_FEED_SECRET``), not shared with room-token keys. Tokens are compared in constant time
(:func:`hmac.compare_digest`). The feed holds no resident data (see :mod:`.ics`), which is what
makes a bearer URL acceptable here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from server.calendars.errors import InvalidCalendarInput
from server.config import MIN_FEED_SECRET_BYTES as MIN_SECRET_BYTES

#: the shortest server secret accepted, in bytes (the HMAC's own strength)

# Domain separation: the same secret used for anything else never yields a feed token.
_LABEL: Final = b"balie/staff-feed/v1"


class FeedTokens:
    """Issues and checks staff feed tokens under one server secret.

    :param secret: at least :data:`MIN_SECRET_BYTES` random bytes
    """

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise InvalidCalendarInput(
                f"feed secret must be at least {MIN_SECRET_BYTES} bytes, got {len(secret)}"
            )
        self._secret = secret

    def __repr__(self) -> str:
        return "FeedTokens(<secret>)"

    def issue(self, tenant_id: str, staff_id: str, generation: int = 0) -> str:
        """The feed token of one staff member of one tenant, for the current generation."""
        mac = hmac.new(self._secret, _message(tenant_id, staff_id, generation), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")

    def verify(self, token: str, tenant_id: str, staff_id: str, generation: int = 0) -> bool:
        """Is ``token`` this staff member's current feed token? Constant time in ``token``."""
        expected = self.issue(tenant_id, staff_id, generation).encode("ascii")
        # compare_digest on str refuses non-ASCII with a TypeError; bytes always compare.
        offered = token.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(offered, expected)


def _message(tenant_id: str, staff_id: str, generation: int) -> bytes:
    if not tenant_id or not staff_id:
        raise InvalidCalendarInput("feed token needs a tenant id and a staff id")
    if "\x00" in tenant_id or "\x00" in staff_id:
        raise InvalidCalendarInput("feed token ids must not contain NUL")
    if isinstance(generation, bool) or generation < 0:
        raise InvalidCalendarInput(f"feed generation {generation!r} must be >= 0")
    # NUL-separated: no other (tenant, staff, generation) triple gives the same bytes.
    return b"\x00".join((_LABEL, tenant_id.encode(), staff_id.encode(), str(generation).encode()))
