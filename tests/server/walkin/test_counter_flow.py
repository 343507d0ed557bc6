"""The walk-in counter through a real Balie on loopback, as people use it without a browser:
the resident's pages and form, the identity gate (IRMA emulator + test wallet), the
signalling socket's lobby, the queue API and notices; the specialist signed in through the
real sign-in flow, pressing "Volgende inwoner" on the desk. (The Chromium tests take the
same path with the demo wallet: tests/e2e/test_walkin_browser.py.)
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from identity.wallet import TestWallet
from server.core.appkeys import KEYS
from server.db.appkeys import ENGINE
from server.db.schema import audit_events, walkin_callbacks, walkin_tickets
from server.walkin.appkeys import WALKIN
from server.walkin.counters import Counter
from server.walkin.hours import OpeningHours
from server.walkin.setup import housekeeping
from signaling.channels import Channel
from signaling.roles import Role
from signaling.tokens import RoomClaims, verify_room_token
from tests.english import assert_english, choose_english
from tests.leaks import logged, metrics_labels, metrics_text
from tests.server.staff.desk.support import post_form
from tests.server.staff.support import Staffed, signed_in, staffed_server
from tests.support import MovableClock, SignalClient

BSN = "999999990"
BURGERZAKEN = [
    "irma-demo.gemeente.personalData.fullname",
    "irma-demo.gemeente.personalData.dateofbirth",
]
NAME = "Test Persoon Nepnaam"
VALUES = {
    "irma-demo.gemeente.personalData.bsn": BSN,
    "irma-demo.gemeente.personalData.fullname": NAME,
    "irma-demo.gemeente.address.street": "Nepstraat",
    "irma-demo.gemeente.address.houseNumber": "1",
    "irma-demo.gemeente.address.zipcode": "0000 XX",
    "irma-demo.gemeente.address.city": "Nergenshuizen",
}
FAKE = {**VALUES, "irma-demo.gemeente.personalData.dateofbirth": "01-01-1900"}
TOKEN = re.compile(r"^/call/(r_[A-Za-z0-9_-]+)#token=(.+)$")
#: a Tuesday in winter at 10:00 in Amsterdam; real counters below open 09:00–12:00 weekdays
TUESDAY_10 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Staffed]:
    async with staffed_server(tmp_path, access_log=True) as running:
        yield running


@pytest.fixture
async def anna(server: Staffed) -> AsyncIterator[aiohttp.ClientSession]:
    """The demo specialist (skills participatiewet and wmo: bijstand and wmo), signed in."""
    async with signed_in(server, "specialist") as session:
        yield session


class Resident:
    """One resident's browser: cookies, the room token from the fragment, the socket."""

    def __init__(self, server: Staffed, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.session = session
        self.room = ""
        self.token = ""
        self.ws: SignalClient | None = None

    async def choose(self, purpose: str, channel: str) -> aiohttp.ClientResponse:
        async with self.session.post(
            f"{self.server.url}/balie/demo/{purpose}",
            data={"kanaal": channel},
            headers={"Origin": self.server.origin},
            allow_redirects=False,
        ) as response:
            await response.read()
        location = response.headers.get("Location", "")
        found = TOKEN.match(location)
        if found:
            self.room, self.token = found.group(1), found.group(2)
        return response

    @property
    def claims(self) -> RoomClaims:
        config = self.server.config
        return verify_room_token(self.server.app[KEYS], self.token, issuer=config.tokens.issuer)

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def show_who(self) -> None:
        """The identity step on the call page: a wallet session, disclosed, fetched."""
        await self.show_who_for(list(VALUES))

    async def show_who_for(self, attributes: list[str]) -> None:
        """The identity step, disclosing the fake values of ``attributes``."""
        async with self.session.get(f"{self.server.url}/call/{self.room}") as page:
            assert page.status == 200
        api = f"{self.server.url}/api/rooms/{self.room}/verification"
        async with self.session.post(api + "/session", headers=self.bearer, json={}) as response:
            assert response.status == 200
            started = await response.json()
        disclosed = {name: FAKE[name] for name in attributes}
        await TestWallet(self.session).disclose(started["sessionPtr"], disclosed)
        async with self.session.post(api + "/result", headers=self.bearer, json={}) as response:
            assert response.status == 200

    async def enter_lobby(self) -> dict[str, Any]:
        self.ws = SignalClient(
            await self.session.ws_connect(
                self.server.url.replace("http", "ws", 1) + "/ws",
                origin=self.server.origin,
                heartbeat=None,
            )
        )
        return await self.ws.join(self.token)

    async def place(self) -> tuple[int, Any]:
        url = f"{self.server.url}/api/rooms/{self.room}/queue"
        async with self.session.get(url, headers=self.bearer) as response:
            return response.status, await response.json()

    async def queued(self) -> dict[str, Any]:
        """The place, once the lobby hook made it (it runs beside the join's answer)."""
        for _ in range(200):
            status, body = await self.place()
            if status == 200:
                return dict(body)
            assert body["code"] == "not-queued"
            await asyncio.sleep(0.01)
        raise AssertionError("the resident never got a place")

    async def notice(self, **expected: object) -> dict[str, Any]:
        """The next ``queue`` notice saying ``expected`` (earlier ones, now stale, skipped);
        without the ``seq`` every frame carries."""
        assert self.ws is not None
        while True:
            frame = await self.ws.expect("queue")
            frame.pop("seq", None)
            if all(frame.get(key) == value for key, value in expected.items()):
                return frame


def resident(server: Staffed) -> Resident:
    return Resident(server, aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)))


