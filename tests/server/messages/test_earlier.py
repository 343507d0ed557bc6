"""The earlier-time list: a freed slot goes to the first resident waiting for an earlier time
of the same purpose, and only to them; taking it moves their booking and frees their old
time for the next; saying no passes it on. Through the manage pages, with real e-mail."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from server.booking.appkeys import BOOKING
from server.booking.appointment import AppointmentState
from server.db.schema import appointments
from tests.server.booking.support import Booking, key, seed
from tests.server.messages.smtp import SmtpServer
from tests.server.messages.support import FRIDAY, MONDAY_TEN, book, deliver_due, messaging_server
from tests.support import MovableClock

TUESDAY_TEN = MONDAY_TEN + timedelta(days=1)
TUESDAY_ELEVEN = TUESDAY_TEN + timedelta(hours=1)


class Resident:
    """A resident's browser on the manage pages: their manage link opened once (its token
    then rides in the cookie), forms posted as the page posts them."""

    def __init__(self, server: Booking, booked: dict[str, str]) -> None:
        self.server = server
        self.booked = booked
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.path = f"/afspraak/{booked['manage_url'].split('/afspraak/')[1].split('#')[0]}"

    async def open(self) -> None:
        token = self.booked["manage_token"]
        async with self.http.post(
            self.server.url + self.path,
            data={"link": token},
            headers={"Origin": self.server.url},
        ) as response:
            assert response.status == 200, await response.text()

    async def page(self) -> str:
        async with self.http.get(self.server.url + self.path + "/beheren") as response:
            assert response.status == 200
            return await response.text()

    async def earlier(self, action: str) -> tuple[int, str]:
        async with self.http.post(
            self.server.url + self.path + "/eerder",
            data={"eerder": action},
            headers={"Origin": self.server.url},
        ) as response:
            return response.status, str(response.url)

    async def close(self) -> None:
        await self.http.close()


def subjects(smtp: SmtpServer, to: str) -> list[str]:
    return [str(d.message["Subject"]) for d in smtp.received if d.recipients == [to]]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_a_freed_slot_goes_to_the_first_in_line_only_and_on_down_the_line(
    tmp_path: Path, database: str, postgres_url: str
) -> None:
    clock = MovableClock(FRIDAY)
    url = postgres_url if database == "postgresql" else ""
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock, database_url=url) as server:
            tenant = await seed(server.engine)
            monday = await book(server, tenant, MONDAY_TEN, {"email": "maandag@example.invalid"})
            first = await book(server, tenant, TUESDAY_TEN, {"email": "eerste@example.invalid"})
            second = await book(server, tenant, TUESDAY_ELEVEN, {"email": "tweede@example.invalid"})
            await deliver_due(server)
            residents = [Resident(server, b) for b in (first, second)]
            try:
                for resident in residents:
                    await resident.open()
                    assert "Zet mij op de lijst" in await resident.page()
                    status, _ = await resident.earlier("aan")
                    assert status == 200
                    assert "U staat op de lijst" in await resident.page()
                    clock.advance(seconds=1)  # the first asked first

                # Monday 10:00 is cancelled: held for the first in line, and only them
                status, _ = await server.call(
                    "POST",
                    server.api(tenant, f"/appointments/{monday['id']}/cancel"),
                    key=key(),
                    token=monday["manage_token"],
                )
                assert status == 200
                await deliver_due(server)
                (offer_mail,) = [
                    d
                    for d in smtp.received
                    if d.recipients == ["eerste@example.invalid"]
                    and "eerdere tijd" in str(d.message["Subject"])
                ]
                assert str(offer_mail.message["Subject"]) == (
                    "Er is een eerdere tijd vrij: maandag 26 oktober om 10:00"
                )
                text = str(offer_mail.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
                assert f"{first['id']}#token=" in text and "tot 14:00 voor u vast" in text
                assert not [s for s in subjects(smtp, "tweede@example.invalid") if "eerder" in s]
                # nobody else can take the held slot meanwhile
                status, refused = await server.call(
                    "POST",
                    server.api(tenant, "/holds"),
                    json={"purpose": "intake", "start": MONDAY_TEN.isoformat()},
                    key=key(),
                )
                assert status == 409, refused
                page = await residents[0].page()
                assert re.search(r"Er is een eerdere tijd vrij: maandag 26 oktober om 10:00", page)
                assert "Neem deze tijd" not in await residents[1].page()

                # the first takes it: their booking moves to Monday, their Tuesday frees up
                # and goes to the second in line
                status, url = await residents[0].earlier("nemen")
                assert status == 200 and url.endswith("/bevestiging"), url
                await deliver_due(server)
                assert subjects(smtp, "eerste@example.invalid")[-1] == (
                    "Uw afspraak is verzet naar maandag 26 oktober om 10:00"
                )
                assert subjects(smtp, "tweede@example.invalid")[-1] == (
                    "Er is een eerdere tijd vrij: dinsdag 27 oktober om 10:00"
                )

                # the second says no: off the list, the hold let go, the slot open to all
                status, _ = await residents[1].earlier("nee")
                assert status == 200
                assert "Zet mij op de lijst" in await residents[1].page()
                async with server.engine.connect() as conn:
                    states = dict(
                        (
                            await conn.execute(
                                select(appointments.c.starts_at, appointments.c.state).where(
                                    appointments.c.tenant_id == tenant,
                                    appointments.c.state.in_(["held", "booked"]),
                                )
                            )
                        ).all()
                    )
                assert states == {MONDAY_TEN: "booked", TUESDAY_ELEVEN: "booked"}
            finally:
                for resident in residents:
                    await resident.close()


async def test_an_offer_nobody_takes_lapses_and_the_slot_is_free_again(tmp_path: Path) -> None:
    clock = MovableClock(FRIDAY)
    with SmtpServer() as smtp:
        async with messaging_server(tmp_path, smtp.port, clock) as server:
            tenant = await seed(server.engine)
            monday = await book(server, tenant, MONDAY_TEN, {"email": "maandag@example.invalid"})
            waiting = await book(server, tenant, TUESDAY_TEN, {"email": "eerste@example.invalid"})
            service = server.app[BOOKING]
            found = await service.get(tenant, waiting["id"])
            await service.earlier_list(tenant, found.id, found.version, "aan")
            await service.cancel(tenant, monday["id"], int(monday["version"]))
            place = await service.earlier_place(found)
            assert place is not None and place.offer is not None
            assert place.offer.state is AppointmentState.HELD
            clock.now = place.offer.hold_expires_at  # type: ignore[assignment]
            # the hold has lapsed: the message is no longer sent, the slot is bookable
            await deliver_due(server)
            assert not [s for s in subjects(smtp, "eerste@example.invalid") if "eerder" in s]
            status, held = await server.call(
                "POST",
                server.api(tenant, "/holds"),
                json={"purpose": "intake", "start": MONDAY_TEN.isoformat()},
                key=key(),
            )
            assert status == 201, held
            # still on the list for the next one
            place = await service.earlier_place(found)
            assert place is not None and place.offer is None
