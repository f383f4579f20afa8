"""The subsidy arithmetic: RULES.md's formula to the fen, pro rata by days, shares that add up, grades that order."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from subsidies.rules import GRADES, RateCard, RateCardError, half_up, month_segments, parse_rate_cards, price_line
from supervision.core.periods import Month
from supervision.core.settings import PROJECT_ROOT

CARDS = parse_rate_cards((PROJECT_ROOT / "config" / "subsidies.toml").read_text())
OCTOBER = Month.parse("2026-10")


def test_the_shipped_card_is_rules_md() -> None:
    [card] = CARDS
    assert card.rate_fen == 30 and card.city_share == Fraction(1, 2)
    assert [card.coefficients[g] for g in GRADES] == [1, Fraction(95, 100), Fraction(85, 100), Fraction(1, 2)]


def test_a_whole_month_is_area_times_rate_times_coefficient_rounded_half_up_once() -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), None)
    # 11,902.00 m² × 30 fen × 95 % = 339,207 fen exactly; 1,234.57 m² × 30 × 85 % = 31,481.535 → 31,482 (half-up).
    assert price_line(1_190_200, OCTOBER, segments, "良好", False).amount_fen == 339_207
    line = price_line(123_457, OCTOBER, segments, "合格", False)
    assert (line.amount_fen, line.city_fen + line.district_fen) == (31_482, 31_482)
    assert price_line(1_190_200, OCTOBER, segments, "优秀", True).amount_fen == 0


def test_an_estate_leaving_mid_month_earns_until_the_day_before_it_left() -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), date(2026, 10, 11))
    line = price_line(3_100_000, OCTOBER, segments, "优秀", False)
    assert line.days == 10 and line.amount_fen == 300_000  # 31,000 m² × 30 fen × 10/31 = 930,000 × 10/31


def test_a_new_card_mid_month_prices_each_day_by_the_card_in_force() -> None:
    raised = RateCard(date(2026, 10, 16), 40, Fraction(1, 2), CARDS[0].coefficients)
    segments = month_segments(OCTOBER, (*CARDS, raised), date(2025, 1, 1), None)
    assert [(s.first.day, s.last.day, s.card.rate_fen) for s in segments] == [(1, 15, 30), (16, 31, 40)]
    # 3,100 m² × (30 × 15 + 40 × 16) / 31 = 3,100 × 1,090 / 31 = 109,000 fen
    assert price_line(310_000, OCTOBER, segments, "优秀", False).amount_fen == 109_000


def test_a_card_where_a_worse_grade_pays_more_is_refused() -> None:
    text = (PROJECT_ROOT / "config" / "subsidies.toml").read_text().replace('"合格" = "0.85"', '"合格" = "0.99"')
    with pytest.raises(RateCardError, match="never pays less"):
        parse_rate_cards(text)


areas = st.integers(min_value=1, max_value=10_000_000_000)
months = st.builds(Month, st.integers(2025, 2030), st.integers(1, 12))
shares = st.fractions(min_value=0, max_value=1, max_denominator=1000)


@st.composite
def card_sets(draw):  # type: ignore[no-untyped-def]
    count = draw(st.integers(1, 3))
    starts = sorted(draw(st.lists(st.dates(date(2024, 1, 1), date(2030, 12, 31)), min_size=count, max_size=count, unique=True)))
    coefficients = sorted(draw(st.lists(st.fractions(0, 1, max_denominator=100), min_size=4, max_size=4)), reverse=True)
    return tuple(
        RateCard(start, draw(st.integers(0, 500)), draw(shares), dict(zip(GRADES, coefficients, strict=True))) for start in starts
    )


@settings(max_examples=300, deadline=None)
@given(area=areas, month=months, cards=card_sets(), entered=st.dates(date(2024, 1, 1), date(2031, 1, 1)), stay=st.none() | st.integers(0, 400))
def test_shares_add_up_and_a_better_grade_never_pays_less_and_a_veto_pays_nothing(area, month, cards, entered, stay) -> None:
    left = None if stay is None else entered + timedelta(days=stay)
    segments = month_segments(month, cards, entered, left)
    amounts = []
    for grade in GRADES:
        line = price_line(area, month, segments, grade, False)
        assert line.city_fen + line.district_fen == line.amount_fen and min(line.city_fen, line.district_fen) >= 0
        assert line.amount_fen == half_up(line.exact_fen)
        amounts.append(line.amount_fen)
        assert price_line(area, month, segments, grade, True).amount_fen == 0
    assert amounts == sorted(amounts, reverse=True)
    assert sum(s.days for s in segments) <= month.days


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(areas, st.sampled_from(GRADES), st.booleans()), min_size=1, max_size=40))
def test_a_total_is_the_sum_of_its_lines_to_the_fen(lines) -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), None)
    priced = [price_line(area, OCTOBER, segments, grade, vetoed) for area, grade, vetoed in lines]
    total = sum(p.amount_fen for p in priced)
    assert total == sum(p.city_fen for p in priced) + sum(p.district_fen for p in priced)
    # Rounding is per line, once: the total may differ from rounding the exact sum, but never by more than half a fen a line.
    assert abs(total - sum(p.exact_fen for p in priced)) <= Fraction(len(priced), 2)
