"""The subsidy arithmetic, pure: rate cards, the days of a month each card and the estate's inclusion cover, and
one line per estate and month, rounded half-up to the fen once, split into city and district shares that add up
to the line exactly. No I/O, no ORM."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

from supervision.core.periods import Month

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
                        city_share=Fraction(str(c["city_share"])),
                        coefficients={g: Fraction(str(c["coefficients"][g])) for g in GRADES},
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


def card_on(cards: Sequence[RateCard], day: date) -> RateCard | None:
    """The card in force on `day`: the latest that starts on or before it."""
    found = None
    for card in cards:
        if card.valid_from <= day:
            found = card
    return found


@dataclass(frozen=True)
class Segment:
    """Consecutive days of a month priced by one card while the estate was under management."""

    first: date
    last: date
    card: RateCard

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def month_segments(month: Month, cards: Sequence[RateCard], entered_on: date, left_on: date | None) -> list[Segment]:
    """The month's days the estate earns (from the day it entered long-term management to the day before it
    left), grouped by the card in force."""
    segments: list[Segment] = []
    day = month.first_day
    while day <= month.last_day:
        card = card_on(cards, day)
        included = entered_on <= day and (left_on is None or day < left_on)
        if card is not None and included:
            if segments and segments[-1].card == card and segments[-1].last == day - timedelta(days=1):
                segments[-1] = Segment(segments[-1].first, day, card)
            else:
                segments.append(Segment(day, day, card))
        day += timedelta(days=1)
    return segments


@dataclass(frozen=True)
class LineAmount:
    amount_fen: int
    city_fen: int
    district_fen: int
    days: int  # days counted
    exact_fen: Fraction  # before rounding, for the record


def half_up(value: Fraction) -> int:
    """Round half-up to a whole number (of fen), exactly; amounts are never negative."""
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)


def price_line(area_centi_m2: int, month: Month, segments: Sequence[Segment], grade: str, vetoed: bool) -> LineAmount:
    """line = floor area × rate × coefficient × (days counted / days in month), rounded half-up once; the city's
    share rounded half-up, the district's the rest, so the two add up to the line exactly."""
    if vetoed:
        return LineAmount(0, 0, 0, sum(s.days for s in segments), Fraction(0))
    exact = Fraction(0)
    city_exact = Fraction(0)
    for segment in segments:
        part = Fraction(area_centi_m2, 100) * segment.card.rate_fen * segment.card.coefficients[grade] * Fraction(segment.days, month.days)
        exact += part
        city_exact += part * segment.card.city_share
    amount = half_up(exact)
    city = min(amount, half_up(city_exact))
    return LineAmount(amount, city, amount - city, sum(s.days for s in segments), exact)
