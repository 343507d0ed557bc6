"""Call-backs ("bel mij terug"): a resident who does not want to wait leaves a phone number
and a time window, and a specialist with the purpose's skill calls them back.

The phone number is the only personal data. It is sealed with the vault keys, bound to the
call-back's id (copied to another row it does not open), read only by the desk of a specialist
who may call, and deleted (set to NULL) the moment the specialist records "gebeld" or "niet
bereikt", or when the window is :data:`KEEP_AFTER_WINDOW` past without either (``expired``).
The row stays without it, for the planner's figures::

    open ─called──────▶ called
      │ ─unreachable──▶ unreachable
      └─(window + a day)▶ expired
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from identity.errors import VaultError
from identity.vault import KeyRing, sealed_kid
from server.core.clock import local_day
from server.db.audit import audit
from server.db.schema import purposes, walkin_callbacks
from server.db.tx import reading, writing
from server.messages import outbox
from server.messages.errors import BadPhoneNumber
from server.messages.model import Channel, Template
from server.messages.phones import PhoneProblem, is_mobile, phone_number, problem_of
from server.walkin.errors import WalkinError
from server.walkin.hours import OpeningHours, opening_periods

c = walkin_callbacks.c
#: the windows a resident can choose from: this long each ...
WINDOW: Final = timedelta(hours=1)
#: ... starting at least this far ahead (time to see the request) ...
LEAD: Final = timedelta(minutes=30)
#: ... at most this many, from today and the next days the counter is open
MOST_WINDOWS: Final = 6
LOOKAHEAD_DAYS: Final = 7
#: an open call-back's number is deleted this long after its window ends
KEEP_AFTER_WINDOW: Final = timedelta(days=1)
_AAD: Final = "balie/walkin-callback"


class CallbackState(StrEnum):
    OPEN = "open"
    CALLED = "called"
    UNREACHABLE = "unreachable"
    EXPIRED = "expired"


DONE: Final = frozenset({CallbackState.CALLED, CallbackState.UNREACHABLE})


class CallbackError(WalkinError):
    """A call-back request or change that cannot be made; the message says why (never the
    number)."""


class BadPhone(CallbackError, ValueError):
    """Not a number a specialist can call; ``problem`` says why (the form tells the resident)."""

    def __init__(self, problem: PhoneProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class BadWindow(CallbackError, ValueError):
    pass


class CallbackGone(CallbackError):
    """No open call-back with this id in the tenant (done, expired, or never there)."""


@dataclass(frozen=True, slots=True)
class Callback:
    id: str
    tenant_id: str
    purpose: str
    window_start: datetime
    window_end: datetime
    state: CallbackState
    created_at: datetime
    #: the opened number, only on the desk's list of open call-backs (never in a repr)
    phone: str | None = field(default=None, repr=False)


def offered_windows(hours: OpeningHours, now: datetime) -> list[tuple[datetime, datetime]]:
    """The windows a resident may choose: whole hours inside the counter's opening hours,
    from :data:`LEAD` after ``now``, today and the next open days, at most
    :data:`MOST_WINDOWS`."""
    found: list[tuple[datetime, datetime]] = []
    first = local_day(now)
    earliest = now + LEAD
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = first + timedelta(days=offset)
        for start, end in opening_periods(hours, day):
            moment = start
            while moment + WINDOW <= end and len(found) < MOST_WINDOWS:
                if moment >= earliest:
                    found.append((moment, moment + WINDOW))
                moment += WINDOW
    return found


def checked_phone(raw: str) -> str:
    """The number as E.164 (+31201234567): a landline too, a foreign one with its country
    code; not a premium-rate one (the municipality would pay to call it)."""
    try:
        return phone_number(raw)
    except BadPhoneNumber as error:
        raise BadPhone(problem_of(error)) from None


class Callbacks:
    """The call-backs of every tenant on one database; numbers sealed with ``keys``."""

    def __init__(self, engine: AsyncEngine, keys: KeyRing) -> None:
        self._engine = engine
        self._keys = keys

    async def request(
        self,
        tenant_id: str,
        purpose: str,
        phone: str,
        window: tuple[datetime, datetime],
        offered: Collection[tuple[datetime, datetime]],
        now: datetime,
    ) -> Callback:
        """A new open call-back; ``window`` must be one of ``offered``."""
        number = checked_phone(phone)
        if window not in offered:
            raise BadWindow("the window is not one of those offered")
        callback_id = str(uuid.uuid4())
        async with writing(self._engine) as conn:
            known = await conn.execute(
                select(purposes.c.key).where(
                    purposes.c.tenant_id == tenant_id, purposes.c.key == purpose, purposes.c.active
                )
            )
            if known.first() is None:
                raise CallbackError(f"no active purpose {purpose!r} in tenant {tenant_id!r}")
            await conn.execute(
                insert(walkin_callbacks).values(
                    id=callback_id,
                    tenant_id=tenant_id,
                    purpose=purpose,
                    phone_sealed=self._seal(callback_id, number),
                    window_start=window[0],
                    window_end=window[1],
                    state=CallbackState.OPEN.value,
                    created_at=now,
                )
            )
            if is_mobile(number):  # a landline gets no SMS; the call itself is the answer
                await outbox.enqueue(
                    conn,
                    tenant_id=tenant_id,
                    channel=Channel.SMS,
                    template=Template.CALLBACK,
                    subject_id=callback_id,
                    now=now,
                )
        return Callback(
            callback_id, tenant_id, purpose, window[0], window[1], CallbackState.OPEN, now
        )

    async def get(self, tenant_id: str, callback_id: str) -> Callback | None:
        """A call-back without its number (for the resident's "we call you" page)."""
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(
                    select(walkin_callbacks).where(c.tenant_id == tenant_id, c.id == callback_id)
                )
            ).first()
        return None if row is None else _callback(row)[0]

    async def with_number(self, tenant_id: str, callback_id: str) -> Callback | None:
        """An open call-back with its number opened (its confirmation SMS); None once it is
        done, expired or gone."""
        async with reading(self._engine) as conn:
            row = (
                await conn.execute(
                    select(walkin_callbacks).where(
                        c.tenant_id == tenant_id,
                        c.id == callback_id,
                        c.state == CallbackState.OPEN.value,
                    )
                )
            ).first()
        if row is None:
            return None
        callback, sealed = _callback(row)
        return replace(callback, phone=self._open(callback.id, sealed))

    async def open_for(self, tenant_id: str, wanted: Collection[str], day: date) -> list[Callback]:
        """The open call-backs of ``wanted`` purposes whose window starts on or before ``day``
        (Amsterdam), earliest window first, with their numbers opened (for the desk)."""
        async with reading(self._engine) as conn:
            rows = await conn.execute(
                select(walkin_callbacks)
                .where(
                    c.tenant_id == tenant_id,
                    c.state == CallbackState.OPEN.value,
                    c.purpose.in_(sorted(wanted)),
                )
                .order_by(c.window_start, c.created_at, c.id)
            )
            found = [_callback(row) for row in rows]
        listed = []
        for callback, row_phone in found:
            if local_day(callback.window_start) > day:
                continue
            listed.append(replace(callback, phone=self._open(callback.id, row_phone)))
        return listed

    async def done(
        self,
        tenant_id: str,
        callback_id: str,
        state: CallbackState,
        staff_id: str,
        wanted: Collection[str],
        now: datetime,
    ) -> Callback:
        """Record "gebeld" or "niet bereikt" and delete the number. Only an open call-back of
        one of the ``wanted`` purposes (the specialist's) changes; else :class:`CallbackGone`."""
        if state not in DONE:
            raise CallbackError(f"a call-back cannot be marked {state.value}")
        async with writing(self._engine) as conn:
            changed = await conn.execute(
                update(walkin_callbacks)
                .where(
                    c.tenant_id == tenant_id,
                    c.id == callback_id,
                    c.state == CallbackState.OPEN.value,
                    c.purpose.in_(sorted(wanted)),
                )
                .values(state=state.value, phone_sealed=None, done_at=now, done_by=staff_id)
            )
            if changed.rowcount != 1:
                raise CallbackGone("no such open call-back for these purposes")
            # the number was used and is gone: the audit names the attribute, never its value
            await audit(
                conn,
                tenant_id,
                now,
                f"staff-member:{staff_id}",
                f"callback.{state.value}",
                f"callback:{callback_id}",
                ["phone"],
            )
            row = (await conn.execute(select(walkin_callbacks).where(c.id == callback_id))).one()
        return _callback(row)[0]

    async def expire(self, now: datetime) -> int:
        """Delete the numbers of call-backs whose window ended :data:`KEEP_AFTER_WINDOW` ago
        without being done; how many."""
        async with writing(self._engine) as conn:
            result = await conn.execute(
                update(walkin_callbacks)
                .where(
                    c.state == CallbackState.OPEN.value,
                    c.window_end <= now - KEEP_AFTER_WINDOW,
                )
                .values(state=CallbackState.EXPIRED.value, phone_sealed=None, done_at=now)
            )
        return int(result.rowcount or 0)

    async def reseal(self) -> int:
        """Seal every open number under the ring's active key (``balie vault reseal``)."""
        async with reading(self._engine) as conn:
            rows = (
                await conn.execute(select(c.id, c.phone_sealed).where(c.phone_sealed.is_not(None)))
            ).all()
        moved = 0
        for row in rows:
            if sealed_kid(row.phone_sealed) == self._keys.active:
                continue
            number = self._open(row.id, row.phone_sealed)
            if number is None:
                continue
            async with writing(self._engine) as conn:
                result = await conn.execute(
                    update(walkin_callbacks)
                    .where(c.id == row.id, c.phone_sealed == row.phone_sealed)
                    .values(phone_sealed=self._seal(row.id, number))
                )
                moved += int(result.rowcount or 0)
        return moved

    def _seal(self, callback_id: str, number: str) -> str:
        return self._keys.seal(number.encode(), room=_AAD, verification_id=callback_id)

    def _open(self, callback_id: str, sealed: str | None) -> str | None:
        if sealed is None:
            return None
        try:
            return self._keys.open(sealed, room=_AAD, verification_id=callback_id).decode()
        except VaultError:
            return None  # a key left the ring: the desk says the number cannot be read


def _callback(row: Row[Any]) -> tuple[Callback, str | None]:
    callback = Callback(
        row.id,
        row.tenant_id,
        row.purpose,
        row.window_start,
        row.window_end,
        CallbackState(row.state),
        row.created_at,
    )
    return callback, row.phone_sealed
