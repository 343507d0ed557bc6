"""Public holidays through the HTTP API: the explanation names the holiday, a hold on it is
refused with the reason, and the dates skip it. The server runs on the real clock, so the
holiday is the next one that closes a day from the day after tomorrow on."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import update

from server.core.clock import AMSTERDAM
from server.core.holidays import DEFAULT_RULES, HolidayRules, closing_holiday, to_data
from server.db.schema import tenants
from tests.server.booking.support import Booking, key, seed


def next_holiday() -> tuple[date, str]:
    day = datetime.now(AMSTERDAM).date() + timedelta(days=2)
    while (name := closing_holiday(DEFAULT_RULES, day)) is None:
        day += timedelta(days=1)
    return day, name


async def test_a_holiday_is_explained_refused_and_left_out(server: Booking) -> None:
    tenant = await seed(server.engine)  # s1 works every day, 08:00-20:00
    day, name = next_holiday()
    start = datetime.combine(day, time(10), AMSTERDAM).isoformat()
    explain = server.api(tenant, "/slots/explain")
    status, why = await server.call("GET", explain, params={"purpose": "intake", "start": start})
    assert status == 200 and why["available"] is False
    assert "public-holiday" in why["reasons"] and why["holiday"] == name
    status, problem = await server.call(
        "POST", server.api(tenant, "/holds"), json={"purpose": "intake", "start": start}, key=key()
    )
    assert (status, problem["code"]) == (422, "slot-unavailable")
    assert "public-holiday" in problem["reasons"]
    status, dates = await server.call("GET", server.api(tenant, "/purposes/intake/dates"))
    assert status == 200 and day.isoformat() not in dates["dates"]


async def test_a_tenant_open_on_holidays_is_told_nothing_of_them(server: Booking) -> None:
    tenant = await seed(server.engine)
    async with server.engine.begin() as conn:
        await conn.execute(
            update(tenants)
            .where(tenants.c.id == tenant)
            .values(holidays=to_data(HolidayRules(close=False)))
        )
    day, _ = next_holiday()
    start = datetime.combine(day, time(10), AMSTERDAM).isoformat()
    explain = server.api(tenant, "/slots/explain")
    status, why = await server.call("GET", explain, params={"purpose": "intake", "start": start})
    assert status == 200 and "public-holiday" not in why["reasons"] and "holiday" not in why
