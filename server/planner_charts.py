"""Bar charts as SVG, drawn on the server: no script, no inline style (the CSP allows
neither), only presentation attributes.

Each chart is ``role="img"`` named by its ``<title>`` and described by its ``<desc>``; the
page puts a table with the same numbers next to it, which is what a screen reader reads.
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

_LEFT: Final = 48
_RIGHT: Final = 12
_TOP: Final = 16
_PLOT_HEIGHT: Final = 200
_BOTTOM: Final = 72
_BAR: Final = 14
_GAP: Final = 12
_LEGEND_ROW: Final = 22


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
    group = max(1, len(series)) * _BAR + _GAP
    plot_width = max(len(categories), 1) * group
    # wide enough for the longest legend entry (about 7.5 px a character at 12 px)
    legend_width = 20 + int(7.5 * max((len(one.name) for one in series), default=0))
    width = _LEFT + max(plot_width, legend_width) + _RIGHT
    legend_top = _TOP + _PLOT_HEIGHT + _BOTTOM
    height = legend_top + _LEGEND_ROW * len(series) + 4
    base = _TOP + _PLOT_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="system-ui, sans-serif" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for tick in _ticks(top, whole=whole):
        y = base - _scale(tick, top)
        parts.append(
            f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{_LEFT + plot_width}" y2="{y:.1f}" '
            f'stroke="{_GRID}" stroke-width="{1 if tick else 2}"/>'
        )
        parts.append(
            f'<text x="{_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{_INK}">'
            f"{escape(_label(tick))}</text>"
        )
    for index, category in enumerate(categories):
        x0 = _LEFT + index * group + _GAP / 2
        for number, one in enumerate(series):
            value = one.values[index]
            if value is None or value <= 0:
                continue
            bar_height = _scale(min(value, top), top)
            parts.append(
                f'<rect x="{x0 + number * _BAR:.1f}" y="{base - bar_height:.1f}" '
                f'width="{_BAR - 2}" height="{bar_height:.1f}" '
                f'fill="{PALETTE[number % len(PALETTE)]}"/>'
            )
        cx = x0 + len(series) * _BAR / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{base + 14}" text-anchor="end" fill="{_INK}" '
            f'transform="rotate(-45 {cx:.1f} {base + 14})">{escape(category)}</text>'
        )
    if unit:
        parts.append(f'<text x="4" y="{_TOP - 4}" fill="{_INK}">{escape(unit)}</text>')
    for number, one in enumerate(series):
        y = legend_top + number * _LEGEND_ROW
        parts.append(
            f'<rect x="{_LEFT}" y="{y}" width="14" height="14" '
            f'fill="{PALETTE[number % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{_LEFT + 20}" y="{y + 12}" fill="{_INK}">{escape(one.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (every text above is escaped)


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


def _label(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:.1f}".replace(".", ",")
