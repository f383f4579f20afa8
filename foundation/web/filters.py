"""Jinja filters for pages: figures and times as a Chinese reader expects them (thousands grouped, yuan from fen,
Beijing time)."""

from __future__ import annotations

from datetime import date, datetime

from litestar.plugins.jinja import JinjaTemplateEngine

from foundation.clock import BUSINESS_TZ
from foundation.money import yuan
from foundation.periods import period_zh


def grouped(value: str | int) -> str:
    """'3844400.00' -> '3,844,400.00'; the API keeps the plain form, pages group the thousands."""
    text = str(value)
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def local_time(value: datetime | date | None) -> str:
    """An instant in Beijing time, to the minute ('2026-11-03 09:30')."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update({"grouped": grouped, "yuan": yuan, "local_time": local_time, "period_zh": period_zh})
