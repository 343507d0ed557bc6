"""What the resident page tests share: a browser without JavaScript, and the steps a resident
takes through the booking and manage pages."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import urlsplit

import aiohttp
from sqlalchemy import select

from server.booking.join_links import resident_participant_id
from server.core.appkeys import CONFIG, KEYS
from server.db.schema import appointments
from signaling.roles import Role
from signaling.tokens import issue_room_token
from tests.server.booking.support import Booking, BookingClient


class Resident:
    """A browser without JavaScript: a cookie jar, and what the last page said."""

    def __init__(self, server: BookingClient, http: aiohttp.ClientSession) -> None:
        self.server = server
        self.http = http
        self.urls: list[str] = []

    async def get(self, path: str) -> tuple[int, str]:
        self.urls.append(path)
        async with self.http.get(self.server.url + path, allow_redirects=False) as response:
            if response.status == 303:
                return 303, response.headers["Location"]
            return response.status, await response.text()

    async def post(
        self, path: str, data: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        """POST a form; a 303 is answered with the Location (Post/Redirect/Get)."""
        self.urls.append(path)
        async with self.http.post(
            self.server.url + path, data=data, headers=headers, allow_redirects=False
        ) as response:
            if response.status == 303:
                return 303, response.headers["Location"]
            return response.status, await response.text()


def links(page: str, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*)"', page) if re.search(pattern, h)]


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no field {name}"
    return html.unescape(found.group(1))


def radios(page: str, name: str) -> list[str]:
    return [
        html.unescape(v)
        for v in re.findall(rf'type="radio" [^>]*name="{name}" value="([^"]*)"', page)
    ]


async def times_page(resident: Resident, tenant: str) -> tuple[str, str]:
    """The times page of a date a few days ahead (clear of today's passing hours)."""
    status, page = await resident.get(f"/afspraak/{tenant}/kies/intake")
    assert status == 200, page
    dates = links(page, r"/kies/intake/\d{4}-")
    later = links(page, r"\?week=")
    if len(dates) < 4:  # late in the week: the next one
        status, page = await resident.get(later[-1])
        dates = links(page, r"/kies/intake/\d{4}-")
    status, page = await resident.get(dates[min(3, len(dates) - 1)])
    assert status == 200, page
    return dates[min(3, len(dates) - 1)], page


async def hold(resident: Resident, tenant: str, page: str, start: str) -> tuple[int, str]:
    form = {"key": field(page, "key"), "purpose": "intake", "day": field(page, "day")}
    return await resident.post(f"/afspraak/{tenant}/vasthouden", form | {"start": start})


async def book(resident: Resident, tenant: str, *, email: str = "") -> tuple[str, str]:
    """Book the first free time; the confirmation page and its path."""
    _, page = await times_page(resident, tenant)
    status, location = await hold(resident, tenant, page, radios(page, "start")[0])
    assert (status, location) == (303, f"/afspraak/{tenant}/gegevens"), location
    status, details = await resident.get(location)
    assert status == 200, details
    form = {"key": field(details, "key"), "email": email, "phone": ""}
    status, location = await resident.post(f"/afspraak/{tenant}/bevestigen", form)
    assert status == 303, location
    status, confirmed = await resident.get(location)
    assert status == 200, confirmed
    return confirmed, location


def manage_link(page: str) -> str:
    found = [h for h in links(page, r"#token=") if "/afspraak/" in h]
    assert len(found) == 1, found
    return found[0]


async def open_manage_link(resident: Resident, link: str) -> tuple[int, str]:
    """What manage.js does: the fragment's token into the form, posted."""
    parts = urlsplit(link)
    status, page = await resident.get(parts.path)
    assert status == 200 and 'id="manage-form"' in page
    token = parts.fragment.removeprefix("token=")
    return await resident.post(parts.path, {"link": token})


async def room_and_token(server: Booking, tenant: str) -> tuple[str, str, str]:
    """The booked appointment's id and room, and a resident token for the call (as the join
    link gives one once the call is near: the link's own token is not valid days ahead)."""
    async with server.engine.connect() as conn:
        query = select(appointments).where(appointments.c.tenant_id == tenant)
        row = (await conn.execute(query)).one()
    token = issue_room_token(
        server.app[KEYS],
        issuer=server.app[CONFIG].tokens.issuer,
        room=row.room_id,
        participant_id=resident_participant_id(row.room_id),
        role=Role.RESIDENT,
        now=int(time.time()),
        ttl=3600,
        purpose="intake",
        tenant=tenant,
    )
    return row.id, row.room_id, token
