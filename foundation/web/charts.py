"""Server-rendered SVG charts: small, with no script, readable printed in black and white (solid line and round
markers, every value written on the chart and in the title for screen readers)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def bars(points: Sequence[tuple[str, int]], width: int = 160, height: int = 40) -> Markup:
    """Counts as bars, oldest first (`points` are (label, count)); every value also written in the title."""
    n = len(points)
    if n == 0:
        return Markup("")
    top = max(1, max(count for _, count in points))
    slot = width / n
    rects = []
    for i, (_, count) in enumerate(points):
        h = (height - 12) * count / top
        rects.append(
            f'<rect x="{i * slot + 1:.1f}" y="{height - 10 - h:.1f}" width="{max(1.0, slot - 2):.1f}" height="{h:.1f}" fill="#000"/>'
            f'<text x="{i * slot + slot / 2:.1f}" y="{height - 1}" font-size="8" text-anchor="middle">{count}</text>'
        )
    told = "；".join(f"{label}：{count}" for label, count in points)
    return Markup(
        f'<svg class="bars" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(told)}"><title>{escape(told)}</title>{"".join(rects)}</svg>'
    )


TREND_MIN_SPAN = 200  # hundredths: the axis spans at least 2 points, so a wobble of 0.1 is not drawn as a cliff


def trend(points: Sequence[tuple[str, int | None]], width: int = 248, height: int = 88) -> Markup:
    """A score trend (`points`: (label "2026-10", score in hundredths or None), oldest first) whose axis spans the
    data's own range in whole points (at least TREND_MIN_SPAN), so that 95.2 beside 96.8 is seen as a rise, not a
    flat line at the top of 0–100. Every value is written above its point, the axis's ends on the left, and the
    60-point pass line is drawn when it falls inside the range. A month without a score is written 无 in grey, not a gap
    that reads as nothing; a single scored month is still a labelled point with its month named."""
    values = [c for _, c in points if c is not None]
    n = len(points)
    if n == 0:
        return Markup("")
    told = "；".join(f"{label}：{'无得分' if c is None else f'{c / 100:.2f} 分'}" for label, c in points)
    if not values:
        return Markup(
            f'<svg class="trend" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" aria-label="{escape(told)}">'
            f'<title>{escape(told)}</title><text x="{width / 2:.0f}" y="{height / 2 + 4:.0f}" font-size="11" text-anchor="middle" fill="#555">近六个月无得分</text></svg>'
        )
    low, high = min(values), max(values)
    spread = max(high - low, TREND_MIN_SPAN)
    middle, half = (low + high) / 2, spread / 2 * 1.1  # the data inside, with a little room above and below
    bottom = max(0.0, (middle - half) // 50 * 50)  # ends on half points, written on the axis
    top = min(10000.0, -(-(middle + half) // 50) * 50)
    if top - bottom < TREND_MIN_SPAN:  # pushed against 0 or 100: widen the other way
        bottom, top = (bottom, bottom + TREND_MIN_SPAN) if bottom == 0 else (top - TREND_MIN_SPAN, top)
    left, right, above, below = 30, 14, 17, 16  # room for the axis labels, the value labels and the month names

    def x(i: int) -> float:
        return left + 4 + (width - left - right - 4) * (i / (n - 1) if n > 1 else 0.5)

    def y(centi: float) -> float:
        return above + (height - above - below) * (1 - (centi - bottom) / (top - bottom))

    parts = [
        f'<line x1="{left}" x2="{left}" y1="{above}" y2="{height - below}" stroke="#8a939c" stroke-width="0.8"/>',
        f'<text x="{left - 3}" y="{y(top) + 3:.1f}" font-size="10" text-anchor="end" fill="#444">{top / 100:g}</text>',
        f'<text x="{left - 3}" y="{y(bottom) + 3:.1f}" font-size="10" text-anchor="end" fill="#444">{bottom / 100:g}</text>',
    ]
    if bottom < 6000 < top:
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(6000):.1f}" y2="{y(6000):.1f}" stroke="#b3261e" stroke-dasharray="3 2" stroke-width="0.8"/>')
    segments: list[list[str]] = [[]]
    for i, (_, centi) in enumerate(points):
        if centi is None:
            segments.append([])
            continue
        segments[-1].append(f"{x(i):.1f},{y(centi):.1f}")
    parts += [f'<polyline points="{" ".join(s)}" fill="none" stroke="#1f5fa8" stroke-width="1.8"/>' for s in segments if len(s) > 1]
    for i, (label, centi) in enumerate(points):
        month_no = label[-2:].lstrip("0") or label
        parts.append(f'<text x="{x(i):.1f}" y="{height - 2}" font-size="10" text-anchor="middle" fill="#444">{escape(month_no)}月</text>')
        if centi is None:
            parts.append(f'<text x="{x(i):.1f}" y="{(above + height - below) / 2 + 3:.1f}" font-size="10" text-anchor="middle" fill="#6b747d">无</text>')
            continue
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(centi):.1f}" r="3" fill="#1f5fa8"/>')
        anchor = "end" if i == n - 1 and n > 1 else "start" if i == 0 and n > 1 else "middle"
        parts.append(f'<text x="{x(i) + (4 if anchor == "end" else -4 if anchor == "start" else 0):.1f}" y="{y(centi) - 5:.1f}" font-size="11" font-weight="600" text-anchor="{anchor}" fill="#111">{centi / 100:.1f}</text>')
    return Markup(
        f'<svg class="trend" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(told)}"><title>{escape(told)}</title>{"".join(parts)}</svg>'
    )
