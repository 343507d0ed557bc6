"""What each message says: plain B1 Dutch, English by the resident's choice. Pure.

A message is a subject, a few short paragraphs, the links the resident needs (each with a
label saying what it does), and the municipality's contact details at the foot; the SMS is
one short paragraph with one link. Nothing personal beyond what the resident gave: the
purpose, the time, the reference and links — never a name, a BSN or a verified attribute.
The texts are marked with ``N_`` so the catalog test finds every one without English.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from server.core.language import N_
from server.messages.model import Template
from server.municipality.profile import TenantProfile

Translate = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class Facts:
    """What the texts may say, already in words."""

    tenant: str
    purpose: str
    #: "maandag 7 december om 10:00"
    when: str
    #: "10:30"
    until: str
    reference: str
    #: minutes before the start the join link opens
    early: int
    #: the resident's join link (None: none yet, or the appointment is over)
    join: str | None
    #: the manage link: change, cancel, reminders off
    manage: str | None
    #: where to book a new time for the same question
    book: str
    #: the municipality's contact details; None: not filled in yet
    contact: TenantProfile | None
    #: an earlier time held for the resident ("dinsdag 8 december om 09:00"), and until when
    offer: str | None = None
    offer_until: str | None = None


@dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class Written:
    subject: str
    paragraphs: tuple[str, ...]
    links: tuple[Link, ...]
    footer: tuple[str, ...]
    sms: str


_SUBJECTS: Final[dict[Template, str]] = {
    Template.CONFIRMATION: N_("Uw afspraak op %(when)s"),
    Template.RESCHEDULED: N_("Uw afspraak is verzet naar %(when)s"),
    Template.CANCELLED: N_("Uw afspraak op %(when)s gaat niet door"),
    Template.REMINDER_DAY: N_("Herinnering: morgen uw afspraak om %(time)s"),
    Template.REMINDER_HOUR: N_("Herinnering: over een uur uw afspraak"),
    Template.ABSENCE: N_("Kies een nieuwe tijd voor uw afspraak op %(when)s"),
    Template.EARLIER: N_("Er is een eerdere tijd vrij: %(offer)s"),
}

_OPENING: Final[dict[Template, str]] = {
    Template.CONFIRMATION: N_(
        "U heeft een afspraak met %(tenant)s over %(purpose)s. Het gesprek is op %(when)s "
        "en duurt tot %(until)s."
    ),
    Template.RESCHEDULED: N_(
        "Uw afspraak met %(tenant)s over %(purpose)s is verzet. De nieuwe tijd is %(when)s, "
        "tot %(until)s. De oude tijd vervalt."
    ),
    Template.CANCELLED: N_(
        "Uw afspraak met %(tenant)s over %(purpose)s op %(when)s gaat niet door. "
        "Wilt u toch een gesprek? Maak dan een nieuwe afspraak."
    ),
    Template.REMINDER_DAY: N_(
        "Morgen heeft u een afspraak met %(tenant)s over %(purpose)s: %(when)s."
    ),
    Template.REMINDER_HOUR: N_(
        "Over een uur heeft u een afspraak met %(tenant)s over %(purpose)s: %(when)s."
    ),
    Template.ABSENCE: N_(
        "Uw afspraak met %(tenant)s over %(purpose)s op %(when)s kan niet doorgaan: de "
        "medewerker is er dan niet. Het spijt ons. Kies een nieuwe tijd via de link hieronder. "
        "De oude afspraak vervalt."
    ),
    Template.EARLIER: N_(
        "Er is een eerdere tijd vrijgekomen voor uw afspraak over %(purpose)s: %(offer)s. "
        "We houden die tijd tot %(offer_until)s voor u vast. Wilt u die tijd? Open uw afspraak "
        "met de link hieronder en kies ‘Neem deze tijd’. Doet u niets, dan blijft uw afspraak "
        "op %(when)s."
    ),
}

_HOW_TO_JOIN: Final = N_(
    "Doe mee via de link hieronder. U kunt hem %(early)s minuten voor de afspraak openen. "
    "Houd uw telefoon bij de hand: daarmee laat u zien wie u bent."
)
_REFERENCE: Final = N_("Uw afspraaknummer is %(reference)s.")
_WHY: Final = N_("U krijgt dit bericht omdat u een afspraak maakte bij %(tenant)s.")
_REMINDERS_OFF: Final = N_("Geen herinneringen meer? Zet ze uit via ‘Afspraak bekijken’.")
_CALL: Final = N_("Vragen? Bel %(phone)s. Bereikbaar: %(hours)s.")
_MAIL: Final = N_("Of mail naar %(email)s.")
_FORM: Final = N_("Of gebruik het contactformulier: %(url)s")
_SMS_CALL: Final = N_("Vragen? Bel %(phone)s.")
_JOIN: Final = N_("Naar het gesprek")
_MANAGE: Final = N_("Afspraak bekijken, verzetten of afzeggen")
_SEE_EARLIER: Final = N_("De eerdere tijd bekijken")
_NEW_TIME: Final = N_("Kies een nieuwe tijd")
_BOOK: Final = N_("Nieuwe afspraak maken")

_SMS: Final[dict[Template, str]] = {
    Template.CONFIRMATION: N_("%(tenant)s: uw afspraak is op %(when)s. Bekijk of wijzig:"),
    Template.RESCHEDULED: N_("%(tenant)s: uw afspraak is verzet naar %(when)s. Bekijk:"),
    Template.CANCELLED: N_("%(tenant)s: uw afspraak op %(when)s gaat niet door. Nieuwe afspraak:"),
    Template.REMINDER_DAY: N_("%(tenant)s: morgen uw afspraak, %(when)s. Bekijk:"),
    Template.REMINDER_HOUR: N_("%(tenant)s: over een uur uw afspraak. Naar het gesprek:"),
    Template.ABSENCE: N_(
        "%(tenant)s: uw afspraak op %(when)s kan niet doorgaan. Kies een nieuwe tijd:"
    ),
    Template.EARLIER: N_(
        "%(tenant)s: er is een eerdere tijd vrij, %(offer)s. We houden die tot %(offer_until)s "
        "vast. Kies hem via:"
    ),
}

#: the templates written for residents (calendar rows have none)
RESIDENT_TEMPLATES: Final = frozenset(_SUBJECTS)


def write(template: Template, facts: Facts, gettext: Translate) -> Written:
    """The message ``template`` with ``facts``, in the language of ``gettext``."""
    if template not in RESIDENT_TEMPLATES:
        raise ValueError(f"{template} is not a message to a resident")
    values = {
        "tenant": facts.tenant,
        "purpose": facts.purpose,
        "when": facts.when,
        "time": facts.when.rsplit(" ", 1)[-1],
        "until": facts.until,
        "reference": facts.reference,
        "early": facts.early,
        "offer": facts.offer or "",
        "offer_until": facts.offer_until or "",
    }
    paragraphs = [gettext(_OPENING[template]) % values]
    links: list[Link] = []
    joining = template in (
        Template.CONFIRMATION,
        Template.RESCHEDULED,
        Template.REMINDER_DAY,
        Template.REMINDER_HOUR,
    )
    if joining and facts.join:
        paragraphs.append(gettext(_HOW_TO_JOIN) % values)
        links.append(Link(gettext(_JOIN), facts.join))
    if template is Template.CANCELLED:
        links.append(Link(gettext(_BOOK), facts.book))
    elif template is Template.ABSENCE:
        links.append(Link(gettext(_NEW_TIME), facts.book))
    elif facts.manage:
        label = _SEE_EARLIER if template is Template.EARLIER else _MANAGE
        links.append(Link(gettext(label), facts.manage))
    paragraphs.append(gettext(_REFERENCE) % values)
    footer = [gettext(_WHY) % values]
    if joining:
        footer.append(gettext(_REMINDERS_OFF))
    footer[:0] = contact_lines(facts.contact, gettext)
    sms_link = _sms_link(template, facts)
    sms = gettext(_SMS[template]) % values + (f" {sms_link}" if sms_link else "")
    if facts.contact is not None:
        sms += " " + gettext(_SMS_CALL) % {"phone": facts.contact.phone}
    return Written(
        subject=gettext(_SUBJECTS[template]) % values,
        paragraphs=tuple(paragraphs),
        links=tuple(links),
        footer=tuple(footer),
        sms=sms,
    )


def contact_lines(profile: TenantProfile | None, gettext: Translate) -> list[str]:
    """How to reach the municipality, for the foot of an e-mail."""
    if profile is None:
        return []
    lines = [gettext(_CALL) % {"phone": profile.phone, "hours": profile.phone_hours}]
    if profile.email:
        lines.append(gettext(_MAIL) % {"email": profile.email})
    elif profile.form_url:
        lines.append(gettext(_FORM) % {"url": profile.form_url})
    return [" ".join(lines)]


def _sms_link(template: Template, facts: Facts) -> str | None:
    """One link per SMS, and a short one: a new booking after a cancellation or an absence,
    else the manage link, whose page leads on to the call (the join link's token would take
    three SMS)."""
    if template in (Template.CANCELLED, Template.ABSENCE):
        return facts.book
    return facts.manage


_CALLBACK_SMS: Final = N_(
    "%(tenant)s: we bellen u terug op %(day)s tussen %(start)s en %(end)s over %(purpose)s. "
    "Het nummer waarmee we bellen kan afgeschermd zijn."
)


def callback_sms(
    *,
    tenant: str,
    purpose: str,
    day: str,
    start: str,
    end: str,
    contact: TenantProfile | None,
    gettext: Translate,
) -> str:
    """The SMS that confirms a call-back's window."""
    text = gettext(_CALLBACK_SMS) % {
        "tenant": tenant,
        "purpose": purpose,
        "day": day,
        "start": start,
        "end": end,
    }
    if contact is not None:
        text += " " + gettext(_SMS_CALL) % {"phone": contact.phone}
    return text
