"""Jinja filters for pages: figures as a Chinese reader expects them (thousands grouped, yuan from fen)."""

from __future__ import annotations

from litestar.contrib.jinja import JinjaTemplateEngine

from supervision.core.money import yuan


def grouped(value: str | int) -> str:
    """'3844400.00' -> '3,844,400.00'; the API keeps the plain form, pages group the thousands."""
    text = str(value)
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update({"grouped": grouped, "yuan": yuan})
