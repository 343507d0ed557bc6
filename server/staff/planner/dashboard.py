"""The numbers: calls, no-shows, waiting time and satisfaction, as charts, tables and CSV."""

from __future__ import annotations

import csv
import io
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final

from aiohttp import web

from server.booking.appointment import (
    AppointmentState,
)
from server.booking.intervals import wall_to_instant
from server.core.clock import AMSTERDAM
from server.core.dates import parse_date
from server.core.language import gettext_for
from server.db.appkeys import ENGINE
from server.staff.auth import requires, staff_principal
from server.staff.model import Role
from server.staff.planner.callback_figures import callback_times, compute_callback_figures
from server.staff.planner.charts import Series, bar_chart
from server.staff.planner.common import (
    DEFAULT_RANGE,
    MAX_RANGE,
    PLANNER_STORE,
    day_label,
    language_code,
    local_today,
    page,
    purposes_of,
)
from server.staff.planner.store import Outcome, Score, Wait
from server.staff.planner.walkin_figures import ALL, compute_figures, ticket_times
from server.walkin.words import CHANNEL_WORDS

log = logging.getLogger("balie.planner")


@dataclass(frozen=True, slots=True)
class Numbers:
    """The dashboard's figures over ``days``: per day, and satisfaction per ISO week and
    purpose. Counts and averages only; nothing that names a person."""

    days: tuple[date, ...]
    calls: tuple[int, ...]
    no_shows: tuple[int, ...]
    #: mean minutes from check-in to admit, None on a day without admits
    wait_minutes: tuple[float | None, ...]
    waits: tuple[int, ...]
    weeks: tuple[str, ...]
    purposes: tuple[str, ...]
    #: (week, purpose) → (mean score, number of scores)
    satisfaction: dict[tuple[str, str], tuple[float, int]]


@dataclass(frozen=True, slots=True)
class DayRow:
    """One day of the dashboard's table, as shown."""

    day: str  #: "ma 2 mrt 2026"
    calls: int
    no_shows: int
    wait: str  #: mean minutes from check-in to admit, written out ("4,5", or "–")
    waits: int  #: how many waits the mean is over


@dataclass(frozen=True, slots=True)
class SatisfactionRow:
    """One week and purpose of the satisfaction table, as shown."""

    week: str  #: "2026-W10"
    purpose: str
    score: str  #: the mean score, written out
    answers: int


@dataclass(frozen=True, slots=True)
class WalkinRow:
    """One purpose and channel of the walk-in table, as shown (docs/walk-in.md, "The planner")."""

    purpose: str
    channel: str
    arrivals: int
    served: int
    left: int
    in_queue: int
    wait_p50: str  #: minutes, written out ("4,5", or "–" when nobody was taken)
    wait_p90: str
    waits: int
    handling_p50: str
    handlings: int


@dataclass(frozen=True, slots=True)
class CallbackRow:
    """One purpose of the call-back table, as shown (docs/walk-in.md, "The planner")."""

    purpose: str
    requested: int
    called: int
    unreachable: int
    expired: int
    open: int
    on_time: int
    on_time_share: str  #: "75%", or "–" while every call-back is still open


#: the purpose key for feedback not tied to a purpose
NO_PURPOSE: Final = "-"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def compute_numbers(
    first: date,
    last: date,
    outcomes: Iterable[Outcome],
    waits: Iterable[Wait],
    scores: Iterable[Score],
) -> Numbers:
    days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
    index = {day: n for n, day in enumerate(days)}
    calls = [0] * len(days)
    no_shows = [0] * len(days)
    for outcome in outcomes:
        n = index.get(outcome.start.astimezone(AMSTERDAM).date())
        if n is None:
            continue
        if outcome.state == AppointmentState.NO_SHOW:
            no_shows[n] += 1
        else:
            calls[n] += 1
    wait_sums = [0.0] * len(days)
    wait_counts = [0] * len(days)
    for wait in waits:
        n = index.get(wait.admitted_at.astimezone(AMSTERDAM).date())
        if n is not None:
            wait_sums[n] += wait.seconds
            wait_counts[n] += 1
    sums: dict[tuple[str, str], list[int]] = defaultdict(list)
    for score in scores:
        day = score.at.astimezone(AMSTERDAM).date()
        if day in index:
            sums[(iso_week(day), score.purpose_key or NO_PURPOSE)].append(score.score)
    weeks = tuple(sorted({iso_week(day) for day in days}))
    return Numbers(
        days=days,
        calls=tuple(calls),
        no_shows=tuple(no_shows),
        wait_minutes=tuple(
            round(total / count / 60, 1) if count else None
            for total, count in zip(wait_sums, wait_counts, strict=True)
        ),
        waits=tuple(wait_counts),
        weeks=weeks,
        purposes=tuple(sorted({purpose for _, purpose in sums})),
        satisfaction={
            key: (round(sum(found) / len(found), 2), len(found)) for key, found in sums.items()
        },
    )


