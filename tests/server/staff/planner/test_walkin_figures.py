"""The walk-in figures on the planner's dashboard against a scripted day, on SQLite and on the
real PostgreSQL: the application's clock is moved through Tuesday 3 March 2026 while the
queue (:class:`~server.walkin.store.WalkinQueue`) is driven through known arrivals, takes,
hand-backs, finishes and departures, and residents ask to be called back
(:class:`~server.walkin.callbacks.Callbacks`) and are called, not reached, forgotten until
the request expires or still waiting; the dashboard a signed-in planner then fetches must
show exactly the numbers worked out by hand below (not by the code under test)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from identity.vault import KeyRing, new_key_config_entry
from server.config import DatabaseSettings
from server.core.clock import AMSTERDAM
from server.db.appkeys import ENGINE
from server.staff.planner.callback_figures import share
from server.staff.planner.walkin_figures import percentile
from server.walkin.appkeys import WALKIN
from server.walkin.callbacks import Callback, Callbacks, CallbackState, offered_windows
from server.walkin.hours import OpeningHours
from server.walkin.queue import Ticket
from server.walkin.store import WalkinQueue
from tests.server.staff.planner.support import TENANT, get
from tests.server.staff.support import Staffed, signed_in, staffed_server
from tests.support import MovableClock, config_for

DAY = date(2026, 3, 3)  # a Tuesday in winter time (CET, UTC+1)
ANNA, BRAM = "demo-anna", "demo-bram"
WALKIN_TABLE = re.compile(r'<table class="numbers walkin-figures">.*?</table>', re.S)
CALLBACK_TABLE = re.compile(r'<table class="numbers callback-figures">.*?</table>', re.S)
#: the call-back windows offered: Monday to Friday 09:00-17:00 (not stored: only offered)
HOURS = OpeningHours(weekly=(((time(9), time(17)),),) * 5 + ((), ()))
PHONE = "06 12345678"  # the Dutch numbering plan's example mobile number
ROW = re.compile(r'<tr><th scope="row">([^<]+)</th>((?:<td>[^<]*</td>)+)</tr>')


def at(hour: int, minute: int, second: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=AMSTERDAM)


@pytest.fixture
async def server(tmp_path: Path, database_url: str) -> AsyncIterator[Staffed]:
    config = config_for(tmp_path, database=DatabaseSettings(url=database_url, demo_data=True))
    clock = MovableClock(at(23, 0, day=DAY - timedelta(days=1)).astimezone(UTC))
    async with staffed_server(tmp_path, clock=clock, config=config) as running:
        yield running


class Script:
    """The queue driven at moments the test names, with the application's clock moved there
    first (so anything reading the clock agrees with the queue)."""

    def __init__(self, server: Staffed) -> None:
        self.server = server
        self.queue: WalkinQueue = server.app[WALKIN].queue
        self.callbacks = Callbacks(
            server.app[ENGINE], KeyRing.from_config(new_key_config_entry("k"))
        )

    def now(self, moment: datetime) -> datetime:
        self.server.clock.now = moment.astimezone(UTC)
        return self.server.clock.now

    async def join(self, moment: datetime, purpose: str, channel: str) -> Ticket:
        return await self.queue.join(TENANT, purpose, channel, self.now(moment))

    async def take(self, moment: datetime, staff: str, purpose: str, expected: Ticket) -> None:
        taken = await self.queue.take_next(TENANT, staff, [purpose], self.now(moment))
        assert taken is not None and taken.id == expected.id  # the script's order holds

    async def finish(self, moment: datetime, staff: str, ticket: Ticket) -> None:
        await self.queue.finish(TENANT, ticket.id, staff, self.now(moment))

    async def requeue(self, moment: datetime, staff: str, ticket: Ticket) -> None:
        await self.queue.requeue(TENANT, ticket.id, staff, self.now(moment))

    async def leave(self, moment: datetime, ticket: Ticket) -> None:
        await self.queue.leave(TENANT, ticket.id, self.now(moment))

    async def ask_callback(self, moment: datetime, purpose: str, window: datetime) -> Callback:
        """A resident asks to be called back in the hour from ``window``, which must be one
        of the windows offered at ``moment``."""
        now = self.now(moment)
        offered = offered_windows(HOURS, now)
        return await self.callbacks.request(
            TENANT, purpose, PHONE, (window, window + timedelta(hours=1)), offered, now
        )

    async def rang(
        self, moment: datetime, staff: str, purpose: str, callback: Callback, state: CallbackState
    ) -> None:
        await self.callbacks.done(TENANT, callback.id, state, staff, [purpose], self.now(moment))


async def play_the_day(server: Staffed) -> None:
    """Anna serves bijstand, Bram serves wmo; the comments give each ticket's waiting time
    (arrival to the take that counts) and handling time (that take to the finish)."""
    s = Script(server)
    # Monday 23:59: arrived before the window (and left), never counted
    before = await s.join(at(23, 59, day=DAY - timedelta(days=1)), "bijstand", "video")
    # Monday 23:59:30: a call-back asked for before the window, counted on Monday only
    c0 = await s.ask_callback(at(23, 59, 30, day=DAY - timedelta(days=1)), "bijstand", at(9, 0))
    await s.leave(at(0, 1), before)
    # call-backs are marked "cN" below; each comment says what becomes of it
    c1 = await s.ask_callback(at(8, 0), "bijstand", at(9, 0))  # window 09-10

    # --- bijstand, in the order things happen ---------------------------------------------
    b1 = await s.join(at(9, 0), "bijstand", "video")
    await s.rang(at(9, 2), ANNA, "bijstand", c0, CALLED)  # c0 on time (Monday's)
    await s.take(at(9, 3), ANNA, "bijstand", b1)  # b1 waited 3
    b2 = await s.join(at(9, 4), "bijstand", "voice")
    c2 = await s.ask_callback(at(9, 5), "bijstand", at(10, 0))  # window 10-11
    b3 = await s.join(at(9, 6), "bijstand", "video")
    b4 = await s.join(at(9, 10), "bijstand", "chat")
    await s.finish(at(9, 15), ANNA, b1)  # b1 handled 12
    await s.take(at(9, 15), ANNA, "bijstand", b2)
    await s.requeue(at(9, 20), ANNA, b2)  # handed back: keeps its place (arrived 09:04)
    c3 = await s.ask_callback(at(9, 20), "bijstand", at(10, 0))  # window 10-11
    await s.take(at(9, 21), ANNA, "bijstand", b2)  # b2 waited 17 (09:04 → 09:21), before b3
    await s.leave(at(9, 25), b3)  # b3 left, never taken
    await s.finish(at(9, 29), ANNA, b2)  # b2 handled 8 (09:21 → 09:29)
    await s.take(at(9, 30), ANNA, "bijstand", b4)  # b4 waited 20
    b5 = await s.join(at(9, 30, 30), "bijstand", "video")
    await s.finish(at(9, 40), ANNA, b4)  # b4 handled 10
    await s.take(at(9, 41, 30), ANNA, "bijstand", b5)  # b5 waited 11; still being served
    await s.rang(at(9, 45), ANNA, "bijstand", c1, CALLED)  # c1 called on time
    # 10:00 is only 10 minutes away at 09:50: the first window offered is 11-12
    c4 = await s.ask_callback(at(9, 50), "wmo", at(11, 0))

    # --- wmo -------------------------------------------------------------------------------
    w1 = await s.join(at(10, 0), "wmo", "voice")
    w2 = await s.join(at(10, 1), "wmo", "voice")
    w3 = await s.join(at(10, 2), "wmo", "chat")
    w4 = await s.join(at(10, 3), "wmo", "voice")
    await s.take(at(10, 4, 30), BRAM, "wmo", w1)  # w1 waited 4.5
    w5 = await s.join(at(10, 5), "wmo", "voice")
    w6 = await s.join(at(10, 6), "wmo", "video")
    await s.finish(at(10, 10), BRAM, w1)  # w1 handled 5.5
    await s.take(at(10, 10), BRAM, "wmo", w2)  # w2 waited 9
    await s.rang(at(10, 15), ANNA, "bijstand", c2, UNREACHABLE)  # c2 rung on time, no answer
    await s.leave(at(10, 20), w5)  # w5 left
    await s.finish(at(10, 25), BRAM, w2)  # w2 handled 15
    await s.take(at(10, 25), BRAM, "wmo", w3)  # w3 waited 23
    await s.ask_callback(at(10, 30), "wmo", at(11, 0))  # c5, window 11-12: nobody calls
    await s.finish(at(10, 31), BRAM, w3)  # w3 handled 6
    await s.take(at(10, 31), BRAM, "wmo", w4)  # w4 waited 28
    await s.finish(at(10, 35), BRAM, w4)  # w4 handled 4
    await s.take(at(10, 35), BRAM, "wmo", w6)  # w6 waited 29 (w5 left before)
    w7 = await s.join(at(10, 40), "wmo", "video")
    await s.finish(at(10, 50), BRAM, w6)  # w6 handled 15
    await s.take(at(10, 50), BRAM, "wmo", w7)  # w7 waited 10
    await s.rang(at(10, 55), BRAM, "wmo", c4, CALLED)  # c4 called before its window: not on time
    await s.finish(at(11, 0), BRAM, w7)  # w7 handled 10
    await s.rang(at(11, 0), ANNA, "bijstand", c3, CALLED)  # c3 called at its end: not on time

    # c6: its window passes today, but it is not a day past when the page is drawn: open
    await s.ask_callback(at(11, 45), "wmo", at(16, 0))
    await s.join(at(11, 50), "bijstand", "video")  # b6: still waiting at the end
    # c7: asked for at 16:40, after today's last window; called Wednesday, counted Tuesday
    c7 = await s.ask_callback(at(16, 40), "bijstand", at(9, 0, day=DAY + timedelta(days=1)))

    # Wednesday 00:00 in Amsterdam is still Tuesday 23:00 in UTC: not in Tuesday's window
    wednesday = DAY + timedelta(days=1)
    await s.join(at(0, 0, day=wednesday), "wmo", "chat")
    # ... and so is a call-back asked for at that moment: counted on Wednesday
    c8 = await s.ask_callback(at(0, 0, day=wednesday), "wmo", at(9, 0, day=wednesday))
    s.now(at(0, 30, day=wednesday))
    await s.rang(at(9, 10, day=wednesday), BRAM, "wmo", c8, UNREACHABLE)  # c8 on time
    await s.rang(at(9, 30, day=wednesday), ANNA, "bijstand", c7, CALLED)  # c7 on time
    # a day after c5's window (11-12) ended, nobody having called: c5 expires; c6's window
    # ended at 17:00, less than a day ago, so it stays open
    await s.callbacks.expire(s.now(at(12, 0, day=wednesday)))


CALLED, UNREACHABLE = CallbackState.CALLED, CallbackState.UNREACHABLE
BIJSTAND = "Bijstand (Participatiewet)"
WMO = "Wmo: hulp en ondersteuning thuis"
HEADERS = [
    "Onderwerp",
    "Kanaal",
    "Gekomen",
    "Geholpen",
    "Weggegaan uit de wachtrij",
    "Nu nog in de wachtrij of in gesprek",
    "Wachttijd p50 (minuten)",
    "Wachttijd p90 (minuten)",
    "Aantal gemeten wachttijden",
    "Gespreksduur p50 (minuten)",
    "Aantal gemeten gesprekken",
]
# Worked out by hand from the script, nearest rank: p of n sorted values is the value at
# rank ceil(p * n / 100).
EXPECTED = [
    # b1 done, b3 left, b5 taken, b6 waiting; waits [3, 11]: p50 rank 1 = 3, p90 rank 2 = 11;
    # handled [12]
    (BIJSTAND, ["video", "4", "1", "1", "2", "3", "11", "2", "12", "1"]),
    # b2 only: waited 17 (to its second take), handled 8
    (BIJSTAND, ["bellen", "1", "1", "0", "0", "17", "17", "1", "8", "1"]),
    # b4 only
    (BIJSTAND, ["chat", "1", "1", "0", "0", "20", "20", "1", "10", "1"]),
    # w6, w7: waits [10, 29] -> p50 10, p90 29; handled [10, 15] -> p50 rank 1 = 10
    (WMO, ["video", "2", "2", "0", "0", "10", "29", "2", "10", "2"]),
    # w1, w2, w4 done, w5 left: waits [4.5, 9, 28] -> p50 rank 2 = 9, p90 rank 3 = 28;
    # handled [4, 5.5, 15] -> p50 rank 2 = 5.5
    (WMO, ["bellen", "4", "3", "1", "0", "9", "28", "3", "5,5", "3"]),
    # w3 only
    (WMO, ["chat", "1", "1", "0", "0", "23", "23", "1", "6", "1"]),
    # all 13: waits [3, 4.5, 9, 10, 11, 17, 20, 23, 28, 29] -> p50 rank 5 = 11, p90 rank 9 =
    # 28; handled [4, 5.5, 6, 8, 10, 10, 12, 15, 15] -> p50 rank 5 = 10
    ("Alle onderwerpen", ["alle kanalen", "13", "9", "2", "2", "11", "28", "10", "10", "9"]),
]


CALLBACK_HEADERS = [
    "Onderwerp",
    "Gevraagd",
    "Gebeld",
    "Niet bereikt",
    "Verlopen: niemand belde",
    "Nog open",
    "Op tijd gebeld",
    "Deel op tijd gebeld",
]
# Worked out by hand: a call-back counts on the day it was asked for (c0 Monday, c8
# Wednesday); on time is rung (called or not reached) in [window start, window end); the
# share is of those no longer open (called + not reached + expired), half up.
EXPECTED_CALLBACKS = [
    # c1 called on time, c2 not reached on time, c3 called at 11:00 (its end: late), c7 called
    # on time on Wednesday: 3 of 4
    (BIJSTAND, ["4", "3", "1", "0", "0", "3", "75%"]),
    # c4 called before its window, c5 expired, c6 open: 0 of 2 (c6 left out)
    (WMO, ["3", "1", "0", "1", "1", "0", "0%"]),
    # 3 on time of the 6 no longer open
    ("Alle onderwerpen", ["7", "4", "1", "1", "1", "3", "50%"]),
]


def callback_rows(page: str, headers: list[str] = CALLBACK_HEADERS) -> list[tuple[str, list[str]]]:
    found = CALLBACK_TABLE.search(page)
    assert found is not None, "no call-back table on the dashboard"
    table = found.group(0)
    assert re.findall(r'<th scope="col">([^<]+)</th>', table) == headers
    return [(head, re.findall(r"<td>([^<]*)</td>", cells)) for head, cells in ROW.findall(table)]


def walkin_rows(page: str) -> list[tuple[str, list[str]]]:
    found = WALKIN_TABLE.search(page)
    assert found is not None, "no walk-in table on the dashboard"
    table = found.group(0)
    assert re.findall(r'<th scope="col">([^<]+)</th>', table) == HEADERS
    return [(head, re.findall(r"<td>([^<]*)</td>", cells)) for head, cells in ROW.findall(table)]


async def test_queue_and_callback_figures_on_the_dashboard_match_a_scripted_day_exactly(
    server: Staffed,
) -> None:
    await play_the_day(server)
    async with signed_in(server, "planner") as planner:
        status, page = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-03-03&to=2026-03-03"
        )
        assert status == 200
        assert walkin_rows(page) == EXPECTED
        assert callback_rows(page) == EXPECTED_CALLBACKS
        # the call-back table comes after the walk-in table, and never shows a number
        assert page.index("walkin-figures") < page.index("callback-figures")
        assert "12345678" not in page  # in no form: typed, E.164 or shown

        # the day before holds only Monday's 23:59 arrival, which left
        _, monday = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-03-02&to=2026-03-02"
        )
        assert walkin_rows(monday) == [
            (BIJSTAND, ["video", "1", "0", "1", "0", "–", "–", "0", "–", "0"]),
            ("Alle onderwerpen", ["alle kanalen", "1", "0", "1", "0", "–", "–", "0", "–", "0"]),
        ]
        # ... and c0, asked for at 23:59:30 and called on time on Tuesday
        assert callback_rows(monday) == [
            (BIJSTAND, ["1", "1", "0", "0", "0", "1", "100%"]),
            ("Alle onderwerpen", ["1", "1", "0", "0", "0", "1", "100%"]),
        ]
        # Wednesday's midnight arrival counts on Wednesday, in Amsterdam's calendar
        _, wednesday = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-03-04&to=2026-03-04"
        )
        assert walkin_rows(wednesday)[0] == (
            WMO,
            ["chat", "1", "0", "0", "1", "–", "–", "0", "–", "0"],
        )
        # and so does c8, asked for at 00:00 and rung on time without an answer
        assert callback_rows(wednesday) == [
            (WMO, ["1", "0", "1", "0", "0", "1", "100%"]),
            ("Alle onderwerpen", ["1", "0", "1", "0", "0", "1", "100%"]),
        ]
        # the whole of Monday to Wednesday: the three days' call-backs together
        _, three_days = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-03-02&to=2026-03-04"
        )
        assert callback_rows(three_days) == [
            (BIJSTAND, ["5", "4", "1", "0", "0", "4", "80%"]),
            (WMO, ["4", "1", "1", "1", "1", "1", "33%"]),
            ("Alle onderwerpen", ["9", "5", "2", "1", "1", "5", "63%"]),  # 5 of 8: 62.5 up
        ]
        # a window with no walk-in arrivals says so instead of drawing an empty table
        _, empty = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-02-01&to=2026-02-28"
        )
        assert WALKIN_TABLE.search(empty) is None
        assert "In deze periode kwam niemand zonder afspraak naar een inloopbalie." in empty
        assert CALLBACK_TABLE.search(empty) is None
        assert "In deze periode vroeg niemand om teruggebeld te worden." in empty

        # in English the decimals take a point and the labels are translated
        async with planner.post(
            f"{server.url}/taal",
            data={"taal": "en", "terug": "/staff/planner/dashboard"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303
        _, english = await get(
            planner, f"{server.url}/staff/planner/dashboard?from=2026-03-03&to=2026-03-03"
        )
        assert "<td>voice call</td><td>4</td><td>3</td><td>1</td><td>0</td><td>9</td>" in english
        assert "<td>5.5</td>" in english and "<td>5,5</td>" not in english
        assert callback_rows(
            english,
            [
                "Subject",
                "Requested",
                "Called",
                "Not reached",
                "Expired: nobody called",
                "Still open",
                "Called on time",
                "Share called on time",
            ],
        )[-1] == ("All subjects", ["7", "4", "1", "1", "1", "3", "50%"])


def test_the_share_on_time_is_a_whole_percent_rounded_half_up() -> None:
    assert share(3, 4) == 75
    assert share(2, 3) == 67  # 66.67
    assert share(1, 3) == 33  # 33.33
    assert share(1, 8) == 13  # 12.5: half up, not to even
    assert share(5, 8) == 63  # 62.5
    assert share(0, 2) == 0
    assert share(4, 4) == 100
    assert share(0, 0) is None  # every call-back still open: no share


def test_percentiles_are_nearest_rank() -> None:
    ten = [float(n) for n in range(10, 0, -1)]  # 10 … 1, unsorted on purpose
    assert percentile(ten, 50) == 5.0  # rank 5
    assert percentile(ten, 90) == 9.0  # rank 9, not the largest
    assert percentile(ten, 100) == 10.0
    assert percentile([4.0, 1.0], 50) == 1.0  # rank 1: the lower of two
    assert percentile([7.0], 90) == 7.0
    assert percentile([], 50) is None
    # rank = ceil(p * n / 100) in whole numbers: 0.9 * 20 in floating point is not exact
    assert percentile([float(n) for n in range(1, 21)], 90) == 18.0
    assert percentile([float(n) for n in range(1, 4)], 10) == 1.0
    with pytest.raises(ValueError):
        percentile([1.0], 0)