async def page(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as response:
        return response.status, await response.text()


async def audit_trail(server: Staffed, subject: str) -> list[tuple[str, str, list[str]]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(
            select(audit_events.c.action, audit_events.c.actor, audit_events.c.attributes)
            .where(audit_events.c.subject == subject)
            .order_by(audit_events.c.id)
        )
        return [(row.action, row.actor, list(row.attributes)) for row in rows]


async def tickets(server: Staffed) -> list[dict[str, Any]]:
    async with server.app[ENGINE].connect() as conn:
        rows = await conn.execute(select(walkin_tickets).order_by(walkin_tickets.c.arrived_at))
        return [dict(row._mapping) for row in rows]


async def test_a_resident_queues_and_a_specialist_takes_them(
    server: Staffed, anna: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first, second = resident(server), resident(server)
    async with first.session, second.session:
        # the home page leads to the counter, which is open and empty
        status, home = await page(first.session, server.url + "/")
        assert status == 200 and 'href="/balie/demo"' in home
        status, counters = await page(first.session, server.url + "/balie/demo")
        assert status == 200 and 'href="/balie/demo/wmo"' in counters
        assert "Er wacht nu niemand." in counters
        status, form = await page(first.session, server.url + "/balie/demo/wmo")
        assert status == 200 and 'value="voice"' in form and 'value="chat"' in form

        # voice: a walk-in room whose token says so; nobody is queued before the lobby
        chosen = await first.choose("wmo", "voice")
        assert chosen.status == 303 and first.room
        assert chosen.headers["Cache-Control"] == "no-store"
        claims = first.claims
        assert (claims.walkin, claims.channel, claims.role) == (True, Channel.VOICE, Role.RESIDENT)
        assert (claims.tenant, claims.purpose) == ("demo", "wmo")
        assert await tickets(server) == []
        status, body = await first.place()
        assert (status, body["code"]) == (404, "not-queued")

        # wmo needs the BSN, name and address: no lobby (and no place) without them
        await first.show_who()
        assert (await first.enter_lobby())["state"] == "lobby"
        assert await first.queued() == {
            "state": "waiting",
            "position": 1,
            "waiting": 1,
            # Anna and Bram have the wmo skill; nobody is ahead
            "expected_minutes": 0,
        }
        await first.notice(position=1, waiting=1)

        # a second resident, by chat, a moment later is second; the first hears the queue grew
        server.clock.now += timedelta(seconds=2)
        assert (await second.choose("wmo", "chat")).status == 303
        await second.show_who()
        await second.enter_lobby()
        assert (await second.queued())["position"] == 2
        await first.notice(position=1, waiting=2)
        status, counters = await page(first.session, server.url + "/balie/demo")
        assert "Er wachten nu 2 mensen." in counters

        # Anna's desk shows the queue; "Volgende inwoner" takes the first, into their call
        status, desk = await page(anna, server.url + "/staff/desk")
        assert status == 200 and "Volgende inwoner" in desk
        assert re.search(
            r'data-purpose="wmo"><th scope="row">[^<]+</th><td class="desk-waiting">2<', desk
        )
        taken = await post_form(server, anna, "/staff/desk/walkin/next", {})
        assert taken.status == 303
        found = TOKEN.match(taken.headers["Location"])
        assert found is not None and found.group(1) == first.room
        specialist = verify_room_token(
            server.app[KEYS], found.group(2), issuer=server.config.tokens.issuer
        )
        assert (specialist.role, specialist.channel, specialist.walkin) == (
            Role.SPECIALIST,
            Channel.VOICE,
            True,
        )
        assert await first.notice(state="taken") == {"type": "queue", "state": "taken"}
        assert await second.notice(position=1) == {
            "type": "queue",
            "state": "waiting",
            "position": 1,
            "waiting": 1,
            "expected_minutes": 0,
        }
        status, body = await first.place()
        assert (status, body) == (200, {"state": "taken"})

        # the specialist joins, admits, and ends the call: the ticket is served
        async with aiohttp.ClientSession() as staff_socket_session:
            ws = SignalClient(
                await staff_socket_session.ws_connect(
                    server.url.replace("http", "ws", 1) + "/ws",
                    origin=server.origin,
                    heartbeat=None,
                )
            )
            await ws.join(found.group(2))
            assert first.ws is not None
            await ws.send(type="admit", participant_id=first.ws.participant_id)
            await first.ws.expect("admitted")
            status, desk = await page(anna, server.url + "/staff/desk")
            assert "U helpt nu" in desk
            await ws.send(type="end")
            for _ in range(200):
                states = {row["room_id"]: row["state"] for row in await tickets(server)}
                if states[first.room] == "done":
                    break
                await asyncio.sleep(0.01)
            assert states == {first.room: "done", second.room: "waiting"}

        # the second leaves the queue by the page's button (DELETE)
        url = f"{server.url}/api/rooms/{second.room}/queue"
        async with second.session.delete(url, headers=second.bearer) as response:
            assert (response.status, await response.json()) == (200, {"state": "left"})
        async with second.session.delete(url, headers=second.bearer) as response:
            assert response.status == 409
            assert (await response.json())["code"] == "not-in-queue"

        # nobody waits now
        nobody = await post_form(server, anna, "/staff/desk/walkin/next", {})
        assert (nobody.status, nobody.headers["Location"]) == (303, "/staff/desk?niemand=1")

    # no personal data in logs, tickets or notices
    text = logged(caplog)
    for value in (BSN, NAME, "Nepstraat", "Nergenshuizen"):
        assert value not in text
        assert all(value not in str(row) for row in await tickets(server))
    assert first.token not in text and found.group(2) not in text


async def test_the_queue_api_answers_only_a_walk_in_rooms_resident(server: Staffed) -> None:
    one = resident(server)
    async with one.session:
        await one.choose("burgerzaken", "video")
        room = server.live.issue_room()  # an appointment-like room: no walkin claim
        for token, code in (
            (room.seat(Role.RESIDENT).token, "not-walkin"),
            ("not-a-token", "token-invalid"),
        ):
            url = f"{server.url}/api/rooms/{room.room if code == 'not-walkin' else one.room}/queue"
            async with one.session.get(url, headers={"Authorization": f"Bearer {token}"}) as got:
                assert (await got.json())["code"] == code
        # another room's walk-in token
        url = f"{server.url}/api/rooms/{room.room}/queue"
        async with one.session.get(url, headers=one.bearer) as got:
            assert (got.status, (await got.json())["code"]) == (403, "wrong-room")
    assert await tickets(server) == []


@pytest.mark.parametrize("raw", ["", "fax", "VIDEO", "video "])
async def test_a_channel_that_is_not_offered_is_refused_with_the_form_again(
    server: Staffed, raw: str
) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{server.url}/balie/demo/wmo",
            data={"kanaal": raw},
            headers={"Origin": server.origin},
            allow_redirects=False,
        ) as refused:
            body = await refused.text()
    assert refused.status == 400
    assert 'id="kanaal-error"' in body
    assert "Kies hoe u wilt praten: video, alleen bellen of chatten." in body
    assert await tickets(server) == []


async def test_unknown_counters_and_foreign_forms_are_refused(server: Staffed) -> None:
    async with aiohttp.ClientSession() as session:
        for url in ("/balie/demo/nergens", "/balie/nergens", "/balie/nergens/wmo"):
            status, _ = await page(session, server.url + url)
            assert status == 404, url
        async with session.post(
            f"{server.url}/balie/demo/wmo",
            data={"kanaal": "video"},
            headers={"Origin": "https://elders.example"},
            allow_redirects=False,
        ) as foreign:
            assert foreign.status == 403
    assert await tickets(server) == []


async def test_closed_outside_hours_and_on_a_holiday_and_full_offers_a_booking(
    tmp_path: Path,
) -> None:
    clock = MovableClock(TUESDAY_10)
    async with staffed_server(tmp_path, clock=clock) as server:
        morning = ((time(9), time(12)),)
        hours = OpeningHours(weekly=(morning,) * 5 + ((), ()))
        counters = server.app[WALKIN].counters
        await counters.save("demo", Counter("wmo", hours, max_waiting=1), clock.now)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            status, text = await page(session, server.url + "/balie/demo/wmo")
            assert status == 200 and "Nu open, tot 12:00." in text and 'value="chat"' in text

            clock.now = TUESDAY_10 + timedelta(hours=3)  # 13:00: closed until tomorrow 09:00
            status, text = await page(session, server.url + "/balie/demo/wmo")
            assert "Nu gesloten. Weer open op woensdag 9 december om 09:00." in text
            assert 'value="chat"' not in text and 'href="/afspraak/demo/kies/wmo"' in text
            refused = await Resident(server, session).choose("wmo", "video")
            assert refused.status == 409

            clock.now = datetime(2027, 4, 27, 8, 0, tzinfo=UTC)  # Koningsdag, a Tuesday, 10:00
            status, text = await page(session, server.url + "/balie/demo/wmo")
            assert "Vandaag gesloten: het is Koningsdag." in text
            assert "Weer open op woensdag 28 april om 09:00." in text

            # the weekends the clocks change: Friday 13:00 (CET, then CEST), closed until
            # Monday 09:00 on the other side of the change (07:00 UTC in summer, 08:00 in winter)
            for friday, monday in (
                (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), "maandag 30 maart"),
                (datetime(2026, 10, 23, 11, 0, tzinfo=UTC), "maandag 26 oktober"),
            ):
                clock.now = friday
                status, text = await page(session, server.url + "/balie/demo/wmo")
                assert f"Nu gesloten. Weer open op {monday} om 09:00." in text, monday
                assert (await Resident(server, session).choose("wmo", "chat")).status == 409

            # full: one waits already, and one at most may
            clock.now = TUESDAY_10
            await server.app[WALKIN].queue.join("demo", "wmo", Channel.VIDEO, clock.now)
            status, text = await page(session, server.url + "/balie/demo/wmo")
            assert "Het is nu te druk." in text and 'value="chat"' not in text
            assert 'href="/afspraak/demo/kies/wmo"' in text
            assert (await Resident(server, session).choose("wmo", "video")).status == 409
        assert len(await tickets(server)) == 1


async def test_bel_mij_terug_from_the_page_to_the_desk_and_the_number_is_deleted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phone = "06 12345678"  # the Dutch numbering plan's example mobile number
    clock = MovableClock(TUESDAY_10)
    async with staffed_server(tmp_path, clock=clock) as server:
        hours = OpeningHours(weekly=(((time(9), time(17)),),) * 5 + ((), ()))
        await server.app[WALKIN].counters.save("demo", Counter("wmo", hours), clock.now)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            form_url = f"{server.url}/balie/demo/wmo/terugbellen"
            status, text = await page(session, form_url)
            assert status == 200
            # 10:00 now: the first window is 11:00–12:00 today
            assert 'value="20261208T1000Z"' in text and "vandaag tussen 11:00 en 12:00" in text

            async def post(data: dict[str, str]) -> tuple[int, str, str]:
                async with session.post(
                    form_url, data=data, headers={"Origin": server.origin}, allow_redirects=False
                ) as response:
                    return (
                        response.status,
                        response.headers.get("Location", ""),
                        await response.text(),
                    )

            status, _, text = await post({"telefoon": "12345", "tijd": "20261208T1000Z"})
            assert status == 400 and 'id="telefoon-error"' in text and 'aria-invalid="true"' in text
            status, _, text = await post({"telefoon": phone, "tijd": "20261208T0100Z"})
            assert status == 400 and 'id="tijd-error"' in text
            assert f'value="{phone}"' in text  # the number is kept in its own field only
            status, location, _ = await post({"telefoon": phone, "tijd": "20261208T1000Z"})
            assert status == 303 and location.startswith("/balie/demo/wmo/terugbellen/")
            status, text = await page(session, server.url + location)
            assert status == 200 and "vandaag tussen 11:00 en 12:00" in text
            assert phone not in text

        async with signed_in(server, "specialist") as anna:
            status, desk = await page(anna, server.url + "/staff/desk")
            # dialled as E.164, shown the way a Dutch reader writes it
            assert f'href="tel:+31612345678">{phone}</a>' in desk and "11:00–12:00" in desk
            callback_id = location.rsplit("/", 1)[1]
            refused = await post_form(
                server, anna, f"/staff/desk/callbacks/{callback_id}", {"uitkomst": "misschien"}
            )
            assert refused.status == 400
            done = await post_form(
                server, anna, f"/staff/desk/callbacks/{callback_id}", {"uitkomst": "gebeld"}
            )
            assert (done.status, done.headers["Location"]) == (303, "/staff/desk?teruggebeld=1")
            status, desk = await page(anna, server.url + "/staff/desk?teruggebeld=1")
            assert "12345678" not in desk and "Het telefoonnummer is gewist." in desk
            again = await post_form(
                server, anna, f"/staff/desk/callbacks/{callback_id}", {"uitkomst": "niet-bereikt"}
            )
            assert again.status == 409
        callback = await server.app[WALKIN].callbacks.get("demo", callback_id)
        assert callback is not None and callback.state.value == "called"
        assert await audit_trail(server, f"callback:{callback_id}") == [
            ("callback.called", "staff-member:demo-anna", ["phone"])
        ]
        async with server.app[ENGINE].connect() as conn:
            sealed = (await conn.execute(select(walkin_callbacks.c.phone_sealed))).scalars().all()
        assert sealed == [None]
    text = logged(caplog)
    assert phone not in text and "12345678" not in text


async def test_a_long_wait_offers_a_call_back_and_a_booking_for_the_same_purpose(
    tmp_path: Path,
) -> None:
    clock = MovableClock(TUESDAY_10)
    async with staffed_server(tmp_path, clock=clock) as server:
        service = server.app[WALKIN]
        hours = OpeningHours(weekly=(((time(9), time(17)),),) * 7)
        # 15 minutes a conversation, two specialists with the skill (Anna and Bram)
        counter = Counter(
            "wmo", hours, max_wait=timedelta(minutes=10), handling=timedelta(minutes=15)
        )
        await service.counters.save("demo", counter, clock.now)
        rooms = [f"r_walkin-test-{n}" for n in range(4)]
        for room in rooms:
            clock.now += timedelta(seconds=1)
            await service.arrive("demo", "wmo", room, Channel.VIDEO)
        infos = [await service.info("demo", room) for room in rooms]
        shown = [info.json() if info else None for info in infos]
        # 0, 7.5, 15 and 22.5 minutes: the last two wait longer than the counter's 10
        assert [s["expected_minutes"] for s in shown if s] == [0, 8, 15, 22]
        offers = [("callback_url" in s, "booking_url" in s) for s in shown if s]
        assert offers == [(False, False), (False, False), (True, True), (True, True)]
        assert shown[2] is not None and shown[2]["callback_url"] == "/balie/demo/wmo/terugbellen"
        assert shown[2]["booking_url"] == "/afspraak/demo/kies/wmo"


async def test_a_lost_connection_keeps_the_place_for_the_grace_period(tmp_path: Path) -> None:
    # the hub keeps a dropped seat 0.2 s here (30 s by default); then the queue's grace
    # period (two minutes, on the application clock) starts
    async with staffed_server(tmp_path, resume_grace=0.2) as server:
        first, second = resident(server), resident(server)
        async with first.session, second.session:
            for one in (first, second):
                assert (await one.choose("burgerzaken", "chat")).status == 303
                await one.show_who_for(BURGERZAKEN)
                await one.enter_lobby()
                await one.queued()
                server.clock.now += timedelta(seconds=1)
            assert (await first.queued())["position"] == 1

            async def state_of(one: Resident) -> str:
                for _ in range(500):
                    rows = {row["room_id"]: row["state"] for row in await tickets(server)}
                    if rows[one.room] != "waiting":
                        return str(rows[one.room])
                    await asyncio.sleep(0.01)
                return "waiting"

            # the first's connection drops: away, and the second moves up meanwhile
            assert first.ws is not None
            await first.ws.close()
            assert await state_of(first) == "away"
            await second.notice(position=1, waiting=1)

            # back within the grace period (a minute later): the first place again, after
            # showing who they are once more (the room's values went with the room)
            server.clock.now += timedelta(minutes=1)
            await first.show_who_for(BURGERZAKEN)
            await first.enter_lobby()
            assert (await first.queued())["position"] == 1
            await second.notice(position=2, waiting=2)

            # dropped again, and back after the grace period: the place is gone
            assert first.ws is not None
            await first.ws.close()
            assert await state_of(first) == "away"
            server.clock.now += timedelta(minutes=3)
            await first.show_who_for(BURGERZAKEN)
            await first.enter_lobby()
            for _ in range(500):
                status, body = await first.place()
                if body.get("state") == "left":
                    break
                await asyncio.sleep(0.01)
            assert (status, body) == (200, {"state": "left"})
            assert (await second.queued())["position"] == 1


async def test_hand_back_or_over_with_a_note_for_the_next_colleague(
    server: Staffed, anna: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    note = "Vraag over de aanvraag van Nepnaam; zij belt liever niet."
    service = server.app[WALKIN]
    arrived = await service.arrive("demo", "wmo", "r_handover-test", Channel.VOICE)
    taken = await post_form(server, anna, "/staff/desk/walkin/next", {})
    assert taken.status == 303 and "/call/r_handover-test#token=" in taken.headers["Location"]
    back = f"/staff/desk/walkin/{arrived.id}/back"

    # refused: a note too long, a purpose without a counter; nothing changes
    long_note = await post_form(server, anna, back, {"notitie": "x" * 501, "onderwerp": "wmo"})
    assert long_note.status == 400
    await service.counters.remove("demo", "bijstand")
    no_counter = await post_form(server, anna, back, {"notitie": "", "onderwerp": "bijstand"})
    assert no_counter.status == 400
    assert (await service.queue.get("demo", arrived.id)).state.value == "taken"

    # back in the same queue with a note: the same arrival, the note sealed in the row
    handed = await post_form(server, anna, back, {"notitie": note, "onderwerp": "wmo"})
    assert (handed.status, handed.headers["Location"]) == (303, "/staff/desk?teruggezet=1")
    waiting = await service.queue.get("demo", arrived.id)
    assert (waiting.state.value, waiting.arrived_at) == ("waiting", arrived.arrived_at)
    assert waiting.note_sealed is not None and "Nepnaam" not in waiting.note_sealed

    # taken again, the desk shows the note to the specialist who has the resident now
    await post_form(server, anna, "/staff/desk/walkin/next", {})
    _, desk = await page(anna, server.url + "/staff/desk")
    assert "Notitie van een collega:" in desk and "zij belt liever niet" in desk

    # handed over to the tax colleagues: their queue, the note with it, Anna's desk empty
    over = await post_form(server, anna, back, {"notitie": note, "onderwerp": "belastingen"})
    assert over.status == 303
    moved = await service.queue.get("demo", arrived.id)
    assert (moved.purpose, moved.state.value) == ("belastingen", "waiting")
    assert await service.take_next("demo", "demo-anna") is None  # no tax skill
    chantal = await service.take_next("demo", "demo-chantal")
    assert chantal is not None and chantal.id == arrived.id
    assert service.note_of(chantal) == note
    _, desk = await page(anna, server.url + "/staff/desk")
    assert "zij belt liever niet" not in desk

    # served: the note goes with the ticket's end
    done = await service.finish("demo", arrived.id, "demo-chantal")
    assert done.note_sealed is None
    assert (await service.queue.get("demo", arrived.id)).note_sealed is None
    # every specialist's step is in the audit trail, in the same transaction as the step
    assert await audit_trail(server, f"walkin:{arrived.id}") == [
        ("walkin.take", "staff-member:demo-anna", []),
        ("walkin.hand_back", "staff-member:demo-anna", []),
        ("walkin.take", "staff-member:demo-anna", []),
        ("walkin.hand_over", "staff-member:demo-anna", []),
        ("walkin.take", "staff-member:demo-chantal", []),
        ("walkin.finish", "staff-member:demo-chantal", []),
    ]
    assert "Nepnaam" not in logged(caplog)


async def test_rooms_and_call_backs_in_bulk_from_one_client_are_refused(server: Staffed) -> None:
    async with aiohttp.ClientSession() as session:

        async def ask(path: str, data: dict[str, str]) -> int:
            async with session.post(
                f"{server.url}/balie/demo/{path}",
                data=data,
                headers={"Origin": server.origin},
                allow_redirects=False,
            ) as response:
                body = await response.text()
                if response.status == 429:
                    assert "Wacht een paar minuten" in body
                return response.status

        statuses = [await ask("wmo", {"kanaal": "video"}) for _ in range(20)]
        assert statuses == [303] * 20  # the burst: a household trying again and again
        assert await ask("wmo", {"kanaal": "video"}) == 429
        # call-backs draw on the same budget, refused before anything is stored
        assert await ask("wmo/terugbellen", {"telefoon": "06 12345678", "tijd": "x"}) == 429
    async with server.app[ENGINE].connect() as conn:
        stored = (await conn.execute(select(walkin_callbacks.c.id))).all()
    assert stored == []


async def test_the_gauges_show_the_deployments_queue_and_open_call_backs(
    server: Staffed,
) -> None:
    service = server.app[WALKIN]
    for room, channel in (("r_gauge-1", Channel.VIDEO), ("r_gauge-2", Channel.CHAT)):
        await service.arrive("demo", "wmo", room, channel)
        server.clock.now += timedelta(seconds=30)
    await service.arrive("demo", "bijstand", "r_gauge-3", Channel.CHAT)
    assert await service.take_next("demo", "demo-bram") is not None  # wmo only: the video one
    window = (server.clock.now, server.clock.now + timedelta(hours=1))
    await service.callbacks.request(
        "demo", "wmo", "06 12345678", window, [window], server.clock.now
    )
    server.clock.now += timedelta(seconds=30)
    await housekeeping(server.app)
    text = metrics_text(server.app)
    assert 'balie_walkin_tickets{channel="chat",state="waiting"} 2.0' in text
    assert 'balie_walkin_tickets{channel="video",state="taken"} 1.0' in text
    assert 'balie_walkin_tickets{channel="voice",state="waiting"} 0.0' in text
    # the chat resident who came 30 s after the first has waited 60 s now
    assert "balie_walkin_longest_wait_seconds 60.0" in text
    assert "balie_walkin_callbacks_open 1.0" in text
    assert "12345678" not in metrics_labels(server.app) and "r_gauge" not in text


#: names stored in Dutch (the municipality, the purposes), shown as stored on English pages
STORED_NAMES = (
    "Gemeente Voorbeeld (demo)",
    "Bijstand (Participatiewet)",
    "Wmo: hulp en ondersteuning thuis",
    "Gemeentelijke belastingen",
    "Burgerzaken: paspoort, verhuizing, uittreksel",
)


async def test_the_counter_pages_and_the_desk_section_in_english(
    server: Staffed, anna: aiohttp.ClientSession
) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        choose_english(session, server.url)
        for path, says in (
            ("/", "Talk now, without an appointment"),
            ("/balie/demo", "Talk to Gemeente Voorbeeld (demo) now"),
            ("/balie/demo/wmo", "How do you want to talk?"),
            ("/balie/demo/wmo/terugbellen", "When may we call you?"),
        ):
            status, text = await page(session, server.url + path)
            assert status == 200 and says in text, path
            assert_english(text, leave_out=STORED_NAMES)
        async with session.post(
            f"{server.url}/balie/demo/wmo/terugbellen",
            data={"telefoon": "12", "tijd": ""},
            headers={"Origin": server.origin},
        ) as refused:
            text = await refused.text()
        assert refused.status == 400 and "This phone number has too few digits." in text
        assert_english(text, leave_out=STORED_NAMES)

    service = server.app[WALKIN]
    await service.arrive("demo", "wmo", "r_english-1", Channel.CHAT)
    await service.arrive("demo", "bijstand", "r_english-2", Channel.VOICE)
    assert await service.take_next("demo", "demo-anna") is not None
    choose_english(anna, server.url)
    status, desk = await page(anna, server.url + "/staff/desk")
    assert status == 200 and "Walk-in counter" in desk and "Next resident" in desk
    assert "You are helping now" in desk and "Queue per subject" in desk
    assert_english(desk, leave_out=(*STORED_NAMES, "Anna (demo)"))
