"""Dates and times as a resident reads them: "dinsdag 1 december om 10:15".

Written out by hand rather than through the C library's locale, which differs per machine
(and is often missing in containers). Times are shown in Europe/Amsterdam.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Final

from server.core.clock import AMSTERDAM

_DAYS: Final = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS: Final = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def day_words(day: date, language: str = "nl") -> str:
    """``dinsdag 1 december``."""
    days, months = _DAYS[language], _MONTHS[language]
    return f"{days[day.weekday()]} {day.day} {months[day.month - 1]}"


def short_day_words(day: date, language: str = "nl") -> str:
    """``di 1 dec`` (English: ``Tue 1 Dec``): for tables where space is short (the
    planner's week view)."""
    name = day_words(day, language)
    weekday, number, month = name.split(" ")
    if language == "en":
        return f"{weekday[:3]} {number} {month[:3]}"
    # Dutch abbreviates "maart" as "mrt"; the rest take their first three letters
    short_month = "mrt" if month == "maart" else month[:3]
    return f"{weekday[:2]} {number} {short_month}"


def clock_words(moment: datetime) -> str:
    """``10:15``, in Amsterdam."""
    return moment.astimezone(AMSTERDAM).strftime("%H:%M")


def when_words(moment: datetime, language: str = "nl") -> str:
    """``dinsdag 1 december om 10:15``, in Amsterdam."""
    local = moment.astimezone(AMSTERDAM)
    at = "at" if language == "en" else "om"
    return f"{day_words(local.date(), language)} {at} {clock_words(local)}"


def local_day(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())
