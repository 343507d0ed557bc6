"""The words of the privacy and accessibility statements that come from data: per purpose,
what the identity step asks, how long it is kept and who can see it; the accessibility
status and the statement's date.

Pure: the caller passes the facts (:class:`~server.municipality.store.PurposeFacts`) and the
page's ``gettext``. The fixed paragraphs (contact details, call-back numbers, feedback, the
call itself, cookies) are in ``web/templates/municipality/privacy.html``; each says what the
code named in docs/privacy.md does today, so a change of that code changes them too
(docs/privacy.md, "The generated privacy statement").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

from server.booking.catalog import identity_labels
from server.core.date_words import day_words
from server.core.language import N_
from server.municipality.profile import AccessibilityStatus
from server.municipality.store import PurposeFacts

Translate = Callable[[str], str]

#: the accessibility statement's status sentence ("Nalevingsstatus")
STATUS_SENTENCES: Final = {
    AccessibilityStatus.FULL: N_(
        "Balie van %(name)s voldoet volledig aan de eisen van WCAG 2.1 op niveau AA."
    ),
    AccessibilityStatus.PARTIAL: N_(
        "Balie van %(name)s voldoet gedeeltelijk aan de eisen van WCAG 2.1 op niveau AA. "
        "Hieronder staat wat nog niet goed werkt."
    ),
    AccessibilityStatus.FIRST_STEPS: N_(
        "Balie van %(name)s voldoet nog niet aan de eisen van WCAG 2.1 op niveau AA. De "
        "gemeente heeft de eerste maatregelen genomen. Hieronder staat wat nog niet goed werkt."
    ),
    AccessibilityStatus.NOT: N_(
        "Balie van %(name)s voldoet niet aan de eisen van WCAG 2.1 op niveau AA. Hieronder "
        "staat wat niet goed werkt."
    ),
}

NOTHING_ASKED: Final = N_("Niets. Voor dit onderwerp hoeft u niet te laten zien wie u bent.")
UNREADABLE: Final = N_(
    "Dit kunnen we nu niet laten zien. Vraag de gemeente welke gegevens zij vraagt."
)
KEPT_UNTIL_END: Final = N_("Tot het einde van het gesprek. Dan wist Balie ze.")
KEPT_ONE_DAY: Final = N_("Tot 1 dag na het gesprek. Dan wist Balie ze.")
KEPT_DAYS: Final = N_("Tot %(days)d dagen na het gesprek. Dan wist Balie ze.")
SEEN_BY: Final = N_(
    "De medewerker die uw gesprek voert. Dat is een medewerker die over %(purpose)s gaat."
)
SEEN_BY_ONE: Final = N_("Bij de gemeente is dat nu 1 medewerker.")
SEEN_BY_MANY: Final = N_("Bij de gemeente zijn dat nu %(count)d medewerkers.")


@dataclass(frozen=True, slots=True)
class PurposeStatement:
    """One purpose in the privacy statement, in the page's language."""

    key: str
    name: str
    #: what the identity step asks, one line per item ("Naam en Geboortedatum", ...)
    asked: tuple[str, ...]
    #: said instead when nothing is asked, or the policy cannot be read
    asked_instead: str
    kept: str
    seen_by: str
    walkin: bool


def kept_words(retention_days: int | None, gettext: Translate) -> str:
    """How long the verified attributes stay: until the call ends, or days after it."""
    if retention_days is None:
        return gettext(KEPT_UNTIL_END)
    if retention_days == 1:
        return gettext(KEPT_ONE_DAY)
    return gettext(KEPT_DAYS) % {"days": retention_days}


def seen_by_words(purpose: PurposeFacts, gettext: Translate) -> str:
    """Who can see the verified attributes: the call's specialist, one of this many."""
    words = gettext(SEEN_BY) % {"purpose": purpose.name}
    if purpose.specialists == 1:
        return f"{words} {gettext(SEEN_BY_ONE)}"
    if purpose.specialists > 1:
        return f"{words} {gettext(SEEN_BY_MANY) % {'count': purpose.specialists}}"
    return words


def purpose_statements(
    facts: Sequence[PurposeFacts], language: str, gettext: Translate
) -> list[PurposeStatement]:
    """Per active purpose, what Balie asks and keeps, from its disclosure policy and
    retention (the same labels the resident sees before the identity step)."""
    found = []
    for purpose in facts:
        labels = identity_labels(purpose.key, purpose.disclosure, language)
        if labels is None:
            asked: tuple[str, ...] = ()
            instead = gettext(UNREADABLE)
        else:
            asked = tuple(str(label["label"]) for label in labels)
            instead = "" if asked else gettext(NOTHING_ASKED)
        found.append(
            PurposeStatement(
                key=purpose.key,
                name=purpose.name,
                asked=asked,
                asked_instead=instead,
                kept=kept_words(purpose.retention_days, gettext) if asked else "",
                seen_by=seen_by_words(purpose, gettext) if asked else "",
                walkin=purpose.walkin,
            )
        )
    return found


def status_sentence(status: AccessibilityStatus, name: str, gettext: Translate) -> str:
    return gettext(STATUS_SENTENCES[status]) % {"name": name}


def date_words(day: date, language: str) -> str:
    """``1 december 2026``: the weekday left out, the year put in."""
    return f"{day_words(day, language).split(' ', 1)[1]} {day.year}"
