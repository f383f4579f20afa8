"""The subsidy arithmetic (config/RULES.md, "Subsidy: the line"): the formula to the fen, pro rata by days, shares
that add up, grades that order."""

from __future__ import annotations

import re
from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from foundation.periods import Month, Quarter
from foundation.ratios import RATIO_PATTERN, parse_ratio, ratio_text
from foundation.settings import PROJECT_ROOT
from registry.rules import ContractTerm, EstateTenure
from subsidies.engine.rules import PayerSplit, half_up, round_fen, split_between_payers
from subsidies.property.rules import (
    GRADES,
    RateCard,
    RateCardError,
    card_on,
    month_segments,
    most_for_line,
    parse_payer_split,
    parse_rate_cards,
    price_estate_month,
    price_line,
)

CONFIG = (PROJECT_ROOT / "config" / "subsidies.toml").read_text()
CARDS = parse_rate_cards(CONFIG)
SPLIT = parse_payer_split(CONFIG)
OCTOBER = Month.parse("2026-10")


def test_the_shipped_card_is_rules_md() -> None:
    [card] = CARDS
    assert card.rate_fen == 30 and card.city_share == Fraction(1, 2) and SPLIT == PayerSplit("city", "half_up")
    assert [card.coefficients[g] for g in GRADES] == [1, Fraction(95, 100), Fraction(85, 100), Fraction(1, 2)]


def test_a_whole_month_is_area_times_rate_times_coefficient_rounded_half_up_once() -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), None)
    # 11,902.00 m² × 30 fen × 95 % = 339,207 fen exactly; 1,234.57 m² × 30 × 85 % = 31,481.535 → 31,482 (half-up).
    assert price_line(1_190_200, OCTOBER, segments, "良好", False, SPLIT).amount_fen == 339_207
    line = price_line(123_457, OCTOBER, segments, "合格", False, SPLIT)
    assert (line.amount_fen, line.city_fen + line.district_fen) == (31_482, 31_482)
    assert price_line(1_190_200, OCTOBER, segments, "优秀", True, SPLIT).amount_fen == 0


def test_an_estate_leaving_mid_month_earns_until_the_day_before_it_left() -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), date(2026, 10, 11))
    line = price_line(3_100_000, OCTOBER, segments, "优秀", False, SPLIT)
    assert line.days == 10 and line.amount_fen == 300_000  # 31,000 m² × 30 fen × 10/31 = 930,000 × 10/31


def test_a_new_card_mid_month_prices_each_day_by_the_card_in_force() -> None:
    raised = RateCard(date(2026, 10, 16), 40, Fraction(1, 2), CARDS[0].coefficients)
    segments = month_segments(OCTOBER, (*CARDS, raised), date(2025, 1, 1), None)
    assert [(s.first.day, s.last.day, s.card.rate_fen) for s in segments] == [(1, 15, 30), (16, 31, 40)]
    # 3,100 m² × (30 × 15 + 40 × 16) / 31 = 3,100 × 1,090 / 31 = 109,000 fen
    assert price_line(310_000, OCTOBER, segments, "优秀", False, SPLIT).amount_fen == 109_000


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
        line = price_line(area, month, segments, grade, False, SPLIT)
        assert line.city_fen + line.district_fen == line.amount_fen and min(line.city_fen, line.district_fen) >= 0
        assert line.amount_fen == half_up(line.exact_fen)
        amounts.append(line.amount_fen)
        assert price_line(area, month, segments, grade, True, SPLIT).amount_fen == 0
    assert amounts == sorted(amounts, reverse=True)
    assert sum(s.days for s in segments) <= month.days


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(st.tuples(areas, st.sampled_from(GRADES), st.booleans()), min_size=1, max_size=40))
def test_a_total_is_the_sum_of_its_lines_to_the_fen(lines) -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), None)
    priced = [price_line(area, OCTOBER, segments, grade, vetoed, SPLIT) for area, grade, vetoed in lines]
    total = sum(p.amount_fen for p in priced)
    assert total == sum(p.city_fen for p in priced) + sum(p.district_fen for p in priced)
    # Rounding is per line, once: the total may differ from rounding the exact sum, but never by more than half a fen a line.
    assert abs(total - sum(p.exact_fen for p in priced)) <= Fraction(len(priced), 2)


# Decimal text at every edge (issue 13, item 1)


