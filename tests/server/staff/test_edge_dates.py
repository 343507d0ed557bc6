"""Dates at the ends of the calendar, in every date the planner takes: a readable
refusal or an empty answer, never a 5xx (``OverflowError`` in the slot engine's wall-clock
arithmetic before)."""

from __future__ import annotations

import aiohttp

from tests.server.staff.planner.support import ANNA, post
from tests.server.staff.support import Staffed, csrf_of

EDGES = ("9999-12-31", "0001-01-01", "10000-01-01", "2100-01-01", "1999-12-31")


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, allow_redirects=False) as response:
        await response.read()
        return response.status


async def test_the_planner_refuses_dates_off_the_calendar(
    server: Staffed, planner: aiohttp.ClientSession
) -> None:
    pages = [
        "/staff/planner?week={d}",
        "/staff/planner/book?purpose=bijstand&date={d}",
        "/staff/planner/dashboard?from={d}",
        "/staff/planner/dashboard?to={d}",
        "/staff/planner/dashboard.csv?from={d}&to={d}",
    ]
    for edge in EDGES:
        for page in pages:
            status = await _status(planner, server.url + page.format(d=edge))
            assert status < 500, (page, edge, status)
    token = await csrf_of(planner, f"{server.url}/staff/planner/staff/{ANNA}")
    for edge in EDGES:
        form = {"csrf_token": token, "kind": "closed", "first_day": edge, "reason": "afwezig"}
        status, _, _ = await post(
            planner, f"{server.url}/staff/planner/staff/{ANNA}/exceptions", form
        )
        assert status == 400, edge
