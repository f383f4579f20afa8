"""The six-month trend of the street's month table: an axis scaled to the scores, every value written, a month
without a score shown as such, and one scored month still a labelled point."""

from __future__ import annotations

import re

from foundation.web.charts import trend

MONTHS = ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"]


def points_of(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', svg)]


def axis_ends(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r'text-anchor="end" fill="#444">([\d.]+)</text>', svg)]


def test_a_small_rise_near_the_top_is_drawn_as_a_rise_with_every_value_written() -> None:
    svg = str(trend(list(zip(MONTHS, [9520, 9540, 9600, 9650, 9610, 9680], strict=True))))
    ys = [y for _, y in points_of(svg)]
    assert len(ys) == 6 and ys[0] - ys[-1] > 20  # 95.2 → 96.8 climbs most of the chart, not a flat line at 0–100
    bottom, top = sorted(axis_ends(svg))
    assert bottom <= 95.2 and top >= 96.8 and top - bottom <= 3  # the axis spans the data, its ends labelled
    assert all(f">{v}<" in svg for v in ("95.2", "95.4", "96.0", "96.5", "96.1", "96.8"))
    assert "2026-10：96.80 分" in svg  # the title (and screen readers) have every value with two decimals


def test_equal_scores_keep_the_minimum_span_and_the_pass_line_only_when_in_range() -> None:
    flat = str(trend([(m, 8800) for m in MONTHS]))
    bottom, top = sorted(axis_ends(flat))
    assert top - bottom >= 2 and bottom < 88 < top  # a tiny wobble is not blown up into a cliff
    assert "stroke-dasharray" not in flat  # 60 is far below the axis: no pass line drawn at its edge
    failing = str(trend(list(zip(MONTHS, [5800, 6100, 6300, 5900, 6200, 6400], strict=True))))
    assert "stroke-dasharray" in failing


def test_months_without_a_score_are_marked_and_a_single_month_is_readable() -> None:
    svg = str(trend([*((m, None) for m in MONTHS[:-1]), (MONTHS[-1], 9776)]))
    assert len(points_of(svg)) == 1 and ">97.8<" in svg and ">10月<" in svg
    assert svg.count(">无<") == 5 and "2026-05：无得分" in svg  # the empty months say so; no line to nowhere
    assert "<polyline" not in svg
    bottom, top = sorted(axis_ends(svg))
    assert bottom < 97.76 < top <= 100
    assert "近六个月无得分" in str(trend([(m, None) for m in MONTHS]))