def test_shares_and_coefficients_are_decimal_text_the_same_text_going_in_and_out() -> None:
    assert [ratio_text(CARDS[0].coefficients[g]) for g in GRADES] == ["1", "0.95", "0.85", "0.5"]
    assert ratio_text(CARDS[0].city_share) == "0.5" and ratio_text(Fraction(0)) == "0"
    assert parse_ratio("0.95") == Fraction(19, 20) and parse_ratio("0.9500") == Fraction(19, 20)
    for refused in ("19/20", "95%", "0.95000", "", "1e-2", "-0.5"):
        with pytest.raises(ValueError, match="0.95"):
            parse_ratio(refused)


@given(st.integers(0, 10_000))
def test_every_ratio_shown_is_accepted_back_as_the_same_value(ten_thousandths: int) -> None:
    value = Fraction(ten_thousandths, 10_000)
    shown = ratio_text(value)
    assert re.fullmatch(RATIO_PATTERN, shown) and parse_ratio(shown) == value
    assert "/" not in shown and (shown == "0" or not shown.endswith("0"))


def test_a_rate_card_written_as_a_fraction_is_refused_with_how_to_write_it() -> None:
    with pytest.raises(RateCardError, match="write 0.95, not 19/20"):
        parse_rate_cards(CONFIG.replace('"良好" = "0.95"', '"良好" = "19/20"'))


# Rounding between payers (issue 13, item 3; config/RULES.md, "Money: rounding between payers")


def test_the_odd_fen_of_a_line_goes_to_the_city_every_time() -> None:
    segments = month_segments(OCTOBER, CARDS, date(2025, 1, 1), None)
    # 3.53 m² × 30 fen × 0.95 = 100.605 fen → a line of 101; the city pays 101 × 0.5 = 50.5 → 51, the district 50.
    # (Splitting the exact amount instead gave the city half_up(50.3025) = 50 and the district the odd fen.)
    line = price_line(353, OCTOBER, segments, "良好", False, SPLIT)
    assert (line.amount_fen, line.city_fen, line.district_fen) == (101, 51, 50)
    # 3.51 m² × 30 × 0.95 = 100.035 → 100: an even line splits evenly.
    line = price_line(351, OCTOBER, segments, "良好", False, SPLIT)
    assert (line.amount_fen, line.city_fen, line.district_fen) == (100, 50, 50)


@settings(max_examples=300, deadline=None)
@given(area=areas, grade=st.sampled_from(GRADES), share=st.integers(0, 10_000))
def test_the_city_pays_the_line_times_its_share_rounded_half_up_and_the_district_the_rest(area, grade, share) -> None:
    card = RateCard(date(2025, 1, 1), 30, Fraction(share, 10_000), CARDS[0].coefficients)
    line = price_line(area, OCTOBER, month_segments(OCTOBER, (card,), date(2025, 1, 1), None), grade, False, SPLIT)
    assert line.city_fen == half_up(line.amount_fen * card.city_share) and line.district_fen == line.amount_fen - line.city_fen
    if share == 5_000:
        assert line.city_fen - line.district_fen in (0, 1)  # never the other way round


def test_the_split_is_read_from_config_and_a_district_can_choose_otherwise() -> None:
    assert split_between_payers(101, Fraction(1, 2), SPLIT) == (51, 50)
    assert split_between_payers(101, Fraction(1, 2), parse_payer_split(CONFIG.replace('rounded = "city"', 'rounded = "district"'))) == (50, 51)
    assert split_between_payers(101, Fraction(1, 2), PayerSplit("city", "down")) == (50, 51)
    assert split_between_payers(-101, Fraction(1, 2), SPLIT) == (-51, -50)  # a recovery rounds like the payment
    assert round_fen(Fraction(5, 2), "half_even") == 2 and round_fen(Fraction(7, 2), "half_even") == 4
    with pytest.raises(RateCardError, match="rounding one of"):
        parse_payer_split(CONFIG.replace('rounding = "half_up"', 'rounding = "bankers"'))
    with pytest.raises(RateCardError, match=r"\[payers\]"):
        parse_payer_split(CONFIG.replace("[payers]", "[payer]"))


# Each day priced by the contract in force on it (issue 13, item 2)

MAY = Month.parse("2026-05")


def tenure(contracts: tuple[ContractTerm, ...], entered: date = date(2020, 1, 1), left: date | None = None, area: int = 1_000_000) -> EstateTenure:
    return EstateTenure(estate_id=1, community_id=1, street_id=1, floor_area_centi_m2=area, entered_on=entered, left_on=left, contracts=contracts)


