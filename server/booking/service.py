# Longer than 500 lines: one class whose every transition runs in the same retrying, idempotent
# transaction helper; split up, its invariants would be spread over several modules.
"""The booking service: availability from the database, and the appointment life cycle.

Every write is one database transaction that either happens whole or not at all:

- :meth:`BookingService.hold` re-checks the slot with the pure engine *inside* the write
  transaction (lapsed holds of those staff expired first), then inserts a ``held`` row. The
  database refuses an overlapping active row whatever the checks said (PostgreSQL: exclusion
  constraint; SQLite: trigger, under ``BEGIN IMMEDIATE``), and that refusal becomes
  :class:`SlotTaken`. The engine check makes the ordinary loser's error precise; the database
  makes the guarantee.
- :meth:`confirm` and every later transition are compare-and-swap updates on (id, version,
  allowed states); a miss is diagnosed and named (:class:`HoldExpired`, :class:`InvalidState`
  naming the current state, :class:`StaleVersion`).
- :meth:`reschedule` claims the new slot and cancels the old appointment in one transaction:
  if the new slot is taken, the old appointment is untouched; nobody ever sees both or
  neither.
- POST-style operations take an ``idempotency_key``. The key is claimed first in the
  operation's own transaction, so a retry after a lost response (or a concurrent duplicate)
  returns the same appointment, and the same key with a different request is refused
  (:class:`IdempotencyConflict`). A replay returns the appointment as it is now.

External busy time is read *before* the write transaction (a slow calendar server must not
hold the write lock), through :class:`~server.booking.busy.BusySource`.

Time comes from the injected ``clock``, so tests move it instead of sleeping. Holds expire by
that clock; across nodes it is each node's clock, which NTP keeps within far less than a
hold's 15 minutes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final, TypeVar, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, delete, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.booking import earlier, store
from server.booking.appointment import (
    CANCEL,
    CHECK_IN,
    COMPLETE,
    CONFIRM,
    NO_SHOW,
    RELEASE,
    RESCHEDULE,
    START_CALL,
    Appointment,
    AppointmentState,
    Contact,
    Transition,
)
from server.booking.busy import BusySource, CalendarFailure, NoBusySource, read_busy
from server.booking.errors import (
    Conflict,
    HoldExpired,
    IdempotencyConflict,
    InvalidRequest,
    InvalidState,
    LinkInvalid,
    LinkRevoked,
    SlotTaken,
    SlotUnavailable,
    StaleVersion,
    StorageUnavailable,
    TooManyHolds,
)
from server.booking.explanation import Explanation, Reason
from server.booking.hooks import ChangeHook, ChangeReason
from server.booking.intervals import wall_to_instant
from server.booking.links import LinkKeys, ManageClaims, issue_manage_link, verify_manage_link
from server.booking.model import Allocation, Busy, PurposeRules, SlotRequest, Staff
from server.booking.offers import OfferCache
from server.booking.slots import Slot, SlotSearch, rank_staff
from server.core.clock import AMSTERDAM, Clock, utc_now
from server.core.holidays import HolidayRules
from server.core.logs import Event, event
from server.db.audit import audit
from server.db.engine import write_turn, writer
from server.db.schema import idempotency_keys

log = logging.getLogger(__name__)

T = TypeVar("T")

#: a hold lasts long enough for a DigiD or wallet round trip (Cal.com's 5 minutes is not)
DEFAULT_HOLD: Final = timedelta(minutes=15)
#: idempotency keys are kept this long; a client retries within minutes, not days
DEFAULT_KEY_TTL: Final = timedelta(hours=24)
#: whole-transaction attempts on a serialisation failure, deadlock or lost key race
_ATTEMPTS: Final = 5
#: PostgreSQL: serialization_failure, deadlock_detected: safe to run the transaction again
_RETRY_SQLSTATES: Final = frozenset({"40001", "40P01"})
#: Crockford-like alphabet for references read out on the phone: no 0/O, 1/I/L, U
_REFERENCE_ALPHABET: Final = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
_REFERENCE_LENGTH: Final = 8
#: how many of the free staff, fairest first, a claim may try to lock without waiting
_CANDIDATES: Final = 4
#: turns of a slot claim: the fast way on all but the last (BookingService._place)
_TURNS: Final = 6
#: the wait before the second turn, doubling: 1 + 2 + 4 + 8 + 16 ms at most in all
_TURN_WAIT: Final = 0.001


class _Retry(Exception):
    """Run the whole transaction again: it lost a race that a fresh attempt resolves."""


class _Busy(Exception):
    """Every candidate for the slot is held by another writer, or was taken since it was
    read: read again in a moment (:meth:`BookingService._place`)."""


#: completes a slot claim: ``await claim(state=..., ...)`` inserts the row
_Claim = Callable[..., Awaitable["Appointment"]]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a slot check needs from outside the write transaction."""

    tenant_id: str
    purpose: PurposeRules
    staff: tuple[Staff, ...]
    busy: tuple[Busy, ...]
    #: the requested staff member, if the caller named one
    staff_id: str | None
    #: which public holidays close the tenant's booking (``tenants.holidays``)
    holidays: HolidayRules

    def request(
        self,
        now: datetime,
        zone: ZoneInfo,
        allocations: list[Allocation],
        staff: tuple[Staff, ...] | None = None,
    ) -> SlotRequest:
        """The engine's question with these allocations (and ``staff``, if not the plan's)."""
        return SlotRequest(
            purpose=self.purpose,
            staff=self.staff if staff is None else staff,
            now=now,
            busy=self.busy,
            allocations=tuple(allocations),
            zone=zone,
            holidays=self.holidays,
        )


@dataclass(frozen=True, slots=True)
class Holder:
    """Who places a hold, for the caps: the client's address key and the browser's id. The
    service keeps them only as keyed pseudonyms, and only while the hold lives."""

    client: str | None = None
    browser: str | None = None


