"""A line chart of rates over days, with a confidence band per line, as inline SVG.

Drawn on the server, so the admin needs no script and no network. Built with ElementTree,
which escapes every text and attribute (variant keys come from a file). Only presentation
attributes, never ``style``, so a Content-Security-Policy without 'unsafe-inline' allows it;
sizes are in the viewBox, so it scales to its container.
"""

from __future__ import annotations

import datetime as dt
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from markupsafe import Markup

WIDTH, HEIGHT = 600, 300
LEFT, RIGHT, BOTTOM = 56, 28, 40
#: In viewBox units: the chart shrinks with its column, and text with it.
FONT_SIZE = 14
#: Colour-blind-safe (Okabe and Ito); the control takes the first.
COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000")
BAND_OPACITY = "0.18"
_LEGEND_ROW = 20
#: Half the width of the band and line of a series with a single day, so both stay visible.
_SINGLE = 4.0


class RatePoint(Protocol):
    """A day's rate with its interval (dynamic.split_tests.report.DailyPoint is one)."""

    @property
    def day(self) -> dt.date: ...
    @property
    def rate(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...


@dataclass(frozen=True)
class ShownPoint:
    """A point that has a rate."""

    day: dt.date
    rate: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Series:
    label: str
    points: Sequence[RatePoint]

    @property
    def shown(self) -> list[ShownPoint]:
        """The points with a rate (a cumulative rate has none before the first visitor)."""
        return [ShownPoint(p.day, p.rate, p.low, p.high) for p in self.points if p.rate is not None]


@dataclass(frozen=True)
class Scale:
    """Maps days and rates to the plot area: ``first``..``last`` left to right, 0..``top``
    bottom to top."""

    first: dt.date
    last: dt.date
    top: float
    plot_top: float

    @property
    def bottom(self) -> float:
        return HEIGHT - BOTTOM

    def x(self, day: dt.date) -> float:
        span = (self.last - self.first).days
        if span == 0:
            return LEFT + (WIDTH - LEFT - RIGHT) / 2
        return LEFT + (day - self.first).days / span * (WIDTH - LEFT - RIGHT)

    def y(self, rate: float) -> float:
        return self.bottom - rate / self.top * (self.bottom - self.plot_top)


def nice_step(top: float, ticks: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` ticks to
    ``top``."""
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def scale_for(series: Sequence[Series], plot_top: float) -> Scale | None:
    """The scale that shows every point and band of ``series`` (None: nothing to show)."""
    points = [p for s in series for p in s.shown]
    if not points:
        return None
    highest = max(max(p.rate, p.high if p.high is not None else 0.0) for p in points)
    step = nice_step(highest if highest > 0 else 0.01)
    top = max(step, math.ceil(round(highest / step, 9)) * step)
    return Scale(min(p.day for p in points), max(p.day for p in points), top, plot_top)


def rate_chart(series: Sequence[Series], *, chart_id: str, title: str, description: str) -> Markup:
    """The SVG of ``series`` (one line and band each, in order), for inline use in a page.

    ``chart_id`` makes the ids of its title and description unique in the page.
    """
    svg = ET.Element(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "width": "100%",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "class": "chart",
            "font-size": str(FONT_SIZE),
        },
    )
    _text(svg, "title", title, id=f"{chart_id}-title")
    _text(svg, "desc", description, id=f"{chart_id}-desc")
    plot_top = _legend(svg, [s.label for s in series]) + 8
    scale = scale_for(series, plot_top)
    if scale is None:
        _text(
            svg,
            "text",
            "No visitors yet",
            x=_n(WIDTH / 2),
            y=_n((plot_top + HEIGHT - BOTTOM) / 2),
            **{"text-anchor": "middle", "fill": "currentColor"},
        )
        return Markup(ET.tostring(svg, encoding="unicode"))
    _axes(svg, scale)
    for index, one in enumerate(series):
        _series(svg, one, scale, COLOURS[index % len(COLOURS)])
    return Markup(ET.tostring(svg, encoding="unicode"))


def _legend(svg: ET.Element, labels: Sequence[str]) -> float:
    """One swatch and label per series, in rows across the top; gives the bottom of the rows."""
    legend = ET.SubElement(svg, "g", {"class": "legend"})
    x, row = float(LEFT), 0
    for index, label in enumerate(labels):
        width = 30 + 0.6 * FONT_SIZE * len(label)  # an average character's width
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, row = float(LEFT), row + 1
        y = 8 + row * _LEGEND_ROW
        ET.SubElement(
            legend,
            "rect",
            {
                "x": _n(x),
                "y": _n(y),
                "width": str(FONT_SIZE - 2),
                "height": str(FONT_SIZE - 2),
                "fill": COLOURS[index % len(COLOURS)],
            },
        )
        _text(
            legend,
            "text",
            label,
            x=_n(x + FONT_SIZE + 4),
            y=_n(y + FONT_SIZE - 3),
            fill="currentColor",
        )
        x += width
    return 8 + (row + 1) * _LEGEND_ROW if labels else 8


def _axes(svg: ET.Element, scale: Scale) -> None:
    axes = ET.SubElement(svg, "g", {"class": "axes", "fill": "currentColor"})
    step = nice_step(scale.top)
    for i in range(round(scale.top / step) + 1):
        value = i * step
        y = _n(scale.y(value))
        ET.SubElement(
            axes,
            "line",
            {
                "x1": str(LEFT),
                "x2": str(WIDTH - RIGHT),
                "y1": y,
                "y2": y,
                "stroke": "currentColor",
                "stroke-opacity": "0.4" if i == 0 else "0.12",
            },
        )
        label = f"{round(value * 100, 6):g}%"
        _text(axes, "text", label, x=str(LEFT - 6), y=y, dy="5", **{"text-anchor": "end"})
    span = (scale.last - scale.first).days
    days = max(1, math.ceil(span / 6))
    with_year = scale.first.year != scale.last.year
    for offset in range(0, span + 1, days):
        day = scale.first + dt.timedelta(days=offset)
        x = _n(scale.x(day))
        ET.SubElement(
            axes,
            "line",
            {
                "x1": x,
                "x2": x,
                "y1": _n(scale.bottom),
                "y2": _n(scale.bottom + 4),
                "stroke": "currentColor",
            },
        )
        label = f"{day.day} {day:%b}" + (f" {day:%Y}" if with_year else "")
        _text(axes, "text", label, x=x, y=_n(scale.bottom + 22), **{"text-anchor": "middle"})


def _series(svg: ET.Element, series: Series, scale: Scale, colour: str) -> None:
    group = ET.SubElement(svg, "g", {"class": "series"})
    _text(group, "title", series.label)
    points = series.shown
    if not points:
        return
    xs = [scale.x(p.day) for p in points]
    if len(points) == 1:  # a single day: a short flat line, so it can be seen
        xs = [xs[0] - _SINGLE, xs[0] + _SINGLE]
        points = [points[0], points[0]]
    placed = list(zip(xs, points, strict=True))
    upper = [(x, scale.y(p.rate if p.high is None else p.high)) for x, p in placed]
    lower = [(x, scale.y(p.rate if p.low is None else p.low)) for x, p in placed]
    ET.SubElement(
        group,
        "polygon",
        {
            "class": "band",
            "points": " ".join(f"{_n(x)},{_n(y)}" for x, y in upper + lower[::-1]),
            "fill": colour,
            "fill-opacity": BAND_OPACITY,
        },
    )
    line = " ".join(
        f"{'M' if i == 0 else 'L'}{_n(x)},{_n(scale.y(p.rate))}" for i, (x, p) in enumerate(placed)
    )
    ET.SubElement(
        group,
        "path",
        {
            "class": "line",
            "d": line,
            "fill": "none",
            "stroke": colour,
            "stroke-width": "2",
            "stroke-linejoin": "round",
            "stroke-linecap": "round",
        },
    )


def _text(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    element.text = text
    return element


def _n(value: float) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{value:.1f}"