def numbers_csv(numbers: Numbers) -> str:
    """The dashboard's numbers as CSV: ``metric,period,purpose,value,count``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["metric", "period", "purpose", "value", "count"])
    for n, day in enumerate(numbers.days):
        writer.writerow(["calls", day.isoformat(), "", numbers.calls[n], ""])
        writer.writerow(["no_shows", day.isoformat(), "", numbers.no_shows[n], ""])
        wait = numbers.wait_minutes[n]
        writer.writerow(
            [
                "waiting_minutes_avg",
                day.isoformat(),
                "",
                "" if wait is None else wait,
                numbers.waits[n],
            ]
        )
    for week in numbers.weeks:
        for purpose in numbers.purposes:
            found = numbers.satisfaction.get((week, purpose))
            if found is not None:
                writer.writerow(["satisfaction_avg", week, purpose, found[0], found[1]])
    return out.getvalue()


def _decimal(value: float | None, language: str = "nl") -> str:
    """``4,5`` in Dutch, ``4.5`` in English; ``–`` for no value."""
    if value is None:
        return "–"
    written = str(int(value)) if value == int(value) else f"{value:.1f}"
    return written if language == "en" else written.replace(".", ",")


async def _range(request: web.Request) -> tuple[date, date, dict[str, str]]:
    gettext = gettext_for(request)
    errors: dict[str, str] = {}
    today = local_today(request)
    raw_from, raw_to = request.query.get("from", ""), request.query.get("to", "")
    last = parse_date(raw_to) if raw_to else today
    if last is None:
        errors["to"] = gettext("Schrijf de einddatum als jjjj-mm-dd.")
        last = today
    first = parse_date(raw_from) if raw_from else last - DEFAULT_RANGE
    if first is None:
        errors["from"] = gettext("Schrijf de begindatum als jjjj-mm-dd.")
        first = last - DEFAULT_RANGE
    if not errors and first > last:
        errors["from"] = gettext("De begindatum ligt na de einddatum.")
    elif not errors and last - first >= MAX_RANGE:
        errors["from"] = gettext("Kies hoogstens %(days)d dagen.") % {"days": MAX_RANGE.days}
    return first, last, errors


def _window(first: date, last: date) -> tuple[datetime, datetime]:
    """The instants of [00:00 of ``first``, 00:00 after ``last``) in Amsterdam."""
    low = wall_to_instant(first, time(0), AMSTERDAM)
    return low, wall_to_instant(last + timedelta(days=1), time(0), AMSTERDAM)


async def _numbers(request: web.Request, tenant: str, first: date, last: date) -> Numbers:
    store = request.app[PLANNER_STORE]
    low, high = _window(first, last)
    return compute_numbers(
        first,
        last,
        await store.outcomes(tenant, low, high),
        await store.waits(tenant, low, high),
        await store.scores(tenant, low, high),
    )


@requires(Role.PLANNER)
async def dashboard(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    gettext = gettext_for(request)
    language = language_code(request)
    tenant = principal.tenant_id
    first, last, errors = await _range(request)
    if errors:
        return page(
            request,
            principal,
            "planner/dashboard.html",
            status=400,
            errors=errors,
            first=request.query.get("from", "")[:10],
            last=request.query.get("to", "")[:10],
            numbers=None,
        )
    numbers = await _numbers(request, tenant, first, last)
    names = {purpose.key: purpose.name for purpose in await purposes_of(request, tenant)}
    names[NO_PURPOSE] = gettext("Zonder onderwerp")
    day_labels = [day_label(day, language) for day in numbers.days]
    span = {
        "first": f"{day_label(first, language)} {first.year}",
        "last": f"{day_label(last, language)} {last.year}",
    }
    calls_chart = bar_chart(
        "chart-calls",
        gettext("Gesprekken en niet verschenen per dag"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per dag het aantal gevoerde "
            "gesprekken en het aantal afspraken waar de inwoner niet kwam. In totaal "
            "%(calls)d gesprekken en %(no_shows)d keer niet verschenen. De tabel hieronder "
            "geeft dezelfde cijfers."
        )
        % (span | {"calls": sum(numbers.calls), "no_shows": sum(numbers.no_shows)}),
        day_labels,
        [
            Series(gettext("Gesprekken"), tuple(float(v) for v in numbers.calls)),
            Series(gettext("Niet verschenen"), tuple(float(v) for v in numbers.no_shows)),
        ],
        whole=True,
        language=language,
    )
    wait_chart = bar_chart(
        "chart-wait",
        gettext("Gemiddelde wachttijd per dag, in minuten"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per dag de gemiddelde tijd tussen "
            "aanmelden in de wachtkamer en toelaten tot het gesprek. Dagen zonder gesprekken "
            "hebben geen staaf. De tabel hieronder geeft dezelfde cijfers."
        )
        % span,
        day_labels,
        [Series(gettext("Gemiddelde wachttijd (minuten)"), numbers.wait_minutes)],
        unit=gettext("min"),
        language=language,
    )
    satisfaction_chart = bar_chart(
        "chart-satisfaction",
        gettext("Tevredenheid per onderwerp per week"),
        gettext(
            "Staafdiagram van %(first)s tot en met %(last)s: per week en per onderwerp het "
            "gemiddelde cijfer dat inwoners gaven, van 1 (slecht) tot 5 (goed). De tabel "
            "hieronder geeft dezelfde cijfers en het aantal antwoorden."
        )
        % span,
        list(numbers.weeks),
        [
            Series(
                names.get(purpose, purpose),
                tuple(
                    found[0] if (found := numbers.satisfaction.get((week, purpose))) else None
                    for week in numbers.weeks
                ),
            )
            for purpose in numbers.purposes
        ],
        maximum=5.0,
        language=language,
    )
    rows = [
        DayRow(
            day=f"{label} {day.year}",
            calls=numbers.calls[n],
            no_shows=numbers.no_shows[n],
            wait=_decimal(numbers.wait_minutes[n], language),
            waits=numbers.waits[n],
        )
        for n, (day, label) in enumerate(zip(numbers.days, day_labels, strict=True))
    ]
    satisfaction = [
        SatisfactionRow(
            week=week,
            purpose=names.get(purpose, purpose),
            score=_decimal(found[0], language),
            answers=found[1],
        )
        for week in numbers.weeks
        for purpose in numbers.purposes
        if (found := numbers.satisfaction.get((week, purpose))) is not None
    ]
    low, high = _window(first, last)
    walkin = [
        WalkinRow(
            purpose=gettext("Alle onderwerpen")
            if row.purpose == ALL
            else names.get(row.purpose, row.purpose),
            channel=gettext("alle kanalen")
            if row.channel is None
            else gettext(CHANNEL_WORDS[row.channel]),
            arrivals=row.arrivals,
            served=row.served,
            left=row.left,
            in_queue=row.in_queue,
            wait_p50=_decimal(row.wait_p50, language),
            wait_p90=_decimal(row.wait_p90, language),
            waits=row.waits,
            handling_p50=_decimal(row.handling_p50, language),
            handlings=row.handlings,
        )
        for row in compute_figures(
            await ticket_times(request.app[ENGINE], tenant, low, high), list(names)
        )
    ]
    callbacks = [
        CallbackRow(
            purpose=gettext("Alle onderwerpen")
            if row.purpose == ALL
            else names.get(row.purpose, row.purpose),
            requested=row.requested,
            called=row.called,
            unreachable=row.unreachable,
            expired=row.expired,
            open=row.open,
            on_time=row.on_time,
            on_time_share="–" if row.on_time_share is None else f"{row.on_time_share}%",
        )
        for row in compute_callback_figures(
            await callback_times(request.app[ENGINE], tenant, low, high), list(names)
        )
    ]
    return page(
        request,
        principal,
        "planner/dashboard.html",
        errors={},
        walkin=walkin,
        callbacks=callbacks,
        first=first.isoformat(),
        last=last.isoformat(),
        numbers=numbers,
        calls_chart=calls_chart,
        wait_chart=wait_chart,
        satisfaction_chart=satisfaction_chart,
        rows=rows,
        satisfaction=satisfaction,
        totals=(sum(numbers.calls), sum(numbers.no_shows)),
    )


@requires(Role.PLANNER)
async def dashboard_csv(request: web.Request) -> web.Response:
    principal = staff_principal(request)
    first, last, errors = await _range(request)
    if errors:
        raise web.HTTPBadRequest()
    numbers = await _numbers(request, principal.tenant_id, first, last)
    response = web.Response(text=numbers_csv(numbers), content_type="text/csv", charset="utf-8")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="balie-cijfers-{first.isoformat()}-{last.isoformat()}.csv"'
    )
    return response
