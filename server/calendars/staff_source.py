"""From a staff record's ``calendar_source`` text to a :class:`StaffCalendar`, and the adapter
the booking service calls (:class:`server.booking.busy.BusySource`, matched structurally).

``calendar_source`` is the CalDAV collection URL. The name of the credential pair to log in
with rides in the URL's fragment, which is never sent to a server::

    https://cloud.example.nl/remote.php/dav/calendars/balie/jan-werk/#credentials=DAV

Passwords never sit in the database: the pair named ``DAV`` comes from the environment as
``BALIE_CALDAV_DAV_USERNAME`` and ``BALIE_CALDAV_DAV_PASSWORD``, read by the config layer
(:func:`server.config.credentials_from_env`). An empty or missing source means the internal
calendar.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Final, Protocol
from urllib.parse import parse_qs, urldefrag

from server.booking.model import Busy
from server.calendars.errors import InvalidCalendarInput
from server.calendars.model import CalDAVLink, FailurePolicy, StaffCalendar
from server.calendars.sources import CalendarSource, collect_busy
from server.config import CalDAVCredentials

log = logging.getLogger(__name__)

_NAME: Final = re.compile(r"[A-Z0-9_]+")


def parse_calendar_source(
    staff_id: str,
    source: str | None,
    credentials: Mapping[str, CalDAVCredentials],
    on_failure: FailurePolicy | str = FailurePolicy.HIDE,
) -> StaffCalendar:
    """The :class:`StaffCalendar` a staff record describes. Errors name the staff member and
    the credential name, never the URL (its path often holds a person's name)."""
    policy = _policy(staff_id, on_failure)
    if source is None or not source.strip():
        return StaffCalendar(staff_id, None, policy)
    url, fragment = urldefrag(source.strip())
    options = parse_qs(fragment, keep_blank_values=True)
    unknown = set(options) - {"credentials"}
    if unknown:
        raise InvalidCalendarInput(
            f"calendar source of staff {staff_id!r}: unknown option(s) {sorted(unknown)}"
        )
    name = options.get("credentials", [""])[-1].upper()
    if not name:
        return StaffCalendar(staff_id, CalDAVLink(url), policy)
    if not _NAME.fullmatch(name):
        raise InvalidCalendarInput(f"calendar source of staff {staff_id!r}: bad credential name")
    pair = credentials.get(name)
    if pair is None:
        raise InvalidCalendarInput(
            f"calendar source of staff {staff_id!r} names credentials {name!r}, but "
            f"BALIE_CALDAV_{name}_USERNAME is not set"
        )
    return StaffCalendar(staff_id, CalDAVLink(url, pair.username, pair.password), policy)


def _policy(staff_id: str, value: FailurePolicy | str) -> FailurePolicy:
    try:
        return FailurePolicy(value)
    except ValueError:
        raise InvalidCalendarInput(
            f"calendar failure policy of staff {staff_id!r} must be 'hide' or 'ignore'"
        ) from None


class CalendarRefLike(Protocol):
    """What booking passes per calendar (its ``CalendarRef``)."""

    @property
    def staff_id(self) -> str: ...

    @property
    def source(self) -> str: ...


class StaffCalendarsBusy:
    """Booking's ``BusySource`` over a :class:`CalendarSource`: busy blocks per staff id, a
    staff id left out when its calendar failed (booking then applies the staff member's
    hide/ignore choice). Each failure is logged here with its reason, free of personal data.

    :param source: e.g. :class:`~server.calendars.caldav.CalDAVSource`
    :param credentials: from :func:`credentials_from_env`
    """

    def __init__(
        self, source: CalendarSource, credentials: Mapping[str, CalDAVCredentials]
    ) -> None:
        self._source = source
        self._credentials = credentials

    async def busy(
        self,
        tenant_id: str,
        calendars: Sequence[CalendarRefLike],
        start: datetime,
        end: datetime,
    ) -> Mapping[str, Sequence[Busy]]:
        parsed: list[StaffCalendar] = []
        for ref in calendars:
            try:
                # IGNORE here: booking applies the staff member's own policy to what is left out.
                parsed.append(
                    parse_calendar_source(
                        ref.staff_id, ref.source, self._credentials, FailurePolicy.IGNORE
                    )
                )
            except InvalidCalendarInput as error:
                log.warning("calendar misconfigured (tenant %s): %s", tenant_id, error)
        lookup = await collect_busy(self._source, parsed, start, end)
        for failure in lookup.failures:
            log.warning(
                "calendar unavailable (tenant %s): %s: %s",
                tenant_id,
                failure.calendar,
                failure.reason,
            )
        failed = {failure.staff_id for failure in lookup.failures}
        answer: dict[str, list[Busy]] = {
            calendar.staff_id: [] for calendar in parsed if calendar.staff_id not in failed
        }
        for block in lookup.busy:
            if block.staff_id in answer:
                answer[block.staff_id].append(block)
        return answer
