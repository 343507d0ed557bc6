"""Bar charts as SVG, drawn on the server: no script, no inline style (the CSP allows
neither), only presentation attributes.

Each chart is ``role="img"`` named by its ``<title>`` and described by its ``<desc>``; the
page puts a table with the same numbers next to it, which is what a screen reader reads.
The caller passes every text already in the page's language; ``language`` only sets how the
axis writes a decimal (``0,5`` in Dutch, ``0.5`` in English).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

#: series colours, each at least 3:1 against white (WCAG 1.4.11) and apart in lightness
PALETTE: Final = ("#00457c", "#b35900", "#2e7d32", "#6a1b9a", "#a3123a", "#455a64")
_INK: Final = "#1a1a1a"
_GRID: Final = "#767676"

#: every chart has this viewBox width, so charts on one page line up day by day when the
#: page scales them to the width of the content column
WIDTH: Final = 960
_LEFT: Final = 48
_RIGHT: Final = 12
_PLOT_WIDTH: Final = WIDTH - _LEFT - _RIGHT
_TOP: Final = 24
_PLOT_HEIGHT: Final = 200
_BOTTOM: Final = 72
#: the share of a category's width its bars take together, and the widest one bar may be
_FILL: Final = 0.7
_MAX_BAR: Final = 28.0
#: the least distance between two category labels (they are turned 45 degrees, 12 px high)
_LABEL_SPACING: Final = 22.0
_LEGEND_ROW: Final = 22
_LEGEND_GAP: Final = 24


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float | None, ...]  #: one per category; None: no data (no bar)


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    maximum: float | None = None,
    unit: str = "",
    whole: bool = False,
    language: str = "nl",
) -> Markup:
    """A grouped bar chart: per category one bar per series, a y axis from 0, a legend.

    ``whole``: the values are counts, so the grid has no lines between whole numbers.
    """
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(
                f"series {one.name!r} has {len(one.values)} values, not {len(categories)}"
            )
    top = maximum if maximum is not None else _nice_top(series)
    slot = _PLOT_WIDTH / max(len(categories), 1)
    bar = min(slot * _FILL / max(len(series), 1), _MAX_BAR)
    # with many days, label every second, third, ... day so the labels never overlap
    label_every = max(1, math.ceil(_LABEL_SPACING / slot))
    legend = _legend_rows(series)
    legend_top = _TOP + _PLOT_HEIGHT + _BOTTOM
    height = legend_top + _LEGEND_ROW * (max(legend, default=-1) + 1) + 4
    base = _TOP + _PLOT_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in _ticks(top, whole=whole):
        y = base - _scale(tick, top)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + _PLOT_WIDTH}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="{1 if tick else 2}"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_INK}">'
            f"{escape(_label(tick, language))}</text>"
        )
    for index, category in enumerate(categories):
        cx = _LEFT + (index + 0.5) * slot
        x0 = cx - len(series) * bar / 2
        for number, one in enumerate(series):
            value = one.values[index]
            if value is None or value <= 0:
                continue
            bar_height = _scale(min(value, top), top)
            parts.append(
                f'<rect class="bar" x="{x0 + number * bar:.1f}" y="{base - bar_height:.1f}" '
                f'width="{bar * 0.85:.1f}" height="{bar_height:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"/>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{cx:.1f}" y="{base + 14}" text-anchor="end" fill="{_INK}" '
                f'transform="rotate(-45 {cx:.1f} {base + 14})">{escape(category)}</text>'
            )
    if unit:
        parts.append(f'<text x="4" y="{_TOP - 10}" fill="{_INK}">{escape(unit)}</text>')
    x = float(_LEFT)
    for number, (one, row) in enumerate(zip(series, legend, strict=True)):
        if number and row != legend[number - 1]:
            x = _LEFT
        y = legend_top + row * _LEGEND_ROW
        parts.append(
            f'<rect class="swatch" x="{x:.0f}" y="{y}" width="14" height="14" '
            f'fill="{PALETTE[number % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{x + 20:.0f}" y="{y + 12}" fill="{_INK}">{escape(one.name)}</text>')
        x += _legend_width(one.name) + _LEGEND_GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


def _legend_width(name: str) -> float:
    """A legend entry's width: the swatch and the name (about 7.5 px a character at 12 px)."""
    return 20 + 7.5 * len(name)


def _legend_rows(series: Sequence[Series]) -> list[int]:
    """The row of each legend entry: side by side, on a new row where the width runs out."""
    rows: list[int] = []
    row, used = 0, 0.0
    for one in series:
        width = _legend_width(one.name)
        if used and used + _LEGEND_GAP + width > _PLOT_WIDTH:
            row, used = row + 1, 0.0
        used += (_LEGEND_GAP if used else 0.0) + width
        rows.append(row)
    return rows


def _scale(value: float, top: float) -> float:
    return 0.0 if top <= 0 else value / top * _PLOT_HEIGHT


def _nice_top(series: Sequence[Series]) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above the largest value."""
    largest = max((v for one in series for v in one.values if v is not None), default=0.0)
    if largest <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(largest))
    for step in (1, 2, 5, 10):
        if step * power >= largest:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _ticks(top: float, *, whole: bool = False) -> list[float]:
    """Grid lines at round values: 5 → 0, 1, …, 5; 2 → 0, 0.5, …, 2 (0, 1, 2 if whole)."""
    if whole and top <= 5:
        return [float(k) for k in range(int(top) + 1)]
    mantissa = round(top / 10 ** math.floor(math.log10(top)), 6) if top > 0 else 1.0
    divisions = 4 if mantissa in (2.0, 4.0, 8.0) else 5
    return [top * k / divisions for k in range(divisions + 1)]


def _label(value: float, language: str = "nl") -> str:
    if value == int(value):
        return str(int(value))
    written = f"{value:.1f}"
    return written if language == "en" else written.replace(".", ",")
