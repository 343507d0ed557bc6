"""Delivering one claimed outbox message: made from the appointment as it is *now*.

The outbox holds no text and no address (server/messages/changes.py); here they are made at
the moment of sending, from the appointment, so a message never says something that stopped
being true: a reminder of an appointment cancelled in the meantime is not sent (the row ends
``dropped``, with the reason), a calendar write makes the calendar match the current state.

An e-mail is a ``multipart/alternative`` of plain text and HTML, plus the ``.ics`` invite
(with a VALARM) for a booking or its cancellation for a cancelled one; its Message-ID is made
from the outbox row's id, the same on every attempt (server/messages/model.py explains why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from enum import StrEnum
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from server.booking import earlier, store
from server.booking.appointment import Appointment, AppointmentState
from server.booking.calendar_writer import CalendarWriter, calendar_appointment
from server.booking.catalog import Catalog
from server.booking.join_links import EARLY_JOIN, resident_join_url, staff_join_url
from server.booking.service import BookingService
from server.calendars.errors import CalendarError
from server.calendars.ics import invite_cancel, invite_request
from server.calendars.model import Organizer
from server.config import Config
from server.core.clock import AMSTERDAM, Clock
from server.core.date_words import clock_words, day_words, when_words
from server.core.language import Language, Languages
from server.db.tx import reading
from server.messages.errors import DeliveryDeferred, DeliveryRefused
from server.messages.mail import Mailer
from server.messages.model import Channel, Template
from server.messages.outbox import Job
from server.messages.sms import SmsProvider
from server.messages.texts import Facts, Translate, Written, callback_sms, write
from server.municipality.store import tenant_contact
from server.walkin.callbacks import Callbacks
from signaling.tokens import KeySet

log = logging.getLogger("balie.messages")

#: the invite's VALARM: the resident's calendar reminds them this long before
INVITE_ALARM: Final = timedelta(minutes=30)

#: the states in which a template is still worth sending
_WANTED: Final[dict[Template, frozenset[AppointmentState]]] = {
    Template.CONFIRMATION: frozenset({AppointmentState.BOOKED}),
    Template.RESCHEDULED: frozenset({AppointmentState.BOOKED}),
    Template.REMINDER_DAY: frozenset({AppointmentState.BOOKED}),
    Template.REMINDER_HOUR: frozenset({AppointmentState.BOOKED}),
    Template.ABSENCE: frozenset({AppointmentState.CANCELLED}),
    Template.EARLIER: frozenset({AppointmentState.BOOKED}),
    Template.CANCELLED: frozenset({AppointmentState.CANCELLED}),
}


class Outcome(StrEnum):
    SENT = "sent"
    #: not needed any more: the appointment changed since the message was written
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Delivered:
    outcome: Outcome
    #: why it was skipped, without personal data
    reason: str = ""


class Delivery:
    """Makes and sends one message of any channel."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        config: Config,
        catalog: Catalog,
        booking: BookingService,
        languages: Languages,
        room_keys: KeySet,
        mailer: Mailer,
        sms: SmsProvider | None,
        calendar: CalendarWriter | None,
        callbacks: Callbacks,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._config = config
        self._catalog = catalog
        self._booking = booking
        self._languages = languages
        self._room_keys = room_keys
        self._mailer = mailer
        self._sms = sms
        self._calendar = calendar
        self._callbacks = callbacks
        self._clock = clock

    async def deliver(self, job: Job) -> Delivered:
        """Send ``job``'s message; raises :class:`~server.messages.errors.DeliveryError`."""
        if job.template is Template.CALLBACK:
            return await self._callback(job)
        async with reading(self._engine) as conn:
            appointment = await store.find_appointment(conn, job.tenant_id, job.subject_id)
        if appointment is None:
            return Delivered(Outcome.SKIPPED, "the appointment no longer exists")
        if job.channel is Channel.CALENDAR:
            return await self._sync_calendar(appointment)
        wanted = _WANTED.get(job.template, frozenset())
        if appointment.state not in wanted:
            return Delivered(Outcome.SKIPPED, f"the appointment is {appointment.state}")
        language = _language(appointment.contact.language)
        gettext = self._languages.gettext(language)
        facts = await self._facts(appointment, language)
        if job.template is Template.EARLIER:
            async with reading(self._engine) as conn:
                place = await earlier.place(conn, job.tenant_id, appointment.id, self._clock())
            if place is None or place.offer is None:
                return Delivered(Outcome.SKIPPED, "the earlier time is no longer held")
            assert place.offer.hold_expires_at is not None  # a live hold has its end
            facts = replace(
                facts,
                offer=when_words(place.offer.start, language.value),
                offer_until=clock_words(place.offer.hold_expires_at),
            )
        written = write(job.template, facts, gettext)
        if job.channel is Channel.EMAIL:
            await self._email(job, appointment, facts, written, language)
        else:
            await self._text(job, appointment, written)
        return Delivered(Outcome.SENT)

    async def _facts(self, appointment: Appointment, language: Language) -> Facts:
        names = await self._catalog.names(appointment.tenant_id)
        now = self._clock()
        current = appointment.state is AppointmentState.BOOKED and appointment.start > now
        public = self._config.public_url
        manage = None
        if current:
            token = self._booking.manage_link(appointment)
            manage = f"{public}/afspraak/{appointment.tenant_id}/{appointment.id}#token={token}"
        return Facts(
            tenant=names.tenant,
            purpose=names.purpose(appointment.purpose_key),
            when=when_words(appointment.start, language.value),
            until=clock_words(appointment.end),
            reference=appointment.reference,
            early=int(EARLY_JOIN.total_seconds() // 60),
            join=resident_join_url(self._config, self._room_keys, appointment, now=now)
            if current
            else None,
            manage=manage,
            book=f"{public}/afspraak/{appointment.tenant_id}/kies/{appointment.purpose_key}",
            contact=await tenant_contact(self._engine, appointment.tenant_id),
        )

    async def _email(
        self,
        job: Job,
        appointment: Appointment,
        facts: Facts,
        written: Written,
        language: Language,
    ) -> None:
        address = appointment.contact.email
        if not address:
            raise DeliveryRefused("the appointment has no e-mail address any more")
        config = self._config
        gettext = self._languages.gettext(language)
        message = EmailMessage()
        message["Subject"] = written.subject
        message["From"] = Address(display_name=facts.tenant, addr_spec=config.messages.mail_from)
        message["To"] = address
        message["Date"] = format_datetime(self._clock())
        domain = config.booking.caldav_uid_domain
        message["Message-ID"] = f"<{job.message.id}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message.set_content(_plain(written))
        html = self._languages.environment(language).get_template("messages/email.html")
        message.add_alternative(
            html.render(written=written, language=language.value), subtype="html"
        )
        invite = self._invite(appointment, facts, gettext)
        if invite is not None:
            data, method = invite
            message.add_attachment(
                data,
                maintype="text",
                subtype="calendar",
                filename=gettext("afspraak.ics"),
                params={"method": method},
            )
        await self._mailer.send(message, job.message.id)

    def _invite(
        self, appointment: Appointment, facts: Facts, gettext: Translate
    ) -> tuple[bytes, str] | None:
        """The ``.ics``: the invite while the appointment stands, its cancellation after."""
        booked = appointment.state is AppointmentState.BOOKED
        if appointment.state not in (AppointmentState.BOOKED, AppointmentState.CANCELLED):
            return None
        now = self._clock()
        event = calendar_appointment(
            appointment,
            tenant_name=facts.tenant,
            purpose_name=facts.purpose,
            resident_join_url=(facts.join or "") if booked else "",
            staff_join_url=staff_join_url(self._config, appointment),
        )
        organizer = Organizer(facts.tenant, self._config.booking.invite_from)
        domain = self._config.booking.caldav_uid_domain
        if booked:
            data = invite_request(
                event, organizer, now=now, uid_domain=domain, gettext=gettext, alarm=INVITE_ALARM
            )
            return data, "REQUEST"
        return invite_cancel(
            event, organizer, now=now, uid_domain=domain, gettext=gettext
        ), "CANCEL"

    async def _text(self, job: Job, appointment: Appointment, written: Written) -> None:
        await self._send_sms(job, appointment.contact.phone, written.sms)

    async def _callback(self, job: Job) -> Delivered:
        """The SMS that confirms a walk-in call-back's window (the subject is the call-back;
        its number is sealed, opened only to send this)."""
        callback = await self._callbacks.with_number(job.tenant_id, job.subject_id)
        if callback is None:
            return Delivered(Outcome.SKIPPED, "the call-back is no longer open")
        names = await self._catalog.names(job.tenant_id)
        local = callback.window_start.astimezone(AMSTERDAM)
        text = callback_sms(
            tenant=names.tenant,
            purpose=names.purpose(callback.purpose),
            day=day_words(local.date()),
            start=clock_words(callback.window_start),
            end=clock_words(callback.window_end),
            contact=await tenant_contact(self._engine, job.tenant_id),
            gettext=self._languages.gettext(Language.NL),
        )
        await self._send_sms(job, callback.phone, text)
        return Delivered(Outcome.SENT)

    async def _send_sms(self, job: Job, number: str | None, text: str) -> None:
        if not number:
            raise DeliveryRefused("there is no phone number (any more)")
        if self._sms is None:
            raise DeliveryDeferred("no SMS provider is configured (BALIE_SMS_PROVIDER)")
        await self._sms.send(number, text, job.message.id)

    async def _sync_calendar(self, appointment: Appointment) -> Delivered:
        if self._calendar is None:
            return Delivered(Outcome.SKIPPED, "no calendar writer")
        try:
            wrote = await self._calendar.sync(appointment)
        except CalendarError as error:  # names the staff id and host, never a path
            raise DeliveryDeferred(f"calendar: {error}") from None
        return (
            Delivered(Outcome.SENT) if wrote else Delivered(Outcome.SKIPPED, "no CalDAV calendar")
        )


def _language(value: str) -> Language:
    try:
        return Language(value)
    except ValueError:
        return Language.NL


def _plain(written: Written) -> str:
    parts = [*written.paragraphs]
    parts += [f"{link.label}:\n{link.url}" for link in written.links]
    parts.append("--")
    parts += written.footer
    return "\n\n".join(parts) + "\n"
