"""The planner console's forms: read, check, and say what is wrong in plain language.

Pure functions of the submitted fields, so a form with an error changes nothing: the
handler writes only what a parser returned without errors. Messages name the field the way
the page labels it (B1 Dutch, marked for translation; the parsers take the request's
``gettext``) and each error's key is the id of the input it is about, so the error summary
links to it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Final

from server.booking.model import WeeklyRule
from server.core.dates import parse_date
from server.core.language import N_

WEEKDAYS: Final = (
    N_("Maandag"),
    N_("Dinsdag"),
    N_("Woensdag"),
    N_("Donderdag"),
    N_("Vrijdag"),
    N_("Zaterdag"),
    N_("Zondag"),
)
#: weekly blocks a form offers per weekday (a morning, an afternoon, an evening)
BLOCKS: Final = 3
#: the longest run of days one exception form adds (a long holiday)
MAX_EXCEPTION_DAYS: Final = 62
#: reasons a planner may record; a fixed list, so a free-text field never becomes a place
#: to write why someone is sick (health data of staff)
#: (the Dutch label is stored with the exception; pages show it through ``gettext``)
REASONS: Final = {
    "vrij": N_("Vrij of vakantie"),
    "afwezig": N_("Afwezig"),
    "feestdag": N_("Feestdag"),
    "opleiding": N_("Opleiding of overleg"),
    "extra": N_("Extra spreekuur"),
}
KINDS: Final = {"closed": N_("Niet beschikbaar"), "extra": N_("Extra uren")}

_TIME: Final = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")

Form = Mapping[str, str]
#: translates a Dutch message into the request's language (``N_``: stays Dutch)
Translate = Callable[[str], str]


@dataclass
class Checked:
    """What a parser found: errors by input id, and the values as typed (to show again)."""

    errors: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)

    def fail(self, input_id: str, message: str) -> None:
        self.errors.setdefault(input_id, message)


def hours_field(weekday: int, block: int, end: str) -> str:
    """The input name (and id) of one time in the weekly hours form: ``h-0-1-start``."""
    return f"h-{weekday}-{block}-{end}"


def parse_time(raw: str) -> time | None:
    found = _TIME.fullmatch(raw.strip())
    return None if found is None else time(int(found.group(1)), int(found.group(2)))


def parse_hours(form: Form, gettext: Translate = N_) -> tuple[list[WeeklyRule], Checked]:
    """The weekly hours form: up to :data:`BLOCKS` blocks per weekday, none overlapping."""
    checked = Checked()
    blocks: list[WeeklyRule] = []
    for weekday, day_name in enumerate(WEEKDAYS):
        day: list[tuple[int, WeeklyRule]] = []
        for block in range(BLOCKS):
            start_id, end_id = (
                hours_field(weekday, block, "start"),
                hours_field(weekday, block, "end"),
            )
            raw_start, raw_end = form.get(start_id, "")[:8], form.get(end_id, "")[:8]
            checked.values[start_id], checked.values[end_id] = raw_start, raw_end
            what = {"day": gettext(day_name), "block": block + 1}
            if not raw_start.strip() and not raw_end.strip():
                continue
            if not raw_start.strip() or not raw_end.strip():
                missing = start_id if not raw_start.strip() else end_id
                checked.fail(
                    missing,
                    gettext(
                        "%(day)s, blok %(block)d: vul een begintijd én een eindtijd in, "
                        "of geen van beide."
                    )
                    % what,
                )
                continue
            start, end = parse_time(raw_start), parse_time(raw_end)
            if start is None or end is None:
                wrong = start_id if start is None else end_id
                checked.fail(
                    wrong,
                    gettext(
                        "%(day)s, blok %(block)d: schrijf de tijd als uu:mm, bijvoorbeeld 09:00."
                    )
                    % what,
                )
                continue
            if end <= start:
                checked.fail(
                    end_id,
                    gettext(
                        "%(day)s, blok %(block)d: de eindtijd moet later zijn dan de begintijd."
                    )
                    % what,
                )
                continue
            day.append((block, WeeklyRule(weekday, start, end)))
        day.sort(key=lambda item: item[1].start)
        for (_, earlier), (block, later) in itertools.pairwise(day):
            if later.start < earlier.end:
                checked.fail(
                    hours_field(weekday, block, "start"),
                    gettext(
                        "%(day)s: twee blokken overlappen. Laat het ene blok eindigen "
                        "voordat het volgende begint."
                    )
                    % {"day": gettext(day_name)},
                )
        blocks.extend(hours for _, hours in day)
    return blocks, checked


@dataclass(frozen=True, slots=True)
class ExceptionInput:
    days: tuple[date, ...]
    kind: str
    hours: tuple[time, time] | None
    reason: str  #: the label, as stored and shown by explain()


def parse_exception(
    form: Form, today: date, gettext: Translate = N_
) -> tuple[ExceptionInput | None, Checked]:
    """The exception form: a first day, an optional last day, closed or extra, the hours
    (needed for extra hours, optional for closed: empty is the whole day) and a reason."""
    checked = Checked()
    for name in ("first_day", "last_day", "kind", "start", "end", "reason"):
        checked.values[name] = form.get(name, "")[:16]
    first = parse_date(checked.values["first_day"])
    if not checked.values["first_day"].strip():
        checked.fail("first_day", gettext("Vul de eerste dag in."))
    elif first is None:
        checked.fail(
            "first_day",
            gettext("Schrijf de eerste dag als jjjj-mm-dd, bijvoorbeeld 2026-04-27."),
        )
    elif first < today:
        checked.fail(
            "first_day", gettext("De eerste dag ligt in het verleden. Kies vandaag of later.")
        )
    last = first
    if checked.values["last_day"].strip():
        last = parse_date(checked.values["last_day"])
        if last is None:
            checked.fail(
                "last_day",
                gettext("Schrijf de laatste dag als jjjj-mm-dd, of laat het veld leeg."),
            )
        elif first is not None and last < first:
            checked.fail("last_day", gettext("De laatste dag ligt vóór de eerste dag."))
        elif first is not None and (last - first).days >= MAX_EXCEPTION_DAYS:
            checked.fail(
                "last_day",
                gettext("Kies hoogstens %(days)d dagen tegelijk.") % {"days": MAX_EXCEPTION_DAYS},
            )
    kind = checked.values["kind"]
    if kind not in KINDS:
        checked.fail(
            "kind-closed",
            gettext("Kies of de medewerker niet beschikbaar is of extra uren heeft."),
        )
    reason = REASONS.get(checked.values["reason"])
    if reason is None:
        checked.fail("reason", gettext("Kies een reden."))
    raw_start, raw_end = checked.values["start"].strip(), checked.values["end"].strip()
    hours: tuple[time, time] | None = None
    if raw_start or raw_end:
        start, end = parse_time(raw_start), parse_time(raw_end)
        if not raw_start or not raw_end:
            checked.fail(
                "start" if not raw_start else "end",
                gettext("Vul een begintijd én een eindtijd in, of geen van beide."),
            )
        elif start is None or end is None:
            checked.fail(
                "start" if start is None else "end",
                gettext("Schrijf de tijd als uu:mm, bijvoorbeeld 09:00."),
            )
        elif end <= start:
            checked.fail("end", gettext("De eindtijd moet later zijn dan de begintijd."))
        else:
            hours = (start, end)
    elif kind == "extra":
        checked.fail("start", gettext("Extra uren hebben een begintijd en een eindtijd nodig."))
    if checked.errors or first is None or last is None or reason is None:
        return None, checked
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    return ExceptionInput(days, kind, hours, reason), checked
