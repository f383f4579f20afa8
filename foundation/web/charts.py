"""Server-rendered SVG charts: small, with no script, readable printed in black and white (solid line and round
markers, a dashed 60-point reference line, every value also written in the title for screen readers)."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def sparkline(points: Sequence[tuple[str, int | None]], width: int = 120, height: int = 32) -> Markup:
    """`points` are (label, score in hundredths or None) oldest first; a gap where a month has no score."""
    n = len(points)
    if n == 0:
        return Markup("")
    pad = 3

    def x(i: int) -> float:
        return pad + (width - 2 * pad) * (i / (n - 1) if n > 1 else 0.5)

    def y(centi: int) -> float:
        return pad + (height - 2 * pad) * (1 - centi / 10_000)

    segments: list[list[str]] = [[]]
    markers = []
    for i, (_, centi) in enumerate(points):
        if centi is None:
            segments.append([])
            continue
        segments[-1].append(f"{x(i):.1f},{y(centi):.1f}")
        markers.append(f'<circle cx="{x(i):.1f}" cy="{y(centi):.1f}" r="2.2" fill="#000"/>')
    lines = "".join(f'<polyline points="{" ".join(s)}" fill="none" stroke="#000" stroke-width="1.5"/>' for s in segments if len(s) > 1)
    told = "；".join(f"{label}：{'—' if c is None else f'{c / 100:.2f}'}" for label, c in points)
    reference = f'<line x1="0" x2="{width}" y1="{y(6000):.1f}" y2="{y(6000):.1f}" stroke="#777" stroke-dasharray="2 2" stroke-width="0.8"/>'
    return Markup(
        f'<svg class="trend" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-label="{escape(told)}"><title>{escape(told)}</title>{reference}{lines}{"".join(markers)}</svg>'
    )


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
