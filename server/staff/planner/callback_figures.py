"""Call-backs ("bel mij terug") on the planner's dashboard: per purpose, how many residents
asked to be called back, and what became of it.

Read straight from ``walkin_callbacks``, never its number: the query selects the purpose, the
state and the times only (the sealed number is not read, not even to count). **Which
call-backs count**: those *requested* (``created_at``) in the dashboard's window, [00:00 of
its first day, 00:00 after its last day) in Amsterdam, like the walk-in tickets count by
arrival; a call-back asked for at 16:40 and called the next morning counts on the day it was
asked for, once, whatever happened to it later.

Per purpose (and over all of them):

- **requested**: every call-back asked for;
- **called** (``called``, "gebeld") and **not reached** (``unreachable``, "niet bereikt"): a
  specialist recorded the call; **expired** (``expired``): nobody did until
  :data:`~server.walkin.callbacks.KEEP_AFTER_WINDOW` after the window, and the number was
  deleted; **open**: still ``open`` when the page is drawn (its window may be ahead, or
  passed less than a day ago, or the housekeeping has not run yet). These four add up to the
  requests;
- **on time**: ``called`` or ``unreachable`` with ``window_start <= done_at < window_end``:
  the specialist rang within the hour the resident chose (a resident who did not answer was
  still rung on time). A call before the window or at its end or later is not on time;
- **share on time**: on time as a whole percentage (half up) of the call-backs no longer
  open (called + not reached + expired); None when every one is still open. Open ones are
  left out because they may yet be called on time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.schema import walkin_callbacks
from server.db.tx import reading
from server.staff.planner.walkin_figures import ALL
from server.walkin.callbacks import DONE, CallbackState

c = walkin_callbacks.c


@dataclass(frozen=True, slots=True)
class CallbackTimes:
    """What the figures read of one call-back: no number, nothing that names a person."""

    purpose: str
    state: CallbackState
    window_start: datetime
    window_end: datetime
    done_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallbackFigures:
    """One row of the table: a purpose, or every call-back (``purpose`` ALL)."""

    purpose: str
    requested: int
    called: int
    unreachable: int
    expired: int
    open: int
    on_time: int
    #: whole percent of the call-backs no longer open; None when none is
    on_time_share: int | None


async def callback_times(
    engine: AsyncEngine, tenant_id: str, low: datetime, high: datetime
) -> list[CallbackTimes]:
    """The tenant's call-backs requested in [low, high), without their numbers."""
    query = (
        select(c.purpose, c.state, c.window_start, c.window_end, c.done_at)
        .where(c.tenant_id == tenant_id, c.created_at >= low, c.created_at < high)
        .order_by(c.created_at, c.id)
    )
    async with reading(engine) as conn:
        rows = (await conn.execute(query)).all()
    return [
        CallbackTimes(
            purpose=row.purpose,
            state=CallbackState(row.state),
            window_start=row.window_start,
            window_end=row.window_end,
            done_at=row.done_at,
        )
        for row in rows
    ]


def on_time(callback: CallbackTimes) -> bool:
    """Rung (called or not reached) within the chosen window, [start, end)."""
    return (
        callback.state in DONE
        and callback.done_at is not None
        and callback.window_start <= callback.done_at < callback.window_end
    )


def share(part: int, whole: int) -> int | None:
    """``part`` of ``whole`` in whole percent, half up (in whole numbers); None of nothing."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def _figures(purpose: str, callbacks: Sequence[CallbackTimes]) -> CallbackFigures:
    def count(state: CallbackState) -> int:
        return sum(1 for callback in callbacks if callback.state is state)

    still_open = count(CallbackState.OPEN)
    timely = sum(1 for callback in callbacks if on_time(callback))
    return CallbackFigures(
        purpose=purpose,
        requested=len(callbacks),
        called=count(CallbackState.CALLED),
        unreachable=count(CallbackState.UNREACHABLE),
        expired=count(CallbackState.EXPIRED),
        open=still_open,
        on_time=timely,
        on_time_share=share(timely, len(callbacks) - still_open),
    )


def compute_callback_figures(
    callbacks: Iterable[CallbackTimes], purposes: Sequence[str]
) -> list[CallbackFigures]:
    """A row per purpose that had requests, in the order of ``purposes`` (others after them,
    by key); then the row over all (only when there was any request)."""
    found = list(callbacks)
    if not found:
        return []
    order = {key: n for n, key in enumerate(purposes)}
    groups: dict[str, list[CallbackTimes]] = {}
    for callback in found:
        groups.setdefault(callback.purpose, []).append(callback)
    keys = sorted(groups, key=lambda key: (order.get(key, len(order)), key))
    return [*(_figures(key, groups[key]) for key in keys), _figures(ALL, found)]