def test_a_contract_terminated_mid_month_is_paid_for_the_days_it_served() -> None:
    # Terminated on 05-19 (its last day), the estate leaves on 05-20: 19 days of 31 are paid, to that company.
    contract = ContractTerm(contract_id=7, company_id=3, first=date(2026, 1, 1), last=date(2026, 5, 19))
    [line] = price_estate_month(MAY, CARDS, tenure((contract,), left=date(2026, 5, 20)), "良好", False, SPLIT)
    assert line.contract == contract and line.amount.days == 19 and line.coefficient == Fraction(19, 20)
    assert line.amount.amount_fen == half_up(Fraction(10_000 * 30 * 19 * 19, 20 * 31)) == 174_677  # 10,000 m² × 30 × 0.95 × 19/31
    assert price_estate_month(Month.parse("2026-06"), CARDS, tenure((contract,), left=date(2026, 5, 20)), "良好", False, SPLIT) == []


def test_a_change_of_company_mid_month_pays_each_company_for_its_own_days_and_no_contract_days_earn_nothing() -> None:
    first = ContractTerm(contract_id=7, company_id=3, first=date(2026, 1, 1), last=date(2026, 5, 15))
    second = ContractTerm(contract_id=9, company_id=4, first=date(2026, 5, 21), last=date(2028, 12, 31))
    lines = price_estate_month(MAY, CARDS, tenure((first, second), area=3_100_000), "优秀", False, SPLIT)
    assert [(l.contract.company_id, l.amount.days, l.amount.amount_fen) for l in lines] == [(3, 15, 450_000), (4, 11, 330_000)]  # noqa: E741
    # Paid already under the first contract (an earlier batch): only the second is priced.
    assert [l.contract.contract_id for l in price_estate_month(MAY, CARDS, tenure((first, second)), "优秀", False, SPLIT, paid_contracts={7})] == [9]  # noqa: E741


@st.composite
def quarters_of_contracts(draw):  # type: ignore[no-untyped-def]
    """A quarter, cards (possibly changing inside it), an estate entering and leaving anywhere around it, and
    contracts that never overlap, starting and ending anywhere around the quarter, some companies serving twice."""
    quarter = Quarter(draw(st.integers(2025, 2029)), draw(st.integers(1, 4)))
    first, last = quarter.months[0].first_day, quarter.months[-1].last_day
    around = st.integers(-40, (last - first).days + 40)
    cuts = sorted(draw(st.lists(around, min_size=0, max_size=10, unique=True)))
    contracts = []
    for n, (start, end) in enumerate(zip(cuts[0::2], cuts[1::2], strict=False)):
        contracts.append(ContractTerm(contract_id=n + 1, company_id=draw(st.integers(1, 3)), first=first + timedelta(days=start), last=first + timedelta(days=end)))
    entered = first + timedelta(days=draw(around))
    left = None if draw(st.booleans()) else entered + timedelta(days=draw(st.integers(1, 200)))
    starts = sorted(draw(st.lists(st.sampled_from([date(2024, 1, 1), *(first + timedelta(days=d) for d in range(0, 92, 7))]), min_size=1, max_size=3, unique=True)))
    coefficients = sorted(draw(st.lists(st.integers(0, 10_000), min_size=4, max_size=4)), reverse=True)
    cards = tuple(
        RateCard(start, draw(st.integers(0, 500)), Fraction(draw(st.integers(0, 10_000)), 10_000), {g: Fraction(c, 10_000) for g, c in zip(GRADES, coefficients, strict=True)})
        for start in starts
    )
    return quarter, cards, EstateTenure(1, 1, 1, draw(areas), entered, left, tuple(contracts))


@settings(max_examples=400, deadline=None)
@given(case=quarters_of_contracts(), grades=st.lists(st.sampled_from(GRADES), min_size=3, max_size=3), vetoes=st.lists(st.booleans(), min_size=3, max_size=3),
       held=st.lists(st.booleans(), min_size=3, max_size=3))