class BookingService:
    """Availability and the appointment life cycle of every tenant, on one engine.

    :param engine: from :func:`server.db.create_engine`, migrated.
    :param clock: returns the current aware instant; tests pass a fake one.
    :param busy_source: external busy time; None reads no calendars.
    :param link_keys: keys for manage links; None disables :meth:`manage_link`.
    :param hold_duration: how long a hold blocks the slot before it lapses.
    :param holds_per_client: live holds one client may have at once (0: no cap); needs
        ``link_keys``, whose active key makes the pseudonyms.
    :param zone: the zone of working hours and dates.
    :param on_change: called inside every write transaction that changes an appointment
        (:mod:`server.booking.hooks`); None: nothing else happens.
    :param offers: the node's memory of offered dates and times (:mod:`server.booking.offers`).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock = utc_now,
        busy_source: BusySource | None = None,
        link_keys: LinkKeys | None = None,
        hold_duration: timedelta = DEFAULT_HOLD,
        holds_per_client: int = 0,
        zone: ZoneInfo = AMSTERDAM,
        on_change: ChangeHook | None = None,
        offers: OfferCache | None = None,
    ) -> None:
        if hold_duration <= timedelta(0):
            raise ValueError(f"hold_duration {hold_duration} must be positive")
        self._engine = engine
        self._writer = writer(engine)
        self._clock = clock
        self._busy_source: BusySource = busy_source or NoBusySource()
        self._link_keys = link_keys
        self.hold_duration = hold_duration
        self.holds_per_client = holds_per_client
        self.zone = zone
        self._on_change = on_change
        self._offers = offers or OfferCache()
        self._catalogs = OfferCache()
        #: offers being computed, by key and generation (:meth:`_offered`)
        self._computing: dict[tuple[Hashable, int], asyncio.Future[Any]] = {}

    # --- availability ----------------------------------------------------------------------

    async def available_dates(
        self, tenant_id: str, purpose_key: str, first: date | None = None, last: date | None = None
    ) -> list[date]:
        """The local dates with at least one free slot (within ``first``..``last``); possibly
        as this node offered them up to a second ago (:mod:`server.booking.offers`)."""

        async def dates() -> tuple[date, ...]:
            search = await self._search(tenant_id, purpose_key)
            return tuple(search.dates())

        found = await self._offered(("dates", tenant_id, purpose_key), dates)
        return [
            day
            for day in found
            if (first is None or day >= first) and (last is None or day <= last)
        ]

    async def available_times(self, tenant_id: str, purpose_key: str, day: date) -> list[Slot]:
        """The free slots on local ``day``, each with the staff free for it; possibly as this
        node offered them up to a second ago (:mod:`server.booking.offers`)."""

        async def times() -> tuple[Slot, ...]:
            search = await self._search(tenant_id, purpose_key, day=day)
            return tuple(search.times(day))

        return list(await self._offered(("times", tenant_id, purpose_key, day), times))

    def forget_offers(self, tenant_id: str | None = None) -> None:
        """Something the offers are computed from changed on this node (hours, exceptions,
        holidays): read and compute them again (:mod:`server.booking.offers`)."""
        self._catalogs.forget(tenant_id)
        self._offers.forget(tenant_id)

    async def _offered(
        self, key: Hashable, compute: Callable[[], Awaitable[T]], memory: OfferCache | None = None
    ) -> T:
        """The answer ``memory`` (the offers) keeps under ``key``, or the one being computed
        for it (a page loaded by many at once computes it once), or a new one."""
        memory = memory or self._offers
        now, generation = self._clock(), memory.generation
        kept = memory.get(key, now)
        if kept is not None:
            return cast(T, kept)
        running = self._computing.get((key, generation))
        if running is None:
            running = asyncio.ensure_future(compute())
            self._computing[(key, generation)] = running
            running.add_done_callback(lambda _: self._computing.pop((key, generation), None))
        value = await asyncio.shield(running)
        memory.put(key, now, value, generation)
        return cast(T, value)

    async def explain(self, tenant_id: str, purpose_key: str, start: datetime) -> Explanation:
        """Why ``start`` is or is not offered (for planners; names bookings by id only)."""
        _check_aware("start", start)
        day = start.astimezone(self.zone).date()
        search = await self._search(tenant_id, purpose_key, day=day)
        return search.explain(start)

    # --- the life cycle --------------------------------------------------------------------

    async def hold(
        self,
        tenant_id: str,
        purpose_key: str,
        start: datetime,
        *,
        staff_id: str | None = None,
        contact: Contact | None = None,
        idempotency_key: str | None = None,
        actor: str = "resident",
        holder: Holder | None = None,
    ) -> Appointment:
        """Claim the slot at ``start`` for :attr:`hold_duration`; confirm it with the
        returned appointment's id and version. Any qualified staff member free then is
        picked fairly unless ``staff_id`` names one.

        ``holder`` says who asks: the browser's earlier live holds are released (one time
        at a time per browser), and a client with :attr:`holds_per_client` live holds gets
        :class:`TooManyHolds`.

        Raises :class:`SlotTaken` (another hold or booking overlaps), :class:`SlotUnavailable`
        (the rules do not offer it), :class:`NotFound`, :class:`IdempotencyConflict`,
        :class:`TooManyHolds`.
        """
        client, browser = self._pseudonyms(holder)

        async def held(conn: AsyncConnection, now: datetime, claim: _Claim) -> Appointment:
            if browser is not None:
                for tenant, released in await store.release_holds_of_browser(conn, browser, now):
                    await audit(conn, tenant, now, actor, "appointment.release", _subject(released))
            if client is not None and self.holds_per_client:
                live = await store.live_holds_of_client(conn, client, now)
                if live >= self.holds_per_client:
                    raise TooManyHolds(f"the client holds {live} slots already")
            return await claim(
                state=AppointmentState.HELD,
                hold_expires_at=now + self.hold_duration,
                holder=(client, browser),
            )

        return await self._place(
            "hold",
            tenant_id,
            purpose_key,
            start,
            staff_id=staff_id,
            contact=contact or Contact(),
            key=idempotency_key,
            actor=actor,
            finish=held,
            browser=browser,
        )

    async def book(
        self,
        tenant_id: str,
        purpose_key: str,
        start: datetime,
        *,
        staff_id: str | None = None,
        contact: Contact | None = None,
        room_id: str | None = None,
        idempotency_key: str | None = None,
        actor: str = "resident",
    ) -> Appointment:
        """:meth:`hold` and :meth:`confirm` in one transaction, for a client that has every
        detail at once (a planner on the phone, an API client): the slot is checked and
        claimed as a hold's is, and the row is ``booked`` from its first write.

        Raises what :meth:`hold` raises but :class:`TooManyHolds`.
        """

        async def booked(conn: AsyncConnection, now: datetime, claim: _Claim) -> Appointment:
            placed = await claim(
                state=AppointmentState.BOOKED, hold_expires_at=None, room_id=room_id
            )
            await self._changed(conn, placed, now)
            return placed

        return await self._place(
            "book",
            tenant_id,
            purpose_key,
            start,
            staff_id=staff_id,
            contact=contact or Contact(),
            key=idempotency_key,
            actor=actor,
            finish=booked,
        )

    async def confirm(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        *,
        contact: Contact | None = None,
        room_id: str | None = None,
        idempotency_key: str | None = None,
        actor: str = "resident",
    ) -> Appointment:
        """Turn a live hold into a booking (compare-and-swap on ``version``).

        ``contact`` (if given) replaces the contact details given at hold time; ``room_id``
        names the call the booking will take place in. Raises :class:`HoldExpired`,
        :class:`InvalidState`, :class:`StaleVersion`, :class:`NotFound`.
        """
        values: dict[str, Any] = {"hold_expires_at": None}
        names: tuple[str, ...] = ()
        if contact is not None:
            values |= store.contact_values(contact)
            names = contact.attribute_names
        # Fingerprinted without the room: a retry mints a fresh random room id, and must
        # still replay (the stored appointment keeps the first one's room).
        request = _fingerprint("confirm", tenant_id, appointment_id, version, *values.values())
        if room_id is not None:
            values["room_id"] = room_id
        return await self._transition(
            tenant_id,
            appointment_id,
            version,
            CONFIRM,
            values,
            idempotency_key=idempotency_key,
            actor=actor,
            request=request,
            attributes=names,
        )

    async def release(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        *,
        idempotency_key: str | None = None,
        actor: str = "resident",
    ) -> Appointment:
        """Give up a hold before it lapses, freeing the slot at once."""
        return await self._transition(
            tenant_id,
            appointment_id,
            version,
            RELEASE,
            {"hold_expires_at": None},
            idempotency_key=idempotency_key,
            actor=actor,
        )

    async def cancel(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        *,
        idempotency_key: str | None = None,
        actor: str = "resident",
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> Appointment:
        """Cancel a booking; its slot is free at once and its manage links die. ``reason``
        says what the resident is told (:class:`~server.booking.hooks.ChangeReason`)."""
        return await self._transition(
            tenant_id,
            appointment_id,
            version,
            CANCEL,
            {},
            idempotency_key=idempotency_key,
            actor=actor,
            reason=reason,
        )

    async def reschedule(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        start: datetime,
        *,
        staff_id: str | None = None,
        room_id: str | None = None,
        idempotency_key: str | None = None,
        actor: str = "resident",
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> Appointment:
        """Move a booking to ``start``; returns the new appointment (a new id, booked, with
        ``rescheduled_from`` set, in ``room_id`` if given; like ``confirm``, the room is not
        part of the idempotency fingerprint). The old one ends ``cancelled`` in the same
        transaction.

        The new slot is checked and claimed while the old appointment is locked by its
        compare-and-swap; if the new slot is taken the transaction rolls back and the old
        booking stands unchanged. The new slot may overlap the old one.
        """
        _check_aware("start", start)
        async with self._read() as conn:
            current = await store.get_appointment(conn, tenant_id, appointment_id)
        plan = await self._plan(
            tenant_id, current.purpose_key, start.astimezone(self.zone).date(), staff_id, claim=True
        )
        request = _fingerprint("reschedule", tenant_id, appointment_id, version, start, staff_id)

        async def work(conn: AsyncConnection) -> Appointment:
            replay = await self._claim_key(conn, tenant_id, idempotency_key, "reschedule", request)
            if replay is not None:
                return replay
            now = self._clock()
            old = await self._swap(conn, tenant_id, appointment_id, version, RESCHEDULE, {}, now)
            new = await self._allocate(
                conn,
                plan,
                start,
                now,
                None,  # checked under every qualified staff member's lock
                state=AppointmentState.BOOKED,
                hold_expires_at=None,
                contact=old.contact,
                rescheduled_from=old.id,
                room_id=room_id,
            )
            await self._moved(conn, old, new, now, actor, reason)
            await self._settle_key(conn, tenant_id, idempotency_key, new.id)
            return new

        return await self._write(work)

    async def take_earlier(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        *,
        room_id: str | None = None,
        actor: str = "resident",
    ) -> Appointment:
        """Move a booking into the earlier time its earlier-time offer holds
        (:mod:`server.booking.earlier`): the hold becomes the booking (with the old one's
        contact details, in ``room_id``), the old one ends ``cancelled``, in one transaction.
        Raises :class:`HoldExpired` when there is no live offer any more, and what
        :meth:`reschedule` raises for the old appointment."""

        async def work(conn: AsyncConnection) -> Appointment:
            now = self._clock()
            place = await earlier.place(conn, tenant_id, appointment_id, now)
            if place is None or place.offer is None:
                raise HoldExpired(
                    f"cannot take the earlier time: appointment {appointment_id} has no offer "
                    "any more"
                )
            offer = place.offer
            old = await self._swap(conn, tenant_id, appointment_id, version, RESCHEDULE, {}, now)
            values = {
                "hold_expires_at": None,
                "rescheduled_from": old.id,
                "room_id": room_id,
                **store.contact_values(old.contact),
            }
            new = await self._swap(conn, tenant_id, offer.id, offer.version, CONFIRM, values, now)
            await self._moved(conn, old, new, now, actor)
            return new

        return await self._write(work)

    async def earlier_list(
        self, tenant_id: str, appointment_id: str, version: int, action: str
    ) -> None:
        """The earlier-time list for a booked appointment at ``version``: ``aan`` puts it on,
        ``uit`` takes it off (releasing an offer it held), ``nee`` says no to the offer (off
        the list; the slot goes to the next in line). Raises :class:`InvalidState` or
        :class:`StaleVersion` like a change would, without changing the version."""

        async def work(conn: AsyncConnection) -> None:
            now = self._clock()
            current = await store.get_appointment(conn, tenant_id, appointment_id)
            if current.state is not AppointmentState.BOOKED:
                raise InvalidState(
                    f"cannot change the earlier-time list: appointment {appointment_id} is "
                    f"{current.state}",
                    current.state,
                )
            if current.version != version:
                raise StaleVersion(
                    f"appointment {appointment_id} is at version {current.version}",
                    current.version,
                )
            if action == "aan":
                await earlier.ask(conn, current, now)
            else:
                released = await earlier.leave(conn, tenant_id, appointment_id, now)
                if released is not None:
                    await self._changed(conn, released, now, reason=ChangeReason.OFFER_LET_GO)
            await audit(
                conn,
                tenant_id,
                now,
                "resident",
                f"appointment.earlier_{action}",
                _subject(appointment_id),
            )

        await self._write(work)

    async def earlier_place(self, appointment: Appointment) -> earlier.Place | None:
        """The appointment's place on the earlier-time list, with a live offer."""
        async with self._read() as conn:
            return await earlier.place(conn, appointment.tenant_id, appointment.id, self._clock())

    async def check_in(
        self, tenant_id: str, appointment_id: str, version: int, *, room_id: str | None = None
    ) -> Appointment:
        """The resident verified and entered the lobby (optionally of ``room_id``)."""
        values = {} if room_id is None else {"room_id": room_id}
        return await self._transition(
            tenant_id, appointment_id, version, CHECK_IN, values, actor="resident"
        )

    async def start_call(
        self, tenant_id: str, appointment_id: str, version: int, *, actor: str
    ) -> Appointment:
        return await self._transition(
            tenant_id, appointment_id, version, START_CALL, {}, actor=actor
        )

    async def complete(
        self, tenant_id: str, appointment_id: str, version: int, *, actor: str
    ) -> Appointment:
        return await self._transition(tenant_id, appointment_id, version, COMPLETE, {}, actor=actor)

    async def mark_no_show(
        self, tenant_id: str, appointment_id: str, version: int, *, actor: str
    ) -> Appointment:
        return await self._transition(tenant_id, appointment_id, version, NO_SHOW, {}, actor=actor)

    async def set_reminders(
        self, tenant_id: str, appointment_id: str, wanted: bool, *, actor: str = "resident"
    ) -> Appointment:
        """Reminders on or off for a booked appointment. A preference, not a change of the
        appointment: its version stays, so the resident's manage link keeps working. Raises
        :class:`NotFound`, or :class:`InvalidState` naming the state when it is not booked."""

        async def work(conn: AsyncConnection) -> Appointment:
            now = self._clock()
            changed = await store.set_reminders(conn, tenant_id, appointment_id, wanted)
            if changed is None:
                current = await store.get_appointment(conn, tenant_id, appointment_id)
                raise InvalidState(
                    f"cannot change reminders: appointment {appointment_id} is {current.state}",
                    current.state,
                )
            await self._changed(conn, changed, now)
            action = "appointment.reminders_on" if wanted else "appointment.reminders_off"
            await audit(conn, tenant_id, now, actor, action, _subject(appointment_id))
            return changed

        return await self._write(work)

    # --- reading ---------------------------------------------------------------------------

    async def get(self, tenant_id: str, appointment_id: str) -> Appointment:
        """The appointment, or :class:`NotFound` (also when it belongs to another tenant)."""
        async with self._read() as conn:
            return await store.get_appointment(conn, tenant_id, appointment_id)

    async def appointments_between(
        self, tenant_id: str, start: datetime, end: datetime, *, staff_id: str | None = None
    ) -> list[Appointment]:
        """Appointments (any state) overlapping [start, end), by start time."""
        async with self._read() as conn:
            return await store.appointments_between(conn, tenant_id, start, end, staff_id)

    # --- manage links ----------------------------------------------------------------------

    def manage_link(self, appointment: Appointment) -> str:
        """A token that manages this appointment at its current version until it starts."""
        if self._link_keys is None:
            raise RuntimeError("BookingService was built without link_keys")
        return issue_manage_link(
            self._link_keys,
            appointment.tenant_id,
            appointment.id,
            appointment.version,
            appointment.start,
        )

    def manage_claims(self, tenant_id: str, token: str) -> ManageClaims:
        """The claims of a genuine, unexpired manage link of this tenant, whatever state its
        appointment is in now: for reading (details, the invite that turned into a
        cancellation) and for operations whose own compare-and-swap on ``claims.version``
        checks the state (and lets an idempotent retry replay). Raises :class:`LinkInvalid`
        or :class:`LinkExpired`."""
        if self._link_keys is None:
            raise RuntimeError("BookingService was built without link_keys")
        try:
            claims = verify_manage_link(self._link_keys, token, now=self._clock())
        except LinkInvalid as error:
            # one line an operator can count: after a restore with the wrong link keys
            # (docs/operations.md) every link fails this way, and nothing else would show it
            log.info("manage link refused: %s", error, extra=event(Event.MANAGE_LINK_REFUSED))
            raise
        if claims.tenant_id != tenant_id:
            raise LinkInvalid("manage link belongs to another tenant")
        return claims

    async def open_manage_link(self, tenant_id: str, token: str) -> Appointment:
        """The booked appointment a manage link still manages.

        Raises :class:`LinkInvalid`, :class:`LinkExpired` (it has started) or
        :class:`LinkRevoked` (it changed since the link was issued). Pass the returned
        version to :meth:`cancel` or :meth:`reschedule`: a change in between then fails its
        compare-and-swap.
        """
        claims = self.manage_claims(tenant_id, token)
        async with self._read() as conn:
            found = await store.find_appointment(conn, tenant_id, claims.appointment_id)
        if found is None:
            raise LinkRevoked("the appointment of this manage link no longer exists")
        if found.version != claims.version or found.state is not AppointmentState.BOOKED:
            raise LinkRevoked(
                f"the appointment changed since this link was sent; it is now {found.state}"
            )
        return found

    # --- housekeeping (a background task calls these) --------------------------------------

    async def expire_holds(self) -> int:
        """Move every lapsed hold to ``expired``; the count moved. Booking does not depend on
        this (it expires what it needs in its own transaction); it keeps the table honest."""

        async def work(conn: AsyncConnection) -> int:
            return await store.expire_lapsed_holds(conn, self._clock())

        return await self._write(work)

    async def purge_idempotency_keys(self, older_than: timedelta = DEFAULT_KEY_TTL) -> int:
        async def work(conn: AsyncConnection) -> int:
            cutoff = self._clock() - older_than
            result = await conn.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
            )
            return result.rowcount

        return await self._write(work)

    # --- internals -------------------------------------------------------------------------

    async def _transition(
        self,
        tenant_id: str,
        appointment_id: str,
        version: int,
        transition: Transition,
        values: dict[str, Any],
        *,
        actor: str,
        idempotency_key: str | None = None,
        request: str | None = None,
        attributes: tuple[str, ...] = (),
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> Appointment:
        operation = transition.action
        if request is None:
            request = _fingerprint(operation, tenant_id, appointment_id, version, *values.values())

        async def work(conn: AsyncConnection) -> Appointment:
            replay = await self._claim_key(conn, tenant_id, idempotency_key, operation, request)
            if replay is not None:
                return replay
            now = self._clock()
            changed = await self._swap(
                conn, tenant_id, appointment_id, version, transition, values, now
            )
            await self._changed(conn, changed, now, reason=reason)
            await audit(
                conn,
                tenant_id,
                now,
                actor,
                f"appointment.{operation}",
                _subject(changed.id),
                attributes,
            )
            await self._settle_key(conn, tenant_id, idempotency_key, changed.id)
            return changed

        return await self._write(work)

    async def _moved(
        self,
        conn: AsyncConnection,
        old: Appointment,
        new: Appointment,
        now: datetime,
        actor: str,
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> None:
        """What a move writes besides the two rows: the hook for both, and the audit."""
        await self._changed(conn, old, now, moved_to=new, reason=reason)
        await self._changed(conn, new, now, reason=reason)
        tenant_id = old.tenant_id
        await audit(conn, tenant_id, now, actor, "appointment.reschedule", _subject(old.id))
        await audit(
            conn,
            tenant_id,
            now,
            actor,
            "appointment.book",
            _subject(new.id),
            old.contact.attribute_names,
        )

    async def _changed(
        self,
        conn: AsyncConnection,
        appointment: Appointment,
        now: datetime,
        *,
        moved_to: Appointment | None = None,
        reason: ChangeReason = ChangeReason.ASKED,
    ) -> None:
        if self._on_change is not None:
            await self._on_change.changed(conn, appointment, now, moved_to=moved_to, reason=reason)

    def _pseudonyms(self, holder: Holder | None) -> tuple[str | None, str | None]:
        if holder is None or self._link_keys is None:
            return None, None
        keys = self._link_keys
        client = keys.pseudonym("client", holder.client) if holder.client else None
        browser = keys.pseudonym("browser", holder.browser) if holder.browser else None
        return client, browser

    async def _swap(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        appointment_id: str,
        version: int,
        transition: Transition,
        values: dict[str, Any],
        now: datetime,
    ) -> Appointment:
        """Compare-and-swap one transition, or raise the error that names why it missed."""
        changed = await store.compare_and_swap(
            conn,
            tenant_id,
            appointment_id,
            version,
            transition.sources,
            {"state": transition.target, "updated_at": now, **values, **_holder_kept(transition)},
            hold_alive_at=now if transition is CONFIRM else None,
        )
        if changed is not None:
            return changed
        current = await store.get_appointment(conn, tenant_id, appointment_id)
        verb = transition.name
        lapsed = (
            current.state is AppointmentState.HELD
            and current.hold_expires_at is not None
            and current.hold_expires_at <= now
        )
        if transition is CONFIRM and (current.state is AppointmentState.EXPIRED or lapsed):
            raise HoldExpired(
                f"cannot confirm: the hold on appointment {appointment_id} expired",
                current.hold_expires_at,
            )
        if current.state not in transition.sources:
            raise InvalidState(
                f"cannot {verb}: appointment {appointment_id} is {current.state}", current.state
            )
        if current.version != version:
            raise StaleVersion(
                f"cannot {verb}: appointment {appointment_id} is at version {current.version}, "
                f"not {version}",
                current.version,
            )
        raise Conflict(f"cannot {verb}: appointment {appointment_id} changed")  # pragma: no cover

    async def _place(
        self,
        operation: str,
        tenant_id: str,
        purpose_key: str,
        start: datetime,
        *,
        staff_id: str | None,
        contact: Contact,
        key: str | None,
        actor: str,
        finish: Callable[[AsyncConnection, datetime, _Claim], Awaitable[Appointment]],
        browser: str | None = None,
    ) -> Appointment:
        """Claim the slot at ``start`` for ``contact`` in a write transaction that ``finish``
        completes (``await claim(state=..., ...)`` inserts the row), audited as
        ``appointment.{operation}`` with the contact's attribute names.

        The fast way, every turn but the last: who could take the slot is read before the
        transaction (a slot already gone is refused there, without a lock), and the
        transaction locks only the fairest of them that no other writer holds, re-checking
        that one staff member's day under the lock. A burst on one slot thus answers its
        losers as soon as the winner commits, instead of queueing them all behind one lock;
        when every candidate is held by another writer (or the read was overtaken), the turn
        waits a little and reads again. The last turn takes the original way: every qualified
        staff member locked (waiting for them), the whole day checked. Daily caps are per
        staff member, so one member's lock guards its counts.
        """
        _check_aware("start", start)
        request = _fingerprint(
            operation, tenant_id, purpose_key, start, staff_id, contact.email, contact.phone
        )
        day = start.astimezone(self.zone).date()
        plan = await self._plan(tenant_id, purpose_key, day, staff_id, claim=True)

        async def attempt(last: bool) -> Appointment:
            # SQLite: the read and the write in one turn of this process's writers, so that
            # the losers of a burst read the winner's row and are refused without a write
            # transaction of their own (PostgreSQL: no turn; SKIP LOCKED steers them).
            async with write_turn(self._engine):
                candidates = None if last else await self._candidates(plan, start, key, browser)

                async def work(conn: AsyncConnection) -> Appointment:
                    replay = await self._claim_key(conn, tenant_id, key, operation, request)
                    if replay is not None:
                        return replay
                    now = self._clock()

                    async def claim(**values: Any) -> Appointment:
                        return await self._allocate(
                            conn, plan, start, now, candidates, contact=contact, **values
                        )

                    placed = await finish(conn, now, claim)
                    await audit(
                        conn,
                        tenant_id,
                        now,
                        actor,
                        f"appointment.{operation}",
                        _subject(placed.id),
                        contact.attribute_names,
                    )
                    await self._settle_key(conn, tenant_id, key, placed.id)
                    return placed

                return await self._write(work, turn_held=True)

        for turn in range(_TURNS):
            try:
                return await attempt(last=turn == _TURNS - 1)
            except _Busy:
                await asyncio.sleep(_TURN_WAIT * 2**turn)
        raise AssertionError("the last turn never raises _Busy")  # pragma: no cover

    async def _candidates(
        self, plan: _Plan, start: datetime, key: str | None, browser: str | None
    ) -> tuple[str, ...] | None:
        """Who could take ``start`` as the database stands now, fairest first, read outside
        any write transaction; raises the refusal when nobody can. None: the transaction must
        decide under all its locks (nobody qualified; a refusal for a key that may replay an
        earlier success)."""
        if not plan.staff:
            return None
        now = self._clock()
        low, high = self._day_window(plan.purpose, start.astimezone(self.zone).date())
        ids = [member.id for member in plan.staff]
        async with self._read() as conn:
            allocations = await store.load_allocations(
                conn, plan.tenant_id, ids, low, high, but_holds_of=browser
            )
        search = SlotSearch(plan.request(now, self.zone, allocations))
        free = search.fairest_free(start, _CANDIDATES)
        if free:
            return free
        if key is not None and await self._key_used(plan.tenant_id, key):
            return None
        raise _refusal(search, start, plan)

    async def _allocate(
        self,
        conn: AsyncConnection,
        plan: _Plan,
        start: datetime,
        now: datetime,
        candidates: tuple[str, ...] | None,
        *,
        state: AppointmentState,
        hold_expires_at: datetime | None,
        contact: Contact,
        rescheduled_from: str | None = None,
        room_id: str | None = None,
        holder: tuple[str | None, str | None] = (None, None),
    ) -> Appointment:
        """Check ``start`` with the allocations as this transaction sees them, then insert;
        the database refuses an overlap the check could not see. ``candidates``: only those
        staff, fairest first, each locked without waiting (:meth:`_place`); None: all of the
        plan's, locked."""
        start = start.astimezone(UTC)
        if candidates is None:
            chosen = await self._check_all(conn, plan, start, now)
        else:
            chosen = await self._check_first_free(conn, plan, start, now, candidates)
        purpose = plan.purpose
        end = start + purpose.duration
        values = {
            "id": str(uuid.uuid4()),
            "tenant_id": plan.tenant_id,
            "reference": _reference(),
            "purpose_key": purpose.key,
            "staff_id": chosen,
            "state": state,
            "starts_at": start,
            "ends_at": end,
            "buffered_start": start - purpose.buffer_before,
            "buffered_end": end + purpose.buffer_after,
            "hold_expires_at": hold_expires_at,
            "version": 1,
            "rescheduled_from": rescheduled_from,
            "room_id": room_id,
            **store.contact_values(contact),
            "created_at": now,
            "updated_at": now,
            "hold_client": holder[0],
            "hold_browser": holder[1],
        }
        try:
            return await store.insert_appointment(conn, values)
        except IntegrityError as error:
            if store.is_overlap(error):
                raise SlotTaken(
                    f"the slot at {start.isoformat()} was just taken for {chosen!r}"
                ) from error
            if "reference" in str(error.orig):
                raise _Retry from error  # two random references collided: draw again
            raise

    async def _check_all(
        self, conn: AsyncConnection, plan: _Plan, start: datetime, now: datetime
    ) -> str:
        """Lock every qualified staff member, check ``start`` against their whole day as
        this transaction sees it, and pick the fairest free one (or raise the refusal)."""
        ids = [member.id for member in plan.staff]
        await store.lock_staff(conn, plan.tenant_id, ids)
        day = start.astimezone(self.zone).date()
        search = await self._locked_search(conn, plan, start, now, None, day)
        free = search.free_at(start)
        if not free:
            raise _refusal(search, start, plan)
        return plan.staff_id or rank_staff(search.request, start, free)[0]

    async def _check_first_free(
        self,
        conn: AsyncConnection,
        plan: _Plan,
        start: datetime,
        now: datetime,
        candidates: tuple[str, ...],
    ) -> str:
        """The first of ``candidates`` that no other writer holds and that is still free at
        ``start`` under its lock; :class:`_Busy` when there is none (held by others, or
        taken since they were read)."""
        day = start.astimezone(self.zone).date()
        left = list(candidates)
        while (row := await store.lock_first_free(conn, plan.tenant_id, left)) is not None:
            left.remove(row.id)
            search = await self._locked_search(conn, plan, start, now, [row], day)
            if search.free_at(start):
                return str(row.id)
        raise _Busy

    async def _locked_search(
        self,
        conn: AsyncConnection,
        plan: _Plan,
        start: datetime,
        now: datetime,
        rows: list[Row[Any]] | None,
        day: date,
    ) -> SlotSearch:
        """The engine on ``day`` as this transaction sees it, for the staff ``rows`` just
        locked (None: every one of the plan's, locked): their hours and exceptions read again,
        lapsed holds in the slot expired first."""
        purpose, tenant_id = plan.purpose, plan.tenant_id
        if rows is None:
            # Their hours as they are now, under the lock: a planner's absence saved while
            # this booking was planned (the save takes the same lock,
            # server/staff/planner/absences.py) must not be booked over.
            ids = [member.id for member in plan.staff]
            current = await store.load_staff(conn, tenant_id, purpose.skill, day, day, only=ids)
        else:
            ids = [row.id for row in rows]
            current = await store.staff_members(conn, tenant_id, rows, purpose.skill, day, day)
        window_low, window_high = self._day_window(purpose, day)
        allocations = await store.load_allocations(conn, tenant_id, ids, window_low, window_high)
        low, high = start - purpose.buffer_before, start + purpose.duration + purpose.buffer_after
        if any(not a.live(now) and a.start < high and a.end > low for a in allocations):
            # The engine passes over a lapsed hold, but the database counts it until expired.
            await store.expire_lapsed_holds(
                conn, now, tenant_id=tenant_id, staff_ids=ids, low=low, high=high
            )
        fresh = {member.staff.id: member.staff for member in current}
        staff = tuple(fresh[member.id] for member in plan.staff if member.id in fresh)
        return SlotSearch(plan.request(now, self.zone, allocations, staff))

    async def _plan(
        self,
        tenant_id: str,
        purpose_key: str,
        day: date | None,
        staff_id: str | None,
        *,
        claim: bool = False,
    ) -> _Plan:
        """Purpose, qualified staff and their external busy time: everything of a slot check
        that may be read before (outside) the write transaction. The staff and their hours
        as this node read them up to a second ago (:meth:`_catalog`); a ``claim`` reads the
        purpose and holidays now, and its staff member's hours again under the lock."""
        now = self._clock()
        purpose, holidays, members = await self._catalog(tenant_id, purpose_key)
        if claim:
            # A claim checks the rules as they are now; only the staff list may be a second
            # old (their hours are read again under the lock).
            async with self._read() as conn:
                fresh = await store.load_purpose(conn, tenant_id, purpose_key)
                holidays = await store.load_holidays(conn, tenant_id)
            if (fresh.skill, fresh.horizon_days) != (purpose.skill, purpose.horizon_days):
                self._catalogs.forget()
                _, _, members = await self._catalog(tenant_id, purpose_key)
            purpose = fresh
        if staff_id is not None:
            members = tuple(m for m in members if m.staff.id == staff_id)
        if staff_id is not None:
            if not members:
                raise SlotUnavailable(
                    f"staff member {staff_id!r} does not take {purpose_key!r} appointments",
                    (Reason.SKILL,),
                )
        if day is None:
            low, high = SlotRequest(purpose=purpose, staff=(), now=now, zone=self.zone).span()
        else:
            low, high = self._day_window(purpose, day)
        calendars = [m.calendar for m in members if m.calendar is not None]
        busy, failed = await read_busy(self._busy_source, tenant_id, calendars, low, high)
        staff = tuple(
            m.staff
            for m in members
            if not (m.staff.id in failed and m.calendar_failure is CalendarFailure.HIDE)
        )
        if staff_id is not None and not staff:
            raise SlotUnavailable(
                f"the calendar of staff member {staff_id!r} cannot be read now", (Reason.BUSY,)
            )
        return _Plan(tenant_id, purpose, staff, tuple(busy), staff_id, holidays)

    async def _catalog(
        self, tenant_id: str, purpose_key: str
    ) -> tuple[PurposeRules, HolidayRules, tuple[store.StaffMember, ...]]:
        """The purpose, the tenant's holidays and the qualified staff with their hours and
        their exceptions over the purpose's horizon. Kept for a second like the offers
        (:mod:`server.booking.offers`), but forgotten only when hours, exceptions or
        holidays change on this node (:meth:`forget_offers`), not on every booking."""

        async def read() -> tuple[PurposeRules, HolidayRules, tuple[store.StaffMember, ...]]:
            async with self._read() as conn:
                purpose = await store.load_purpose(conn, tenant_id, purpose_key)
                holidays = await store.load_holidays(conn, tenant_id)
                days = SlotRequest(purpose=purpose, staff=(), now=self._clock(), zone=self.zone)
                first, *_, last = days.days()
                members = await store.load_staff(conn, tenant_id, purpose.skill, first, last)
            return purpose, holidays, tuple(members)

        return await self._offered(("catalog", tenant_id, purpose_key), read, self._catalogs)

    async def _search(
        self, tenant_id: str, purpose_key: str, day: date | None = None
    ) -> SlotSearch:
        plan = await self._plan(tenant_id, purpose_key, day, None)
        if day is None:
            now = self._clock()
            low, high = SlotRequest(purpose=plan.purpose, staff=(), now=now, zone=self.zone).span()
        else:
            low, high = self._day_window(plan.purpose, day)
        async with self._read() as conn:
            allocations = await store.load_allocations(
                conn, tenant_id, [s.id for s in plan.staff], low, high
            )
        return SlotSearch(plan.request(self._clock(), self.zone, allocations))

    def _day_window(self, purpose: PurposeRules, day: date) -> tuple[datetime, datetime]:
        """What one local date's slots and caps can touch: the date, widened by a slot."""
        reach = purpose.duration + purpose.buffer_before + purpose.buffer_after
        return (
            wall_to_instant(day, time(0), self.zone) - reach,
            wall_to_instant(day + timedelta(days=1), time(0), self.zone) + reach,
        )

    async def _claim_key(
        self, conn: AsyncConnection, tenant_id: str, key: str | None, operation: str, request: str
    ) -> Appointment | None:
        """The earlier result of this key, or None after claiming it for this transaction."""
        if key is None:
            return None
        row = (await conn.execute(_key_row(tenant_id, key))).one_or_none()
        if row is not None:
            if row.operation != operation or row.request_hash != request:
                raise IdempotencyConflict(
                    f"idempotency key already used for a different {row.operation} request"
                )
            if row.appointment_id is None:  # pragma: no cover - set before every commit
                raise _Retry
            return await store.get_appointment(conn, tenant_id, row.appointment_id)
        try:
            # Claimed first: a concurrent duplicate waits on this row (PostgreSQL) or on the
            # write lock (SQLite), then finds it and replays instead of acting twice.
            await conn.execute(
                insert(idempotency_keys).values(
                    tenant_id=tenant_id,
                    key=key,
                    operation=operation,
                    request_hash=request,
                    created_at=self._clock(),
                )
            )
        except IntegrityError as error:
            raise _Retry from error
        return None

    async def _key_used(self, tenant_id: str, key: str) -> bool:
        async with self._read() as conn:
            return (await conn.execute(_key_row(tenant_id, key))).first() is not None

    async def _settle_key(
        self, conn: AsyncConnection, tenant_id: str, key: str | None, appointment_id: str
    ) -> None:
        if key is None:
            return
        await conn.execute(
            idempotency_keys.update()
            .where(idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key)
            .values(appointment_id=appointment_id)
        )

    async def _write(
        self, work: Callable[[AsyncConnection], Awaitable[T]], *, turn_held: bool = False
    ) -> T:
        """Run ``work`` in one write transaction, again on a retryable failure; in this
        process's turn of writers (``turn_held``: the caller has it)."""
        for _attempt in range(_ATTEMPTS):
            try:
                try:
                    async with (
                        nullcontext() if turn_held else write_turn(self._engine),
                        self._writer.begin() as conn,
                    ):
                        return await work(conn)
                finally:
                    # whatever it did (if anything), the offers may no longer be what's free
                    self._offers.forget()
            except _Retry:
                continue
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) in _RETRY_SQLSTATES:
                    continue
                raise _translate(error) from error
            except OSError as error:  # asyncpg's connect raises these untranslated
                raise StorageUnavailable("the database cannot be reached") from error
            except PoolTimeout as error:  # every pooled connection stayed in use
                raise StorageUnavailable("no database connection came free in time") from error
        raise StorageUnavailable(f"the database stayed busy through {_ATTEMPTS} attempts")

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.connect() as conn:
                yield conn
        except DBAPIError as error:
            raise _translate(error) from error
        except OSError as error:
            raise StorageUnavailable("the database cannot be reached") from error
        except PoolTimeout as error:
            raise StorageUnavailable("no database connection came free in time") from error


def _translate(error: DBAPIError) -> Exception:
    """A driver error as the booking error it means, or itself (a bug, not a condition)."""
    if isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
        return StorageUnavailable("the database cannot be reached or stayed locked")
    return error


def _refusal(search: SlotSearch, start: datetime, plan: _Plan) -> Exception:
    """Why ``start`` cannot be held: taken by someone else, or not offered at all."""
    if not plan.staff:
        return SlotUnavailable(
            f"nobody takes {plan.purpose.key!r} appointments now", (Reason.SKILL,)
        )
    explanation = search.explain(start)
    taken = {Reason.BOOKED, Reason.HELD}
    for verdict in explanation.staff:
        reasons = {finding.reason for finding in verdict.findings}
        if reasons and reasons <= taken:
            return SlotTaken(f"the slot at {start.isoformat()} is taken")
    other = sorted({f.reason for v in explanation.staff for f in v.findings} - taken)
    return SlotUnavailable(f"{start.isoformat()} is not offered: {', '.join(other)}", tuple(other))


def _holder_kept(transition: Transition) -> dict[str, Any]:
    """Who held a hold is forgotten as soon as it is no longer a hold."""
    return {} if transition.target is AppointmentState.HELD else dict(store.NO_HOLDER)


def _key_row(tenant_id: str, key: str) -> Select[Any]:
    """The idempotency key's row, if it was used."""
    return select(idempotency_keys).where(
        idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key
    )


def _check_aware(name: str, moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise InvalidRequest(f"{name} {moment.isoformat()} has no time zone")


def _fingerprint(operation: str, *parts: object) -> str:
    """A digest of the request, to tell a retry from a different request under one key."""
    canonical = json.dumps(
        [operation, *(p.isoformat() if isinstance(p, datetime) else p for p in parts)],
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _reference() -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(_REFERENCE_LENGTH))


def _subject(appointment_id: str) -> str:
    return f"appointment:{appointment_id}"


__all__ = ["DEFAULT_HOLD", "DEFAULT_KEY_TTL", "BookingService", "Clock", "utc_now"]
