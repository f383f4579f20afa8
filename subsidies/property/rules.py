"""The subsidy arithmetic, pure: rate cards, the split between the two payers, the days of a month each card and
each contract cover, and one line per estate, month and contract (each company is paid for its own days), rounded
half-up to the fen once, split into city and district shares that add up to the line exactly. No I/O, no ORM."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import partial

from foundation.periods import Month
from foundation.ratios import parse_ratio
from registry.rules import ContractTerm, EstateTenure
from subsidies.engine.rules import PAYERS, ROUNDINGS, PayerSplit, half_up, split_between_payers

GRADES = ("优秀", "良好", "合格", "不合格")  # best first


class RateCardError(ValueError):
    """config/subsidies.toml is wrong; the message says where."""


@dataclass(frozen=True)
class RateCard:
    valid_from: date
    rate_fen: int  # per m² of managed floor area per month
    city_share: Fraction
    coefficients: Mapping[str, Fraction]  # grade → share of the rate paid


def parse_rate_cards(text: str) -> tuple[RateCard, ...]:
    try:
        raw = tomllib.loads(text)
        cards = tuple(
            sorted(
                (
                    RateCard(
                        valid_from=date.fromisoformat(str(c["valid_from"])),
                        rate_fen=int(c["rate_fen_per_m2_month"]),
                        city_share=parse_ratio(str(c["city_share"])),
                        coefficients={g: parse_ratio(str(c["coefficients"][g])) for g in GRADES},
                    )
                    for c in raw["rate_cards"]
                ),
                key=lambda c: c.valid_from,
            )
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        raise RateCardError(f"config/subsidies.toml: {type(error).__name__}: {error}") from None
    if not cards:
        raise RateCardError("config/subsidies.toml: no rate card")
    for card in cards:
        check_card(card)
    if len({c.valid_from for c in cards}) != len(cards):
        raise RateCardError("config/subsidies.toml: two rate cards start on the same day")
    return cards


def check_card(card: RateCard) -> None:
    where = f"rate card from {card.valid_from}"
    if card.rate_fen < 0 or not 0 <= card.city_share <= 1:
        raise RateCardError(f"{where}: the rate is not negative and the city share lies between 0 and 1")
    values = [card.coefficients[g] for g in GRADES]
    if any(not 0 <= v <= 1 for v in values) or values != sorted(values, reverse=True):
        raise RateCardError(f"{where}: coefficients lie between 0 and 1 and a better grade never pays less")


def parse_payer_split(text: str) -> PayerSplit:
    """The [payers] table of config/subsidies.toml (RULES.md "Money: rounding between payers", the engine's rule)."""
    try:
        raw = tomllib.loads(text)["payers"]
        rounded, rounding = str(raw["rounded"]), str(raw["rounding"])
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as error:
        raise RateCardError(f"config/subsidies.toml: [payers] needs rounded and rounding ({type(error).__name__}: {error})") from None
    if rounded not in PAYERS or rounding not in ROUNDINGS:
        raise RateCardError(f"config/subsidies.toml: [payers] rounded is one of {', '.join(PAYERS)} and rounding one of {', '.join(ROUNDINGS)}")
    return PayerSplit(rounded=rounded, rounding=rounding)


def card_on(cards: Sequence[RateCard], day: date) -> RateCard | None:
    """The card in force on `day`: the latest that starts on or before it."""
    found = None
    for card in cards:
        if card.valid_from <= day:
            found = card
    return found


@dataclass(frozen=True)
class Segment:
    """Consecutive days of a month priced by one card while the estate was under management (and, for a line, under
    one contract)."""

    first: date
    last: date
    card: RateCard

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def _segments(month: Month, cards: Sequence[RateCard], counted: Callable[[date], bool]) -> list[Segment]:
    """The month's days for which `counted` holds, grouped into runs of consecutive days under one card (a day
    before the first card is not priced)."""
    segments: list[Segment] = []
    day = month.first_day
    while day <= month.last_day:
        card = card_on(cards, day)
        if card is not None and counted(day):
            if segments and segments[-1].card == card and segments[-1].last == day - timedelta(days=1):
                segments[-1] = Segment(segments[-1].first, day, card)
            else:
                segments.append(Segment(day, day, card))
        day += timedelta(days=1)
    return segments


def month_segments(month: Month, cards: Sequence[RateCard], entered_on: date, left_on: date | None) -> list[Segment]:
    """The month's days the estate earns (from the day it entered long-term management to the day before it
    left), grouped by the card in force."""
    return _segments(month, cards, lambda day: entered_on <= day and (left_on is None or day < left_on))


def _served_by(tenure: EstateTenure, contract: ContractTerm, day: date) -> bool:
    """Whether `contract` is the one serving the estate on `day`."""
    return tenure.contract_on(day) == contract


def contract_segments(month: Month, cards: Sequence[RateCard], tenure: EstateTenure) -> dict[ContractTerm, list[Segment]]:
    """Each contract's days of the month (the days the estate was managed and the contract in force), grouped by
    the card in force; a day with no contract belongs to none and earns nothing."""
    found: dict[ContractTerm, list[Segment]] = {}
    for contract in tenure.contracts:
        segments = _segments(month, cards, partial(_served_by, tenure, contract))
        if segments:
            found[contract] = segments
    return found


@dataclass(frozen=True)
class LineAmount:
    amount_fen: int
    city_fen: int
    district_fen: int
    days: int  # days counted
    exact_fen: Fraction  # before rounding, for the record


def price_line(area_centi_m2: int, month: Month, segments: Sequence[Segment], grade: str, vetoed: bool, split: PayerSplit) -> LineAmount:
    """line = floor area × rate × coefficient × (days counted / days in month), rounded half-up once; then split
    between the payers by `split` (the city's share of a line is its cards' city share, weighted by what each card's
    days earn when a card with another share came into force mid-month)."""
    days = sum(s.days for s in segments)
    if vetoed or not segments:
        return LineAmount(0, 0, 0, days, Fraction(0))
    exact = Fraction(0)
    city_exact = Fraction(0)
    for segment in segments:
        part = Fraction(area_centi_m2, 100) * segment.card.rate_fen * segment.card.coefficients[grade] * Fraction(segment.days, month.days)
        exact += part
        city_exact += part * segment.card.city_share
    amount = half_up(exact)
    share = city_exact / exact if exact else segments[-1].card.city_share
    city, district = split_between_payers(amount, share, split)
    return LineAmount(amount, city, district, days, exact)


@dataclass(frozen=True)
class PricedLine:
    """One estate, month and contract: the company under that contract is paid for these days."""

    contract: ContractTerm
    segments: tuple[Segment, ...]
    amount: LineAmount
    coefficient: Fraction  # as applied (the card in force on the line's last day); 0 for an upheld veto


def price_estate_month(
    month: Month,
    cards: Sequence[RateCard],
    tenure: EstateTenure,
    grade: str,
    vetoed: bool,
    split: PayerSplit,
    paid_contracts: Collection[int] = (),
) -> list[PricedLine]:
    """The estate's lines of the month, one per contract in force on some of its managed days, each priced for
    that contract's days only (two companies in a month are each paid for their own days; days without a contract
    earn nothing), leaving out the contracts whose line of this month was already paid."""
    lines = []
    for contract, segments in contract_segments(month, cards, tenure).items():
        if contract.contract_id in paid_contracts:
            continue
        amount = price_line(tenure.floor_area_centi_m2, month, segments, grade, vetoed, split)
        coefficient = Fraction(0) if vetoed else segments[-1].card.coefficients[grade]
        lines.append(PricedLine(contract, tuple(segments), amount, coefficient))
    return lines


def most_for_line(area_centi_m2: int, month: Month, cards: Sequence[RateCard], days: int) -> int:
    """The most a line of `days` days of `month` could pay under the cards, for an estate of this floor area: every
    day at the highest rate and coefficient of any card in force in the month, rounded up. A correction never pays a
    line past it (a wrong area is corrected in the registry first, and then bounds the line)."""
    in_force = [c for c in (card_on(cards, month.first_day + timedelta(days=n)) for n in range(month.days)) if c is not None]
    if not in_force or days <= 0:
        return 0
    best = max(Fraction(c.rate_fen) * max(c.coefficients.values()) for c in in_force)
    exact = Fraction(area_centi_m2, 100) * best * Fraction(days, month.days)
    return -(-exact.numerator // exact.denominator)