def test_a_quarter_pays_exactly_the_days_under_contract_once_each_line_rounded_once(case, grades, vetoes, held) -> None:
    """For any contracts, entries and exits: the lines of a run plus those of a supplementary run (for the months
    the first held out) are the sum over days of area × rate × coefficient / days in month, for exactly the days the
    estate was managed under a contract, each line rounded once; no estate-day is paid twice or dropped."""
    quarter, cards, estate = case
    paid: dict[str, set[int]] = {}
    lines_by_day: dict[date, int] = {}
    total = Fraction(0)
    count = 0
    for supplementary in (False, True, True):  # a run, a supplementary run, and another that finds nothing left
        for month, grade, vetoed, hold in zip(quarter.months, grades, vetoes, held, strict=True):
            if hold and not supplementary:
                continue  # held out of the first run (month not locked), paid by the supplementary run
            for line in price_estate_month(month, cards, estate, grade, vetoed, SPLIT, paid.get(str(month), set())):
                paid.setdefault(str(month), set()).add(line.contract.contract_id)
                exact = Fraction(0)
                for segment in line.segments:
                    day = segment.first
                    while day <= segment.last:
                        assert day not in lines_by_day, f"{day} paid twice"
                        assert estate.contract_on(day) == line.contract and card_on(cards, day) == segment.card
                        lines_by_day[day] = line.contract.contract_id
                        exact += 0 if vetoed else Fraction(estate.floor_area_centi_m2, 100) * segment.card.rate_fen * segment.card.coefficients[grade] / month.days
                        day += timedelta(days=1)
                assert line.amount.exact_fen == exact and line.amount.amount_fen == half_up(exact)  # rounded once, per line
                assert line.amount.days == sum(s.days for s in line.segments)
                assert line.amount.city_fen + line.amount.district_fen == line.amount.amount_fen
                total += line.amount.amount_fen - exact
                count += 1
    under_contract = set()
    day = quarter.months[0].first_day
    while day <= quarter.months[-1].last_day:
        if estate.contract_on(day) is not None and card_on(cards, day) is not None:
            under_contract.add(day)
        day += timedelta(days=1)
    assert set(lines_by_day) == under_contract  # none dropped
    assert abs(total) <= Fraction(count, 2)  # each line's rounding costs at most half a fen


def test_every_programme_names_each_column_of_its_treasury_spreadsheet_once() -> None:
    """The holder and the payee have their own columns: a programme repeating them among its own is refused."""
    from dataclasses import replace

    import subsidies.activity.programme
    import subsidies.care.programme
    import subsidies.relief.programme  # noqa: F401
    from community.calls.programme import register_tranches
    from subsidies.engine.registry import programmes, register, sheet_headers
    from subsidies.engine.rules import ProgrammeRuleError

    register_tranches()
    found = {p.code: sheet_headers(p.documents) for p in programmes()}
    assert {"activity_funds", "care", "relief", "community_tranches"} <= set(found)
    for code, headers in found.items():
        assert len(set(headers)) == len(headers), (code, headers)
    activity = next(p for p in programmes() if p.code == "activity_funds")
    repeated = replace(activity, documents=replace(activity.documents, sheet_headers=("经费持有方", *activity.documents.sheet_headers)))
    with pytest.raises(ProgrammeRuleError, match="经费持有方"):
        register(repeated)


def test_a_line_corrected_again_and_again_stays_split_by_the_rule() -> None:
    from fractions import Fraction

    from subsidies.engine.rules import CorrectionError, PayerSplit, correction, split_between_payers

    half, rule = Fraction(1, 2), PayerSplit("city", "half_up")
    amount = 97_457
    city, district = split_between_payers(amount, half, rule)
    paid_delta = paid_city = 0
    for corrected in (97_458, 97_459, 97_460, 97_001):
        delta, more_city, more_district = correction(corrected, amount, city, paid_delta, paid_city, half, rule)
        paid_delta, paid_city = paid_delta + delta, paid_city + more_city
        assert more_city + more_district == delta
        assert (city + paid_city, district + paid_delta - paid_city) == split_between_payers(corrected, half, rule), corrected
    with pytest.raises(CorrectionError, match="nothing to correct"):
        correction(97_001, amount, city, paid_delta, paid_city, half, rule)


def test_the_most_a_property_line_could_pay_is_its_area_at_the_month_s_best_rate_and_coefficient_rounded_up() -> None:
    """A correction of a property line never pays past it: 1,234.56 m² at 1.20 yuan and the best coefficient 1 for
    31 of 31 days is 1,481.472 yuan → 148,148 fen (rounded up); a card coming into force mid-month with a higher rate
    bounds the whole month; no card, or no day, bounds it at nothing."""
    coefficients = {"优秀": Fraction(1), "良好": Fraction(95, 100), "合格": Fraction(85, 100), "不合格": Fraction(0)}
    july = Month.parse("2026-07")
    low = RateCard(date(2026, 1, 1), 120, Fraction(1, 2), coefficients)
    assert most_for_line(123_456, july, (low,), 31) == 148_148
    assert most_for_line(123_456, july, (low,), 15) == -(-(Fraction(123_456, 100) * 120 * 15) // 31)
    higher = RateCard(date(2026, 7, 20), 150, Fraction(1, 2), coefficients)
    assert most_for_line(123_456, july, (low, higher), 31) == 185_184
    assert most_for_line(123_456, july, (RateCard(date(2026, 8, 1), 120, Fraction(1, 2), coefficients),), 31) == 0
    assert most_for_line(123_456, july, (low,), 0) == 0
