"""The WebDAV/CalDAV XML this connector speaks: request bodies out, multistatus answers in.

Pure, no I/O; the subset of RFC 4918 (WebDAV) and RFC 4791 (CalDAV) the connector needs:
a ``calendar-query`` REPORT with a ``time-range`` and a Depth 0 PROPFIND of a collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from xml.etree import ElementTree

from server.calendars.errors import CalendarUnreadable

DAV: Final = "DAV:"
CALDAV: Final = "urn:ietf:params:xml:ns:caldav"
CALENDARSERVER: Final = "http://calendarserver.org/ns/"

_XML_HEAD: Final = '<?xml version="1.0" encoding="utf-8"?>\n'


def calendar_query_body(start: datetime, end: datetime) -> bytes:
    """A ``calendar-query`` REPORT body: the VEVENT resources with an instance in [start, end).

    No ``expand``: we expand on our side (see :mod:`server.calendars.busy`), so the answer
    carries the series with TRANSP, STATUS and overrides as stored.
    """
    return (
        _XML_HEAD + f'<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
        '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        f'<C:time-range start="{_utc(start)}" end="{_utc(end)}"/>'
        "</C:comp-filter></C:comp-filter></C:filter>"
        "</C:calendar-query>"
    ).encode()


def collection_propfind_body() -> bytes:
    """A Depth 0 PROPFIND body asking what a collection is and its change tag."""
    return (
        _XML_HEAD + f'<D:propfind xmlns:D="{DAV}" xmlns:CS="{CALENDARSERVER}">'
        "<D:prop><D:resourcetype/><D:displayname/><CS:getctag/><D:sync-token/></D:prop>"
        "</D:propfind>"
    ).encode()


@dataclass(frozen=True, slots=True)
class CalendarObject:
    """One calendar object resource from a multistatus answer."""

    href: str
    etag: str
    data: str  #: the VCALENDAR text


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """What a Depth 0 PROPFIND says about a collection."""

    is_calendar: bool
    display_name: str
    #: changes whenever the collection changes (``getctag``, else ``sync-token``); "" if neither
    change_tag: str


def calendar_objects_from_multistatus(body: bytes, calendar: str) -> list[CalendarObject]:
    """The resources with calendar data in a REPORT's 207 answer, in document order.

    Responses without a 200 ``calendar-data`` (a 404 propstat, a deleted resource) are left
    out. ``calendar`` names the source in errors.
    """
    objects: list[CalendarObject] = []
    for response in _parse(body, calendar).iterfind(f"{{{DAV}}}response"):
        href = response.findtext(f"{{{DAV}}}href", "").strip()
        prop = _ok_prop(response)
        if prop is None:
            continue
        data = prop.findtext(f"{{{CALDAV}}}calendar-data")
        if data is None or not data.strip():
            continue
        etag = prop.findtext(f"{{{DAV}}}getetag", "").strip()
        objects.append(CalendarObject(href=href, etag=etag, data=data))
    return objects


def collection_from_multistatus(body: bytes, calendar: str) -> CollectionInfo:
    """The collection's properties from a Depth 0 PROPFIND's 207 answer."""
    response = _parse(body, calendar).find(f"{{{DAV}}}response")
    prop = None if response is None else _ok_prop(response)
    if prop is None:
        raise CalendarUnreadable(calendar, "PROPFIND answer has no properties for the collection")
    kind = prop.find(f"{{{DAV}}}resourcetype")
    is_calendar = kind is not None and kind.find(f"{{{CALDAV}}}calendar") is not None
    change_tag = (
        prop.findtext(f"{{{CALENDARSERVER}}}getctag") or prop.findtext(f"{{{DAV}}}sync-token") or ""
    )
    return CollectionInfo(
        is_calendar=is_calendar,
        display_name=prop.findtext(f"{{{DAV}}}displayname", "").strip(),
        change_tag=change_tag.strip(),
    )


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ok_prop(response: ElementTree.Element) -> ElementTree.Element | None:
    """The ``prop`` of the response's 200 propstat; None if it has none."""
    for propstat in response.iterfind(f"{{{DAV}}}propstat"):
        status = propstat.findtext(f"{{{DAV}}}status", "")
        if " 200 " in f"{status} ":
            return propstat.find(f"{{{DAV}}}prop")
    return None


def _parse(body: bytes, calendar: str) -> ElementTree.Element:
    # A DAV answer never needs a DTD. Refusing one up front leaves no room for entity
    # expansion tricks (what defusedxml guards against); ElementTree resolves no external
    # entities, and this expat (>= 2.4.1) also caps amplification.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise CalendarUnreadable(calendar, "DAV answer carries a DTD, which is refused")
    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - DTDs refused above
    except ElementTree.ParseError:
        raise CalendarUnreadable(calendar, "DAV answer is not well-formed XML") from None
    if root.tag != f"{{{DAV}}}multistatus":
        raise CalendarUnreadable(calendar, "DAV answer is not a multistatus")
    return root
