"""server/core/holidays.py: the closing rules, their stored form, and purity. The walk-in
counter's use of them is tested in tests/server/walkin/test_hours.py, booking's in
tests/server/booking/test_slots_holidays.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from server.core.holidays import (
    DEFAULT_RULES,
    BadHolidayData,
    HolidayRules,
    InvalidHolidayRules,
    LiberationDay,
    closing_holiday,
    from_data,
    public_holiday,
    stored_rules,
    to_data,
)
from tests.test_layering import ROOT, imported_modules, loaded_by


def test_the_defaults_close_holidays_and_5_may_but_not_goede_vrijdag() -> None:
    assert DEFAULT_RULES == HolidayRules(True, LiberationDay.EVERY_YEAR, False)
    assert closing_holiday(DEFAULT_RULES, date(2026, 4, 27)) == "Koningsdag"
    assert closing_holiday(DEFAULT_RULES, date(2026, 5, 5)) == "Bevrijdingsdag"
    assert closing_holiday(DEFAULT_RULES, date(2026, 4, 3)) is None  # Goede vrijdag
    assert closing_holiday(DEFAULT_RULES, date(2027, 12, 27)) is None  # no substitute day
    assert closing_holiday(HolidayRules(close=False), date(2026, 12, 25)) is None


def test_a_planner_sees_every_holiday_a_rule_could_close() -> None:
    assert public_holiday(date(2026, 4, 3)) == "Goede vrijdag"
    assert public_holiday(date(2026, 5, 5)) == "Bevrijdingsdag"
    assert public_holiday(date(2026, 4, 28)) is None


@pytest.mark.parametrize(
    "rules",
    [
        DEFAULT_RULES,
        HolidayRules(close=False),
        HolidayRules(liberation_day=LiberationDay.LUSTRUM, good_friday=True),
        HolidayRules(liberation_day=LiberationDay.NEVER),
    ],
)
def test_the_stored_form_reads_back_equal(rules: HolidayRules) -> None:
    assert from_data(to_data(rules)) == rules
    assert stored_rules(to_data(rules)) == rules


def test_no_stored_rules_are_the_defaults() -> None:
    assert stored_rules(None) is DEFAULT_RULES


GOOD = {"close": True, "liberation_day": "every-year", "good_friday": False}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ([], "holidays"),
        (GOOD | {"colour": "blue"}, "holidays.colour"),
        ({k: v for k, v in GOOD.items() if k != "close"}, "holidays.close"),
        (GOOD | {"close": 1}, "holidays.close"),
        (GOOD | {"close": "yes"}, "holidays.close"),
        (GOOD | {"liberation_day": "sometimes"}, "holidays.liberation_day"),
        (GOOD | {"good_friday": None}, "holidays.good_friday"),
    ],
)
def test_a_malformed_stored_form_is_refused_naming_where(data: object, where: str) -> None:
    with pytest.raises(BadHolidayData) as refused:
        from_data(data)
    assert refused.value.where == where
    assert str(refused.value).startswith(f"{where}: ")
    assert from_data(GOOD) == DEFAULT_RULES  # so each case fails for its own change only


@pytest.mark.parametrize(
    ("build", "where"),
    [
        (lambda: HolidayRules(close="yes"), "holidays.close"),  # type: ignore[arg-type]
        (lambda: HolidayRules(liberation_day="lustrum"), "holidays.liberation_day"),  # type: ignore[arg-type]
        (lambda: HolidayRules(good_friday=None), "holidays.good_friday"),  # type: ignore[arg-type]
    ],
)
def test_impossible_rules_are_refused_naming_the_key(
    build: Callable[[], object], where: str
) -> None:
    with pytest.raises(ValueError) as refused:  # bad input is a ValueError too
        build()
    assert type(refused.value) is InvalidHolidayRules
    assert refused.value.where == where


def test_the_module_is_free_of_io() -> None:
    imported = imported_modules(ROOT / "server" / "core" / "holidays.py")
    assert {name for name in imported if name.split(".")[0] in ("server", "sqlalchemy")} == set()
    assert loaded_by(ROOT, ["server.core.holidays"], ["aiohttp", "sqlalchemy"]) == []
