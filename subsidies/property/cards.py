"""The property subsidy's rate cards: those config/subsidies.toml carries and those an administrator adds through
the API (a card here replaces a configured card of the same date), the split between the payers, and the version
(hash) of the rules a run is priced by."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from foundation.access import Principal, Role, require_role
from foundation.audit import record_change
from foundation.clock import business_today, utc_now
from foundation.errors import Conflict, RuleViolation
from foundation.ratios import ratio_text, stored_ratio
from foundation.settings import config_dir
from subsidies.engine.rules import PayerSplit
from subsidies.property.rules import GRADES, RateCard, check_card, parse_payer_split, parse_rate_cards
from subsidies.property.tables import RateCardRow

ADMINS = frozenset({Role.ADMIN})


@lru_cache(maxsize=1)
def configured_cards() -> tuple[RateCard, ...]:
    return parse_rate_cards((config_dir() / "subsidies.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def configured_split() -> PayerSplit:
    """config/RULES.md, "Money: rounding between payers", as config/subsidies.toml sets it."""
    return parse_payer_split((config_dir() / "subsidies.toml").read_text(encoding="utf-8"))


def card_of_row(row: RateCardRow) -> RateCard:
    return RateCard(row.valid_from, row.rate_fen, stored_ratio(row.city_share), {g: stored_ratio(v) for g, v in json.loads(row.coefficients).items()})


async def rate_cards(session: AsyncSession) -> tuple[RateCard, ...]:
    """The cards in force: the configured ones, with those added through the API (replacing one of the same date)."""
    added = {row.valid_from: card_of_row(row) for row in (await session.execute(select(RateCardRow))).scalars()}
    merged = {c.valid_from: c for c in configured_cards()} | added
    return tuple(merged[d] for d in sorted(merged))


def cards_fingerprint(cards: tuple[RateCard, ...], split: PayerSplit) -> str:
    """The version of the rules a run was priced by: its cards and the split between the payers."""
    content: list[object] = [
        [c.valid_from.isoformat(), c.rate_fen, str(c.city_share), {g: str(c.coefficients[g]) for g in GRADES}] for c in cards
    ]
    content.append({"split": [split.rounded, split.rounding]})
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


async def add_rate_card(session: AsyncSession, actor: Principal, card: RateCard) -> RateCardRow:
    require_role(actor, ADMINS, "adding a rate card")
    check_card(card)
    if card.valid_from <= business_today():
        raise RuleViolation("a new rate card applies from a future date; past months keep the card they were priced by", zh="新补贴标准只能从今后的日期起执行；已过去的月份仍按当时的标准核算")
    if (await session.execute(select(col(RateCardRow.id)).where(col(RateCardRow.valid_from) == card.valid_from))).scalar() is not None:
        raise Conflict(f"a rate card from {card.valid_from} already exists", zh=f"{card.valid_from} 起执行的补贴标准已存在")
    row = RateCardRow(
        valid_from=card.valid_from,
        rate_fen=card.rate_fen,
        city_share=ratio_text(card.city_share),
        coefficients=json.dumps({g: ratio_text(card.coefficients[g]) for g in GRADES}, ensure_ascii=False),
        created_at=utc_now(),
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    record_change(session, actor, "rate_card.added", "rate_card", row.id, after={"valid_from": card.valid_from, "rate_fen": card.rate_fen})
    await session.flush()
    return row
