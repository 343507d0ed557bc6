"""Dutch public holidays: which ones close a municipality's counter, and their stored form.

Pure: no database, no clock, no web framework. The walk-in counter (:mod:`server.walkin.hours`)
and the booking slot engine (:mod:`server.booking.slots`) both ask :func:`closing_holiday`,
so a day closed to walk-ins is closed to bookings by the same rules.

**Holidays** come from the ``holidays`` package, never hand-coded rules: its Dutch public list
knows Easter, Ascension and Whitsun, and that Koningsdag moves to Saturday 26 April when 27
April is a Sunday (2025, 2031, 2036). A holiday takes away the hours of a day that has hours;
a holiday on a weekday without hours changes nothing (a counter open Monday to Friday loses
no day to Koningsdag in those years), and a caller should name no holiday as the reason
either: "closed on Saturdays" is the truer answer. Two days are a choice, because the
package and municipal practice differ:

- **Bevrijdingsdag (5 May)**. The Algemene termijnenwet names it every year; the package has
  it every year in its *optional* category but in its *public* list only in years divisible
  by 5 (what most collective agreements give). For municipalities that is out of date: the
  CAO Gemeenten 2023 (art. 6.6) makes 5 May a paid day off for all municipal staff every
  year from 2024. So the default is :attr:`LiberationDay.EVERY_YEAR`; ``LUSTRUM`` closes
  only in 2025, 2030, ...; ``NEVER`` opens every 5 May.
- **Goede vrijdag**. In the package's public list (its optional one in older releases), but
  neither in the Algemene termijnenwet nor among the CAO Gemeenten's days off: it closes
  only with ``good_friday=True``.

A municipality's own closing days (the CAO Gemeenten lets it name up to two, such as the
Friday after Hemelvaartsdag) are closed exceptions of the counter or the staff member; how
a municipality opens on a holiday is a dated exception too (walk-in: an OPEN exception;
booking: a staff member's EXTRA hours). Holidays are named in Dutch.

**The stored form** (:func:`to_data`, :func:`from_data`, which checks it) is the JSON object
``{"close": true, "liberation_day": "every-year", "good_friday": false}``: the walk-in hours
keep it under ``holidays``, a tenant's booking rules in ``tenants.holidays`` (NULL there
means :data:`DEFAULT_RULES`).

Errors: :class:`InvalidHolidayRules` (also a ValueError) for rules that cannot be, with
:class:`BadHolidayData` below it for a malformed stored form; ``where`` names the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Final, NoReturn, TypeVar

from holidays import country_holidays
from holidays.constants import OPTIONAL, PUBLIC

# The two holidays that are a choice, found by their Dutch names in the package's lists;
# compared casefolded, because the package's capitals changed between releases.
_LIBERATION_DAY: Final = "bevrijdingsdag"
_GOOD_FRIDAY: Final = "goede vrijdag"

V = TypeVar("V")


class InvalidHolidayRules(ValueError):
    """Holiday rules that cannot be; ``where`` names the key ("holidays.close")."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__(message)
        self.where = where


class BadHolidayData(InvalidHolidayRules):
    """The stored form of holiday rules is malformed: not what :func:`to_data` writes."""


class LiberationDay(StrEnum):
    """Whether 5 May (Bevrijdingsdag) closes; see the module docstring."""

    EVERY_YEAR = "every-year"  #: closed every 5 May (CAO Gemeenten since 2024; the default)
    LUSTRUM = "lustrum"  #: closed only in years divisible by 5: 2025, 2030, ...
    NEVER = "never"  #: open as on any other day with hours


@dataclass(frozen=True, slots=True)
class HolidayRules:
    """Which Dutch public holidays close a counter (walk-in) or a tenant's booking."""

    #: public holidays close a day that has hours; False: holidays are ordinary days
    close: bool = True
    #: whether 5 May closes it (only when ``close``)
    liberation_day: LiberationDay = LiberationDay.EVERY_YEAR
    #: whether Goede vrijdag closes it (only when ``close``)
    good_friday: bool = False

    def __post_init__(self) -> None:
        kinds = {"close": bool, "liberation_day": LiberationDay, "good_friday": bool}
        for name, kind in kinds.items():
            if not isinstance(value := getattr(self, name), kind):
                raise InvalidHolidayRules(
                    f"holidays.{name}: {value!r} is not a {kind.__name__}", f"holidays.{name}"
                )


#: what a tenant without rules of its own gets (``tenants.holidays`` NULL)
DEFAULT_RULES: Final = HolidayRules()


