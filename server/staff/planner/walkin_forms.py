"""The walk-in counter's settings form ("Inloopbalie"): read, check, say what is wrong.

Pure functions of the submitted fields, like :mod:`server.staff.planner.forms`: a form with
an error changes nothing, because the handler saves only a :class:`Counter` this parser
returned without errors. Each error's key is the id of the input it is about (the error
summary links to it), and each message starts with the field's name as the page labels it
("Maandag: 12:00-09:00 eindigt vóór het begint.").

The texts a planner types:

- **a weekday**: ranges ``09:00-12:00, 13:00-16:00`` (a comma or semicolon between ranges;
  ``-``, ``–`` or ``—`` inside one; ``9:00`` is ``09:00``); empty: closed that weekday.
- **exceptions**, one line a date: ``2026-12-24 09:00-12:00`` (open with these hours, which
  replace the weekday's and a public holiday's) or ``2026-12-31 dicht`` (closed).

:func:`counter_values` writes a stored counter back in exactly these forms, so an unchanged
form saves the same counter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from itertools import pairwise
from typing import Final

from server.core.dates import parse_date
from server.core.language import N_
from server.staff.planner.forms import WEEKDAYS, Checked, Form, Translate
from server.walkin.counters import DEFAULT_HANDLING, Counter
from server.walkin.errors import InvalidHours
from server.walkin.hours import (
    DateException,
    ExceptionKind,
    HolidayRules,
    LiberationDay,
    OpeningHours,
    TimeRange,
)

#: the input ids (and names) of the form
WEEKDAY_FIELDS: Final = tuple(f"dag-{n}" for n in range(7))
HOLIDAYS: Final = "feestdagen"
LIBERATION: Final = "bevrijdingsdag"
GOOD_FRIDAY: Final = "goede-vrijdag"
EXCEPTIONS: Final = "uitzonderingen"
MAX_WAITING: Final = "max-wachtenden"
MAX_WAIT: Final = "max-wachttijd"
HANDLING: Final = "gespreksduur"

#: the two answers of "close on public holidays"
HOLIDAY_CHOICES: Final = {
    "dicht": N_("Dicht op feestdagen, tenzij u hieronder voor die datum iets anders instelt"),
    "open": N_("Open op feestdagen, met de gewone tijden van die weekdag"),
}
#: 5 May: the stored value by the radio's value
LIBERATION_CHOICES: Final = {
    LiberationDay.EVERY_YEAR.value: N_("Elk jaar dicht"),
    LiberationDay.LUSTRUM.value: N_("Alleen dicht in lustrumjaren (2025, 2030, …)"),
    LiberationDay.NEVER.value: N_("Nooit dicht"),
}
#: the words that make an exception line a closed day
CLOSED_WORDS: Final = frozenset({"dicht", "gesloten", "closed"})
#: what an exception line says for a closed day when the page writes it back
CLOSED_WORD: Final = "dicht"

#: limits of what a form may hold: far beyond any real counter, and a bound on the work
MAX_EXCEPTION_LINES: Final = 200
MAX_FIELD: Final = 200
MAX_TEXTAREA: Final = 8000
MOST_WAITING: Final = 999
LONGEST_WAIT: Final = 8 * 60
LONGEST_HANDLING: Final = 4 * 60

_TIME: Final = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")
_DASH: Final = re.compile(r"\s*[-–—]\s*")
_SEPARATOR: Final = re.compile(r"[,;]")
_NUMBER: Final = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True, slots=True)
class _Range:
    written: str  #: as the planner wrote it, for the message
    start: time
    end: time


def _show(start: time, end: time) -> str:
    return f"{start:%H:%M}-{end:%H:%M}"


def _time(raw: str) -> time | None:
    found = _TIME.fullmatch(raw.strip())
    return None if found is None else time(int(found.group(1)), int(found.group(2)))


def parse_ranges(
    raw: str, where: str, gettext: Translate = N_
) -> tuple[tuple[TimeRange, ...] | None, str]:
    """The ranges of one weekday or one date, sorted; or None and a message that starts
    with ``where`` (already in the page's language)."""
    ranges: list[_Range] = []
    what = {"where": where}
    for piece in _SEPARATOR.split(raw):
        written = piece.strip()
        if not written:
            continue
        parts = _DASH.split(written)
        times = [_time(part) for part in parts] if len(parts) == 2 else [None]
        if len(parts) != 2 or times[0] is None or times[1] is None:
            return None, gettext(
                "%(where)s: „%(written)s” is geen tijd van–tot. Schrijf bijvoorbeeld "
                "09:00-12:00, en meer tijden met een komma ertussen: 09:00-12:00, 13:00-16:00."
            ) % (what | {"written": written[:40]})
        start, end = times[0], times[1]
        if end < start:
            return None, gettext("%(where)s: %(range)s eindigt vóór het begint.") % (
                what | {"range": _show(start, end)}
            )
        if end == start:
            return None, gettext(
                "%(where)s: %(range)s begint en eindigt op dezelfde tijd. "
                "De eindtijd moet later zijn dan de begintijd."
            ) % (what | {"range": _show(start, end)})
        ranges.append(_Range(written, start, end))
    ranges.sort(key=lambda one: (one.start, one.end))
    for one, other in pairwise(ranges):
        if other.start < one.end:
            return None, gettext("%(where)s: %(first)s en %(second)s overlappen.") % (
                what | {"first": _show(one.start, one.end), "second": _show(other.start, other.end)}
            )
    return tuple((one.start, one.end) for one in ranges), ""


def _exceptions(raw: str, checked: Checked, gettext: Translate) -> tuple[DateException, ...]:
    field = gettext("Uitzonderingen")
    lines = raw.splitlines()
    if len([line for line in lines if line.strip()]) > MAX_EXCEPTION_LINES:
        checked.fail(
            EXCEPTIONS,
            gettext("%(field)s: hoogstens %(count)d regels.")
            % {"field": field, "count": MAX_EXCEPTION_LINES},
        )
        return ()
    found: dict[date, DateException] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text:
            continue
        what = {"field": field, "line": number}
        day_text, *others = text.split(None, 1)
        rest = others[0].strip() if others else ""
        day = parse_date(day_text)
        if day is None:
            checked.fail(
                EXCEPTIONS,
                gettext(
                    "%(field)s, regel %(line)d: „%(written)s” is geen datum. Begin de regel met "
                    "de datum als jjjj-mm-dd, bijvoorbeeld 2026-12-24 09:00-12:00 of "
                    "2026-12-31 dicht."
                )
                % (what | {"written": day_text[:20]}),
            )
            return ()
        where = f"{field}, {day.isoformat()}"
        if day in found:
            checked.fail(
                EXCEPTIONS,
                gettext("%(where)s: deze datum staat er twee keer in. Zet elke datum op één regel.")
                % {"where": where},
            )
            return ()
        if rest.casefold() in CLOSED_WORDS:
            found[day] = DateException(day, ExceptionKind.CLOSED)
            continue
        ranges, message = parse_ranges(rest, where, gettext) if rest else ((), "")
        if ranges == ():
            checked.fail(
                EXCEPTIONS,
                gettext(
                    "%(where)s: zet achter de datum de tijden (09:00-12:00) of het woord dicht."
                )
                % {"where": where},
            )
            return ()
        if ranges is None:
            checked.fail(EXCEPTIONS, message)
            return ()
        found[day] = DateException(day, ExceptionKind.OPEN, ranges)
    return tuple(found[day] for day in sorted(found))


def _minutes(
    checked: Checked,
    input_id: str,
    label: str,
    *,
    required: bool,
    most: int,
    gettext: Translate,
) -> int | None:
    """A whole number from 1 to ``most`` (empty: None, unless ``required``)."""
    raw = checked.values[input_id].strip()
    if not raw:
        if required:
            checked.fail(input_id, gettext("%(field)s: vul een getal in.") % {"field": label})
        return None
    if not _NUMBER.fullmatch(raw) or not 1 <= int(raw) <= most:
        checked.fail(
            input_id,
            gettext("%(field)s: vul een heel getal van 1 tot en met %(most)d in.")
            % {"field": label, "most": most}
            + ("" if required else " " + gettext("Leeg laten kan ook: dan is er geen grens.")),
        )
        return None
    return int(raw)


#: the labels of the number fields, as the page shows them (and messages name them)
NUMBER_LABELS: Final = {
    MAX_WAITING: N_("Hoogstens zoveel inwoners tegelijk in de wachtrij"),
    MAX_WAIT: N_("Langste verwachte wachttijd (minuten)"),
    HANDLING: N_("Gemiddelde duur van een gesprek (minuten)"),
}


def parse_counter(
    purpose: str, form: Form, gettext: Translate = N_
) -> tuple[Counter | None, Checked]:
    """The whole form: the counter to save, or None and what is wrong (every field checked,
    so the planner sees all problems at once)."""
    checked = Checked()
    for name in (
        *WEEKDAY_FIELDS,
        HOLIDAYS,
        LIBERATION,
        GOOD_FRIDAY,
        MAX_WAITING,
        MAX_WAIT,
        HANDLING,
    ):
        checked.values[name] = form.get(name, "")[:MAX_FIELD]
    checked.values[EXCEPTIONS] = form.get(EXCEPTIONS, "")[:MAX_TEXTAREA]

    weekly: list[tuple[TimeRange, ...]] = []
    for input_id, day_name in zip(WEEKDAY_FIELDS, WEEKDAYS, strict=True):
        ranges, message = parse_ranges(checked.values[input_id], gettext(day_name), gettext)
        if ranges is None:
            checked.fail(input_id, message)
        weekly.append(ranges or ())

    if checked.values[HOLIDAYS] not in HOLIDAY_CHOICES:
        checked.fail(
            f"{HOLIDAYS}-dicht",
            gettext("Feestdagen: kies of de inloopbalie op feestdagen dicht of open is."),
        )
    if checked.values[LIBERATION] not in LIBERATION_CHOICES:
        checked.fail(
            f"{LIBERATION}-{LiberationDay.EVERY_YEAR.value}",
            gettext("Bevrijdingsdag: kies elk jaar dicht, alleen in lustrumjaren, of nooit."),
        )
    if checked.values[GOOD_FRIDAY] not in ("", "ja"):
        checked.fail(GOOD_FRIDAY, gettext("Goede Vrijdag: vink aan of laat leeg."))

    exceptions = _exceptions(checked.values[EXCEPTIONS], checked, gettext)

    numbers = {
        input_id: _minutes(
            checked,
            input_id,
            gettext(NUMBER_LABELS[input_id]),
            required=input_id == HANDLING,
            most=most,
            gettext=gettext,
        )
        for input_id, most in (
            (MAX_WAITING, MOST_WAITING),
            (MAX_WAIT, LONGEST_WAIT),
            (HANDLING, LONGEST_HANDLING),
        )
    }
    if checked.errors:
        return None, checked
    try:
        hours = OpeningHours(
            weekly=tuple(weekly),
            exceptions=exceptions,
            holidays=HolidayRules(
                close=checked.values[HOLIDAYS] == "dicht",
                liberation_day=LiberationDay(checked.values[LIBERATION]),
                good_friday=checked.values[GOOD_FRIDAY] == "ja",
            ),
        )
    except InvalidHours:  # pragma: no cover - every case is refused above, in Dutch
        checked.fail(WEEKDAY_FIELDS[0], gettext("Deze openingstijden kunnen niet."))
        return None, checked
    handling = numbers[HANDLING]
    wait = numbers[MAX_WAIT]
    return (
        Counter(
            purpose=purpose,
            hours=hours,
            max_waiting=numbers[MAX_WAITING],
            max_wait=None if wait is None else timedelta(minutes=wait),
            handling=DEFAULT_HANDLING if handling is None else timedelta(minutes=handling),
        ),
        checked,
    )


def ranges_text(ranges: tuple[TimeRange, ...]) -> str:
    """``09:00-12:00, 13:00-16:00``: ranges as the form takes them."""
    return ", ".join(_show(start, end) for start, end in ranges)


def counter_values(counter: Counter | None) -> dict[str, str]:
    """The form's fields for ``counter`` (None: a purpose without a counter yet, with the
    defaults: closed every day, holidays closed, a 10-minute conversation)."""
    if counter is None:
        minutes = int(DEFAULT_HANDLING.total_seconds() // 60)
        return {
            HOLIDAYS: "dicht",
            LIBERATION: LiberationDay.EVERY_YEAR.value,
            HANDLING: str(minutes),
        }
    hours = counter.hours
    values = {
        input_id: ranges_text(ranges)
        for input_id, ranges in zip(WEEKDAY_FIELDS, hours.weekly, strict=True)
    }
    values[HOLIDAYS] = "dicht" if hours.holidays.close else "open"
    values[LIBERATION] = hours.holidays.liberation_day.value
    values[GOOD_FRIDAY] = "ja" if hours.holidays.good_friday else ""
    values[EXCEPTIONS] = "\n".join(
        f"{item.day.isoformat()} "
        + (CLOSED_WORD if item.kind is ExceptionKind.CLOSED else ranges_text(item.ranges))
        for item in hours.exceptions
    )
    values[MAX_WAITING] = "" if counter.max_waiting is None else str(counter.max_waiting)
    values[MAX_WAIT] = (
        "" if counter.max_wait is None else str(int(counter.max_wait.total_seconds() // 60))
    )
    values[HANDLING] = str(int(counter.handling.total_seconds() // 60))
    return values
