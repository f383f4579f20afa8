"""Jinja filters for pages: figures, times and people as a Chinese reader expects them (thousands grouped, yuan from
fen, Beijing time, a person by name and post)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import date, datetime

import msgspec
from jinja2 import pass_context
from jinja2.runtime import Context
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
# The template context key under which a page carries the names of the accounts it shows (account → name).
PEOPLE_NAMES = "people_names"


def _actor(label: str | None) -> tuple[str, Role] | None:
    found = _ACTOR.match(label or "")
    if found is None or found["role"] not in Role.__members__.values():
        return None
    return found["account"], Role(found["role"])


def actor_account(label: str | None) -> str | None:
    """The account of a stored actor label ("xbl-officer (street_officer)" → "xbl-officer"), None for anything else."""
    actor = _actor(label)
    return actor[0] if actor else None


# Who acts without an account, as the audit log records them: "resident (qr)", "anonymous (10.0.0.7)",
# "scheduler (finance)", "system (admin)", "apikey:ab12cd (inspector)".
_CHANNELS_ZH = {"qr": "扫码反映", "open311": "城市服务平台"}


def _without_account(label: str) -> str | None:
    """How a page names an actor with no account of its own (None: the label is an account's, or not known)."""
    head, _, rest = label.partition(" (")
    detail = rest.removesuffix(")")
    if head == "resident":
        return f"居民（{_CHANNELS_ZH.get(detail, detail)}）"
    if head == "anonymous":
        return "未登录的访问者"
    if head in ("scheduler", "system"):  # the scheduler's jobs, and commands run as the system ("system (admin)")
        return "系统定时任务" if head == "scheduler" else "系统"
    if head.startswith("apikey:") and detail in Role.__members__.values():
        return f"{ROLE_NAMES[Role(detail)]}的接口密钥（{head.removeprefix('apikey:')}）"
    return None


def person_named(label: str | None, names: Mapping[str, str | tuple[str, str]]) -> str:
    """Who did something, as pages and documents name them: the person's name and post ('王芳（小白楼街道办）', the post
    as `names` gives it, or the role's); an account named after its post already ('小白楼街道办') by that name alone;
    the post alone when the name is unknown. Anything else (a name typed by a person, the system) is shown as it is."""
    if label == "system":
        return "系统"
    unnamed = _without_account(label or "")
    if unnamed is not None:
        return unnamed
    actor = _actor(label)
    if actor is None:
        return label or ""
    account, role = actor
    known = names.get(account)
    name, post = known if isinstance(known, tuple) else (known or "", ROLE_NAMES[role])
    name = name.strip()
    if not name or name == account:
        return post
    return name if post in name or ROLE_NAMES[role] in name else f"{name}（{post}）"


@pass_context
def person(context: Context, label: str | None) -> str:
    """The `person` filter: names from the page's PEOPLE_NAMES (looked up once per page), the post otherwise."""
    names = context.get(PEOPLE_NAMES)
    return person_named(label, names if isinstance(names, Mapping) else {})


def accounts_shown(value: object, limit: int = 8) -> set[str]:
    """The accounts of the actor labels anywhere in a page's context (strings in mappings, sequences, dataclasses,
    msgspec structs and loaded table rows), so that a page's people are named with one look-up. Reads only what is
    already in memory: a table row's loaded values, never a lazy load."""
    found: set[str] = set()
    seen: set[int] = set()

    def walk(item: object, depth: int) -> None:
        if isinstance(item, str):
            account = actor_account(item) if " (" in item else None
            if account is not None:
                found.add(account)
            return
        if depth > limit or item is None or isinstance(item, (int, float, bool, bytes)) or id(item) in seen:
            return
        seen.add(id(item))
        if isinstance(item, Mapping):
            for child in item.values():
                walk(child, depth + 1)
        elif isinstance(item, (list, tuple, set, frozenset)):
            for child in item:
                walk(child, depth + 1)
        elif isinstance(item, msgspec.Struct):
            for name in item.__struct_fields__:
                walk(getattr(item, name, None), depth + 1)
        elif dataclasses.is_dataclass(item) and not isinstance(item, type):
            for member in dataclasses.fields(item):
                walk(getattr(item, member.name, None), depth + 1)
        elif "_sa_instance_state" in getattr(item, "__dict__", {}):
            for key, child in vars(item).items():
                if not key.startswith("_"):
                    walk(child, depth + 1)

    walk(value, 0)
    return found


def register_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters.update({"grouped": grouped, "yuan": yuan, "local_time": local_time, "period_zh": period_zh, "person": person})
