"""The CalDAV connector: reads a staff member's busy time, writes and removes their bookings.

It speaks the small subset of CalDAV (RFC 4791) it needs over aiohttp's client directly:

=========  ==========================================================================
REPORT     ``calendar-query`` with a ``time-range``: the events with an instance in the
           window, recurring series whole (we expand them, :mod:`server.calendars.busy`)
PROPFIND   Depth 0 on the collection: is the URL a calendar (:meth:`CalDAVSource.probe`)
PUT        the booking as ``<uid>.ics``: ``If-None-Match: *`` to create, ``If-Match`` with
           the current ETag to update, so a write never clobbers an edit it did not see
GET        the current ETag before an update
DELETE     the booking on cancel; 404 means already gone, which is what we wanted
=========  ==========================================================================

Every request has a timeout, sends Basic credentials only to the configured URL (redirects
are not followed: a redirect is refused rather than replayed with credentials elsewhere) and
reads at most :data:`MAX_ANSWER_BYTES`. aiohttp's errors are translated here into the
:mod:`server.calendars.errors` tree, naming the calendar, the method and the status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import aiohttp

from server.booking.model import Busy
from server.calendars.busy import busy_from_icalendar
from server.calendars.davxml import (
    CollectionInfo,
    calendar_objects_from_multistatus,
    calendar_query_body,
    collection_from_multistatus,
    collection_propfind_body,
)
from server.calendars.errors import (
    CalendarConflict,
    CalendarRefused,
    CalendarUnreachable,
    CalendarUnreadable,
    InvalidCalendarInput,
)
from server.calendars.ics import staff_event
from server.calendars.model import (
    DEFAULT_UID_DOMAIN,
    CalDAVLink,
    CalendarAppointment,
    StaffCalendar,
    appointment_uid,
)
from server.core.clock import AMSTERDAM

#: per request: a calendar server that has not answered in this time is treated as down
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=15, connect=5)

#: the largest answer read; a month of a busy calendar is well under a megabyte
MAX_ANSWER_BYTES: Final = 16 * 1024 * 1024

#: conditional PUT attempts before giving up with CalendarConflict
WRITE_ATTEMPTS: Final = 3

_XML: Final = "application/xml; charset=utf-8"
_ICS: Final = "text/calendar; charset=utf-8"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    etag: str  #: "" when the server sent none
    body: bytes


class CalDAVSource:
    """Staff members' CalDAV calendars: busy time in, bookings out.

    A calendar without a :class:`CalDAVLink` is Balie's internal one: no busy time, and
    writes are skipped. The caller owns ``session`` (one per application, closed in its
    cleanup) so connections are pooled across staff members.

    :param session: the aiohttp client session to send requests with
    :param timeout: per request
    :param uid_domain: the UID domain of Balie's events; events with it are not read as busy
    :param zone: the zone of all-day and floating events
    :param clock: the DTSTAMP of written events
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        uid_domain: str = DEFAULT_UID_DOMAIN,
        zone: ZoneInfo = AMSTERDAM,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self._session = session
        self._timeout = timeout
        self._uid_domain = uid_domain
        self._zone = zone
        self._clock = clock

    # --- reading --------------------------------------------------------------------------

    async def busy(self, calendar: StaffCalendar, start: datetime, end: datetime) -> list[Busy]:
        """The busy blocks of the staff member's calendar overlapping [start, end), UTC."""
        link = calendar.caldav
        if link is None:
            return []
        answer = await self._send(
            calendar,
            link,
            "REPORT",
            link.url,
            body=calendar_query_body(start, end),
            headers={"Depth": "1", "Content-Type": _XML},
            expect=(207,),
        )
        objects = calendar_objects_from_multistatus(answer.body, calendar.label)
        return busy_from_icalendar(
            (found.data for found in objects),
            staff_id=calendar.staff_id,
            start=start,
            end=end,
            calendar=calendar.label,
            zone=self._zone,
            own_uid_domain=self._uid_domain,
        )

    async def probe(self, calendar: StaffCalendar) -> CollectionInfo:
        """Check that the link reaches a calendar collection with these credentials.

        For an admin's "test connection": raises :class:`CalendarRefused` (e.g. 401, 404) or
        :class:`CalendarUnreadable` when the URL is a collection but not a calendar.
        """
        link = _require_link(calendar)
        answer = await self._send(
            calendar,
            link,
            "PROPFIND",
            link.url,
            body=collection_propfind_body(),
            headers={"Depth": "0", "Content-Type": _XML},
            expect=(207,),
        )
        info = collection_from_multistatus(answer.body, calendar.label)
        if not info.is_calendar:
            raise CalendarUnreadable(calendar.label, "the URL is not a calendar collection")
        return info

    # --- writing --------------------------------------------------------------------------

    async def write_booking(
        self, calendar: StaffCalendar, appointment: CalendarAppointment
    ) -> str | None:
        """Create or update the booking's event (stable UID) in the staff member's calendar.

        Returns the new ETag when the server sends one; None for an internal calendar.
        Writing the same appointment again replaces its event, never adds a second one.
        """
        link = calendar.caldav
        if link is None:
            return None
        href = self._href(link, appointment.id)
        body = staff_event(appointment, now=self._clock(), uid_domain=self._uid_domain)
        # Create-only first; on 412 the event exists: update exactly the version we read.
        condition = {"If-None-Match": "*"}
        for _ in range(WRITE_ATTEMPTS):
            answer = await self._send(
                calendar,
                link,
                "PUT",
                href,
                body=body,
                headers={"Content-Type": _ICS, **condition},
                expect=(200, 201, 204, 412),
            )
            if answer.status != 412:
                return answer.etag or None
            current = await self._send(calendar, link, "GET", href, expect=(200, 404))
            if current.status == 404:
                condition = {"If-None-Match": "*"}  # deleted in between: create again
            elif current.etag:
                condition = {"If-Match": current.etag}
            else:
                # A server without ETags cannot do conditional updates; the UID is ours, so
                # overwriting our own event is the only sensible write left.
                condition = {}
        raise CalendarConflict(
            calendar.label,
            f"PUT lost {WRITE_ATTEMPTS} times to concurrent changes of the event",
            status=412,
        )

    async def remove_booking(self, calendar: StaffCalendar, appointment_id: str) -> bool:
        """Delete the booking's event. True if deleted, False if it was already gone."""
        link = calendar.caldav
        if link is None:
            return False
        answer = await self._send(
            calendar,
            link,
            "DELETE",
            self._href(link, appointment_id),
            expect=(200, 204, 404, 410),
        )
        return answer.status in (200, 204)

    # --- the wire -------------------------------------------------------------------------

    def _href(self, link: CalDAVLink, appointment_id: str) -> str:
        return (
            link.url + quote(appointment_uid(appointment_id, self._uid_domain), safe="@") + ".ics"
        )

    async def _send(
        self,
        calendar: StaffCalendar,
        link: CalDAVLink,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...],
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> _Answer:
        sent = dict(headers or {})
        if link.username or link.password:
            sent["Authorization"] = aiohttp.encode_basic_auth(link.username, link.password)
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=sent,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                if response.status not in expect:
                    raise CalendarRefused(
                        calendar.label,
                        f"{method} answered {response.status}{_hint(response.status)}",
                        status=response.status,
                    )
                data = await _read_capped(response, calendar.label, method)
                return _Answer(response.status, response.headers.get("ETag", ""), data)
        except (aiohttp.ClientError, TimeoutError) as exc:
            # The class name only: aiohttp's messages quote the URL, whose path may name
            # a person.
            raise CalendarUnreachable(
                calendar.label, f"{method} failed: {type(exc).__name__}"
            ) from None


def _require_link(calendar: StaffCalendar) -> CalDAVLink:
    if calendar.caldav is None:
        raise InvalidCalendarInput(f"{calendar.label} has no CalDAV link to probe")
    return calendar.caldav


def _hint(status: int) -> str:
    if status in (401, 403):
        return " (check the user name, password and rights)"
    if status in (301, 302, 307, 308):
        return " (redirects are not followed: configure the final calendar URL)"
    if status == 404:
        return " (no calendar at that URL)"
    return ""


async def _read_capped(response: aiohttp.ClientResponse, calendar: str, method: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise CalendarUnreadable(
                calendar, f"{method} answer is larger than {MAX_ANSWER_BYTES} bytes"
            )
        chunks.append(chunk)
    return b"".join(chunks)
