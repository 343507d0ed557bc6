"""The administrator's choice of which Dutch public holidays close booking: the fieldset
"Feestdagen voor afspraken" on the municipality's page, read into :class:`HolidayRules`.

Pure: no database, no web framework. Every question is a radio group, so a posted value
outside its choices was not typed by a person (an old page, or a hand-made request); it is
still refused with a message per question (:class:`HolidaysInvalid`), never guessed.
The rules themselves, and their stored form, are :mod:`server.core.holidays`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from server.core.holidays import HolidayRules, LiberationDay
from server.core.language import N_
from server.municipality.errors import FieldProblem, HolidaysInvalid

#: the form's field names (also the ids of each group's first radio, which the error summary
#: links to)
CLOSE: Final = "holidays_close"
LIBERATION: Final = "liberation_day"
GOOD_FRIDAY: Final = "good_friday"
FIELDS: Final = (CLOSE, LIBERATION, GOOD_FRIDAY)

_CLOSED: Final = "dicht"
_OPEN: Final = "open"

#: each question's choices, value → label, the closing one first as in every group
CLOSING_CHOICES: Final = {
    _CLOSED: N_("Ja, dicht: op feestdagen kan niemand een afspraak maken"),
    _OPEN: N_("Nee, open: feestdagen zijn gewone werkdagen"),
}
LIBERATION_CHOICES: Final = {
    LiberationDay.EVERY_YEAR.value: N_("Elk jaar dicht (zoals in de cao Gemeenten)"),
    LiberationDay.LUSTRUM.value: N_("Om de 5 jaar dicht: in 2025, 2030, 2035 en zo verder"),
    LiberationDay.NEVER.value: N_("Nooit dicht: 5 mei is een gewone werkdag"),
}
GOOD_FRIDAY_CHOICES: Final = {
    _CLOSED: N_("Dicht: geen afspraken op Goede Vrijdag"),
    _OPEN: N_("Open: Goede Vrijdag is een gewone werkdag"),
}

CHOOSE_CLOSE: Final = N_("Kies of inwoners op feestdagen een afspraak kunnen maken.")
CHOOSE_LIBERATION: Final = N_(
    "Kies of Bevrijdingsdag elk jaar, om de 5 jaar of nooit dicht is voor afspraken."
)
CHOOSE_GOOD_FRIDAY: Final = N_("Kies of inwoners op Goede Vrijdag een afspraak kunnen maken.")


def form_values(rules: HolidayRules) -> dict[str, str]:
    """The fieldset's radios checked as ``rules`` say."""
    return {
        CLOSE: _CLOSED if rules.close else _OPEN,
        LIBERATION: rules.liberation_day.value,
        GOOD_FRIDAY: _CLOSED if rules.good_friday else _OPEN,
    }


def from_form(form: Mapping[str, str]) -> HolidayRules:
    """The rules in the posted ``form``, or :class:`HolidaysInvalid` naming every question
    without one of its choices (all three are asked even when holidays are open: the radios
    always send one, and the rules keep them for the day they close again)."""
    problems: dict[str, FieldProblem] = {}
    for name, choices, message in (
        (CLOSE, CLOSING_CHOICES, CHOOSE_CLOSE),
        (LIBERATION, LIBERATION_CHOICES, CHOOSE_LIBERATION),
        (GOOD_FRIDAY, GOOD_FRIDAY_CHOICES, CHOOSE_GOOD_FRIDAY),
    ):
        if form.get(name, "") not in choices:
            problems[name] = FieldProblem(message)
    if problems:
        raise HolidaysInvalid(problems)
    return HolidayRules(
        close=form[CLOSE] == _CLOSED,
        liberation_day=LiberationDay(form[LIBERATION]),
        good_friday=form[GOOD_FRIDAY] == _CLOSED,
    )
