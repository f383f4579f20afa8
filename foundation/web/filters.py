"""Jinja filters for pages: figures and times as a Chinese reader expects them (thousands grouped, yuan from fen,
Beijing time)."""

from __future__ import annotations

import re
from datetime import date, datetime

from litestar.plugins.jinja import JinjaTemplateEngine

from foundation.access import ROLE_NAMES, Role
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


# Who did something is stored as the account and its role ("xbl-officer (street_officer)", Principal.label).
_ACTOR = re.compile(r"^(?P<account>[^()]+) \((?P<role>[a-z_]+)\)$")


def person(label: str | None) -> str:
    """Who did something, as a page names them: by their post in Chinese ('街道办'), not the account and role key.
    Anything else (a name typed by a person, the system) is shown as it is."""
    if label == "system":
        return "系统"
    found = _ACTOR.match(label or "")
    if found is None or found["role"] not in Role.__members__.values():
        return label or ""
    return ROLE_NAMES[Role(found["role"])]


def register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update({"grouped": grouped, "yuan": yuan, "local_time": local_time, "period_zh": period_zh, "person": person})