@lru_cache(maxsize=64)
def _dutch_holidays(year: int) -> tuple[tuple[date, tuple[str, ...]], ...]:
    """The package's Dutch public holidays of ``year``, plus the two optional days that are a
    choice here (any other optional day is ignored: it is not an official holiday), as
    (date, names) in date order; one date can carry two (5 May 2016 was Hemelvaartsdag)."""
    names: dict[date, dict[str, str]] = {}  # date -> casefolded name -> name
    for category, wanted in ((PUBLIC, None), (OPTIONAL, (_LIBERATION_DAY, _GOOD_FRIDAY))):
        found = country_holidays("NL", years=year, categories=category, language="nl")
        for day in found:
            for name in found.get_list(day):
                if wanted is None or name.casefold() in wanted:
                    # 5 May is in both lists in lustrum years: keep it once
                    names.setdefault(day, {}).setdefault(name.casefold(), name)
    return tuple((day, tuple(names[day].values())) for day in sorted(names))


def _closes(rules: HolidayRules, name: str, year: int) -> bool:
    key = name.casefold()
    if key == _LIBERATION_DAY:
        # LUSTRUM is a collective agreement's rule, not a holiday rule: every fifth year
        return rules.liberation_day is LiberationDay.EVERY_YEAR or (
            rules.liberation_day is LiberationDay.LUSTRUM and year % 5 == 0
        )
    if key == _GOOD_FRIDAY:
        return rules.good_friday
    return True


@lru_cache(maxsize=256)
def closing_holidays(rules: HolidayRules, year: int) -> Mapping[date, str]:
    """The dates of ``year`` on which a public holiday closes, under these rules, with the
    holiday's Dutch name (two joined by ", ")."""
    if not rules.close:
        return MappingProxyType({})
    found = {}
    for day, names in _dutch_holidays(year):
        kept = [name for name in names if _closes(rules, name, year)]
        if kept:
            found[day] = ", ".join(kept)
    return MappingProxyType(found)


def closing_holiday(rules: HolidayRules, day: date) -> str | None:
    """The Dutch name of the public holiday that closes ``day`` under these rules, or None."""
    return closing_holidays(rules, day.year).get(day)


def public_holiday(day: date) -> str | None:
    """The Dutch name of any holiday on ``day`` that rules could close (whatever a tenant
    chose), or None: what a planner's calendar marks."""
    for found, names in _dutch_holidays(day.year):
        if found == day:
            return ", ".join(names)
    return None


# --- the stored form ----------------------------------------------------------------------

_KEYS: Final = ("close", "liberation_day", "good_friday")


def to_data(rules: HolidayRules) -> dict[str, object]:
    """``rules`` as plain JSON values; :func:`from_data` reads them back equal."""
    return {
        "close": rules.close,
        "liberation_day": rules.liberation_day.value,
        "good_friday": rules.good_friday,
    }


def _refuse(where: str, problem: str) -> NoReturn:
    raise BadHolidayData(f"{where}: {problem}", where)


def _one_of(values: Iterable[V], value: object, where: str) -> V:
    for allowed in values:  # by type too: 1 is not true
        if type(value) is type(allowed) and value == allowed:
            return allowed
    _refuse(where, f"{value!r} is not one of {', '.join(repr(v) for v in values)}")


def from_data(data: object, where: str = "holidays") -> HolidayRules:
    """Holiday rules from the form :func:`to_data` writes, checked: anything else raises
    :class:`BadHolidayData` naming the key (``where`` is the object's own place)."""
    if not isinstance(data, dict):
        _refuse(where, f"{type(data).__name__} is not an object")
    for key in data:
        if key not in _KEYS:
            _refuse(f"{where}.{key}", "not a key of the stored form")
    for key in _KEYS:
        if key not in data:
            _refuse(f"{where}.{key}", "missing")
    liberation = _one_of(
        tuple(member.value for member in LiberationDay),
        data["liberation_day"],
        f"{where}.liberation_day",
    )
    return HolidayRules(
        close=_one_of((True, False), data["close"], f"{where}.close"),
        liberation_day=LiberationDay(liberation),
        good_friday=_one_of((True, False), data["good_friday"], f"{where}.good_friday"),
    )


def stored_rules(data: object) -> HolidayRules:
    """A tenant's ``tenants.holidays`` column: NULL is :data:`DEFAULT_RULES`."""
    return DEFAULT_RULES if data is None else from_data(data)
