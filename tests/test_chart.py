"""The admin's SVG chart on its own: where points land, bands around lines, axes and legend,
the empty and single-day cases, and that text from files is escaped."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pytest

from dynamic.split_tests.chart import (
    BOTTOM,
    HEIGHT,
    LEFT,
    RIGHT,
    WIDTH,
    Series,
    nice_step,
    rate_chart,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
DAY = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class Point:
    day: dt.date
    rate: float | None
    low: float | None
    high: float | None


def chart(*series: Series) -> ET.Element:
    svg = rate_chart(series, chart_id="c", title="Conversion", description="Per variant")
    return ET.fromstring(str(svg))


def line_points(group: ET.Element) -> list[tuple[float, float]]:
    d = group.find("svg:path", NS).get("d")
    return [(float(x), float(y)) for x, y in re.findall(r"[ML]([\d.]+),([\d.]+)", d)]


def band_points(group: ET.Element) -> list[tuple[float, float]]:
    text = group.find("svg:polygon", NS).get("points")
    return [tuple(float(v) for v in pair.split(",")) for pair in text.split()]


def series_groups(svg: ET.Element) -> dict[str, ET.Element]:
    return {g.find("svg:title", NS).text: g for g in svg.findall("svg:g[@class='series']", NS)}


def steady(rate: float, days: int, spread: float = 0.01) -> list[Point]:
    return [Point(DAY + dt.timedelta(i), rate, rate - spread, rate + spread) for i in range(days)]


def test_points_map_to_days_across_and_rates_up() -> None:
    points = [
        Point(DAY, 0.02, 0.01, 0.03),
        Point(DAY + dt.timedelta(5), 0.04, 0.03, 0.05),
        Point(DAY + dt.timedelta(10), 0.03, 0.025, 0.035),
    ]
    svg = chart(Series("control", points))
    line = line_points(series_groups(svg)["control"])
    xs = [x for x, _ in line]
    # First day at the left edge, last at the right, a day in the middle half way.
    assert xs == [LEFT, pytest.approx((LEFT + WIDTH - RIGHT) / 2, abs=0.1), WIDTH - RIGHT]
    # The axis runs from 0% at the bottom to 5%, the highest band, at the top tick.
    bottom = HEIGHT - BOTTOM
    top = _tick_y(svg, "5%")
    assert _tick_y(svg, "0%") == bottom and top < bottom
    for (_, y), point in zip(line, points, strict=True):
        assert y == pytest.approx(bottom - point.rate / 0.05 * (bottom - top), abs=0.1)
    # Higher rate, higher on the page (smaller y).
    assert line[1][1] < line[2][1] < line[0][1]


def _tick_y(svg: ET.Element, label: str) -> float:
    texts = svg.findall("svg:g[@class='axes']/svg:text", NS)
    return float(next(t.get("y") for t in texts if t.text == label))


def test_every_band_encloses_its_line() -> None:
    control = [
        Point(DAY + dt.timedelta(i), 0.03 + i / 1000, 0.02, 0.05 + i / 500) for i in range(8)
    ]
    variant = [Point(DAY, None, None, None), *steady(0.05, 8, 0.02)[1:]]
    groups = series_groups(chart(Series("control", control), Series("short", variant)))
    assert list(groups) == ["control", "short"]
    for group in groups.values():
        line = line_points(group)
        band = band_points(group)
        upper, lower = band[: len(line)], band[len(line) :][::-1]
        for (x, y), (ux, uy), (lx, ly) in zip(line, upper, lower, strict=True):
            assert x == ux == lx
            assert uy < y < ly  # SVG's y grows downwards
    # A day before the variant's first visitor has no rate: its line starts a day later.
    assert len(line_points(groups["short"])) == 7
    assert line_points(groups["short"])[0][0] > line_points(groups["control"])[0][0]


def test_variants_get_their_own_colours_and_a_legend() -> None:
    svg = chart(Series("control", steady(0.02, 3)), Series("annual", steady(0.03, 3)))
    groups = series_groups(svg)
    colours = [g.find("svg:path", NS).get("stroke") for g in groups.values()]
    assert len(set(colours)) == 2
    assert [g.find("svg:polygon", NS).get("fill") for g in groups.values()] == colours
    legend = svg.find("svg:g[@class='legend']", NS)
    assert [t.text for t in legend.findall("svg:text", NS)] == ["control", "annual"]
    assert [r.get("fill") for r in legend.findall("svg:rect", NS)] == colours


def test_axes_have_percent_and_date_ticks() -> None:
    svg = chart(Series("control", steady(0.02, 15)))
    labels = [t.text for t in svg.findall("svg:g[@class='axes']/svg:text", NS)]
    assert labels[:4] == ["0%", "1%", "2%", "3%"]
    assert "1 Nov" in labels and "13 Nov" in labels
    spanning = [
        Point(dt.date(2026, 12, 30), 0.02, 0.01, 0.03),
        Point(dt.date(2027, 1, 2), 0.02, 0.01, 0.03),
    ]
    years = [
        t.text for t in chart(Series("c", spanning)).findall("svg:g[@class='axes']/svg:text", NS)
    ]
    assert "30 Dec 2026" in years and "2 Jan 2027" in years


@pytest.mark.parametrize(
    ("top", "step"), [(0.06, 0.02), (0.031, 0.01), (0.5, 0.1), (0.004, 0.001), (0.12, 0.025)]
)
def test_ticks_are_round_steps(top: float, step: float) -> None:
    assert nice_step(top) == pytest.approx(step)


def test_no_points_says_so_instead_of_drawing() -> None:
    svg = chart(Series("control", []), Series("short", [Point(DAY, None, None, None)]))
    assert "No visitors yet" in [t.text for t in svg.iter(f"{{{NS['svg']}}}text")]
    assert svg.find("svg:g[@class='axes']", NS) is None
    assert svg.findall(".//svg:path", NS) == []
    # The legend still names the variants.
    legend = svg.find("svg:g[@class='legend']", NS)
    assert [t.text for t in legend.findall("svg:text", NS)] == ["control", "short"]


def test_a_single_day_is_a_visible_mark_in_the_middle() -> None:
    svg = chart(Series("control", [Point(DAY, 0.02, 0.01, 0.04)]))
    group = series_groups(svg)["control"]
    (x1, y1), (x2, y2) = line_points(group)
    middle = (LEFT + WIDTH - RIGHT) / 2
    assert x1 < middle < x2 and x2 - x1 >= 6 and y1 == y2
    band = band_points(group)
    assert min(y for _, y in band) < y1 < max(y for _, y in band)
    assert [t.text for t in svg.findall("svg:g[@class='axes']/svg:text", NS)][-1] == "1 Nov"


def test_all_rates_zero_still_has_an_axis() -> None:
    svg = chart(
        Series("control", [Point(DAY, 0.0, 0.0, 0.0), Point(DAY + dt.timedelta(1), 0.0, 0.0, 0.0)])
    )
    labels = [t.text for t in svg.findall("svg:g[@class='axes']/svg:text", NS)]
    assert labels[0] == "0%" and len([label for label in labels if label.endswith("%")]) > 1
    assert {y for _, y in line_points(series_groups(svg)["control"])} == {HEIGHT - BOTTOM}


def test_text_is_escaped_and_the_chart_is_accessible() -> None:
    hostile = '<script>alert("x")</script>&'
    svg = rate_chart(
        [Series(hostile, steady(0.02, 2))], chart_id="c", title=f"Rates {hostile}", description="d"
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    parsed = ET.fromstring(str(svg))
    assert parsed.get("role") == "img" and parsed.get("aria-labelledby") == "c-title c-desc"
    assert parsed.find("svg:title", NS).text == f"Rates {hostile}"
    assert parsed.find("svg:desc", NS).get("id") == "c-desc"
    assert parsed.get("viewBox") == f"0 0 {WIDTH} {HEIGHT}" and parsed.get("width") == "100%"
    assert parsed.get("height") is None  # scales with its container


def test_no_inline_style_a_strict_policy_would_block() -> None:
    svg = str(rate_chart([Series("a", steady(0.02, 4))], chart_id="c", title="t", description="d"))
    assert "style" not in svg and "<script" not in svg
