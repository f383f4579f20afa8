"""The rules of calls, evaluation, award and tranches as pure functions (config/RULES.md, "Community services")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community.calls import rules
from foundation.calendar.rules import OfficialCalendar, calendar_year

LIMITS = rules.parse_limits((Path(__file__).resolve().parents[2] / "config" / "calls.toml").read_text(encoding="utf-8"))
OPENED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Shanghai


class Weekdays:
    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5


def test_the_method_follows_the_largest_lot_and_another_needs_a_reason() -> None:
    assert rules.method_for_budget(100_000_000, LIMITS) == rules.TENDER
    assert rules.method_for_budget(99_999_999, LIMITS) == rules.NEGOTIATION
    assert rules.method_for_budget(20_000_000, LIMITS) == rules.NEGOTIATION
    assert rules.method_for_budget(19_999_999, LIMITS) == rules.VENTURE
    assert rules.method_problem(rules.VENTURE, 150_000_000, "", LIMITS) is not None
    assert rules.method_problem(rules.VENTURE, 150_000_000, "区政府常务会议决定按公益创投方式", LIMITS) is None
    assert rules.method_problem(rules.TENDER, 150_000_000, "", LIMITS) is None


def test_a_public_tender_gives_twenty_days_and_a_negotiation_three_working_days() -> None:
    assert rules.deadline_problem(rules.TENDER, OPENED, OPENED + timedelta(days=19, hours=23), Weekdays(), LIMITS) is not None
    assert rules.deadline_problem(rules.TENDER, OPENED, OPENED + timedelta(days=20), Weekdays(), LIMITS) is None
    # Opened on Tuesday 1 December: three working days after is Friday 4 December.
    assert rules.deadline_problem(rules.NEGOTIATION, OPENED, OPENED + timedelta(days=2), Weekdays(), LIMITS) is not None
    assert rules.deadline_problem(rules.NEGOTIATION, OPENED, OPENED + timedelta(days=3), Weekdays(), LIMITS) is None
    # Over a weekend: opened on Thursday 3 December, due on Tuesday 8 December at the earliest.
    thursday = OPENED + timedelta(days=2)
    assert rules.deadline_problem(rules.NEGOTIATION, thursday, thursday + timedelta(days=4), Weekdays(), LIMITS) is not None
    assert rules.deadline_problem(rules.NEGOTIATION, thursday, thursday + timedelta(days=5), Weekdays(), LIMITS) is None
    assert rules.deadline_problem(rules.VENTURE, OPENED, OPENED, Weekdays(), LIMITS) is not None


def test_official_holidays_count_in_a_negotiation_deadline() -> None:
    # 2027-01-01 (Friday) a holiday: opened on Thursday 31 December 2026, due on Wednesday 6 January at the earliest.
    calendar = OfficialCalendar(district={2027: calendar_year(2027, [date(2027, 1, 1)], [], "test")})
    opened = datetime(2026, 12, 31, 2, 0, tzinfo=UTC)
    assert rules.deadline_problem(rules.NEGOTIATION, opened, datetime(2027, 1, 5, 9, tzinfo=UTC), calendar, LIMITS) is not None
    assert rules.deadline_problem(rules.NEGOTIATION, opened, datetime(2027, 1, 6, 1, tzinfo=UTC), calendar, LIMITS) is None


def test_a_negotiation_invites_three_and_only_a_negotiation_invites() -> None:
    assert rules.invitations_problem(rules.NEGOTIATION, 2, LIMITS) is not None
    assert rules.invitations_problem(rules.NEGOTIATION, 3, LIMITS) is None
    assert rules.invitations_problem(rules.TENDER, 1, LIMITS) is not None


def test_weights_add_up_to_one_hundred() -> None:
    assert rules.weights_problem([15, 20, 25, 20, 10, 10]) is None
    assert rules.weights_problem([15, 20, 25, 20, 10]) is not None


def test_a_tender_with_two_valid_bids_fails_and_a_venture_call_with_one_does_not() -> None:
    assert not rules.enough_bids(rules.TENDER, 2, LIMITS)
    assert rules.enough_bids(rules.TENDER, 3, LIMITS)
    assert rules.enough_bids(rules.VENTURE, 1, LIMITS)
    assert not rules.enough_bids(rules.NEGOTIATION, 0, LIMITS)


def test_bids_are_sealed_until_the_deadline() -> None:
    assert rules.sealed(OPENED, OPENED + timedelta(seconds=1))
    assert not rules.sealed(OPENED, OPENED)


def test_a_panel_is_five_or_more_odd_and_two_thirds_outside_for_a_tender() -> None:
    assert rules.panel_problem(rules.VENTURE, [True] * 4, LIMITS) is not None
    assert rules.panel_problem(rules.VENTURE, [True] * 6, LIMITS) is not None
    assert rules.panel_problem(rules.VENTURE, [True, True, False, False, False], LIMITS) is None
    assert rules.panel_problem(rules.TENDER, [True, True, True, False, False], LIMITS) is not None  # 3/5 < 2/3
    assert rules.panel_problem(rules.TENDER, [True, True, True, True, False], LIMITS) is None
    assert rules.panel_problem(rules.TENDER, [True] * 6 + [False] * 3, LIMITS) is None  # exactly 2/3


def test_scores_cover_every_criterion_within_its_weight() -> None:
    weights = {1: 40, 2: 60}
    assert rules.score_problem({1: 40, 2: 0}, weights) is None
    assert rules.score_problem({1: 41, 2: 0}, weights) is not None
    assert rules.score_problem({1: 10}, weights) is not None


def test_with_seven_members_the_highest_and_lowest_totals_are_dropped() -> None:
    assert rules.aggregate([60, 70, 80, 90, 100], LIMITS) == Fraction(80)
    assert rules.aggregate([0, 70, 70, 70, 70, 70, 100], LIMITS) == Fraction(70)
    assert rules.aggregate([0, 70, 70, 70, 70, 70], LIMITS) == Fraction(350, 6)
    assert rules.score_text(Fraction(350, 6)) == "58.33"
    assert rules.score_text(Fraction(8745, 100) + Fraction(1, 200)) == "87.46"


def test_ties_go_to_the_lower_price_then_to_a_lot_repeatable_from_its_seed() -> None:
    ranked = rules.rank([(1, Fraction(80), 100), (2, Fraction(80), 90), (3, Fraction(85), 200)], seed=7)
    assert [r.bid_id for r in ranked] == [3, 2, 1] and not any(r.drawn for r in ranked)
    tied = [(4, Fraction(80), 100), (5, Fraction(80), 100), (6, Fraction(80), 100)]
    first = rules.rank(tied, seed=12345)
    assert first == rules.rank(list(reversed(tied)), seed=12345)
    assert all(r.drawn for r in first)
    orders = {tuple(r.bid_id for r in rules.rank(tied, seed=s)) for s in range(30)}
    assert len(orders) > 1  # the seed decides


def test_collusion_signals_name_the_shared_fact() -> None:
    bids = [
        rules.BidderFacts(1, "张三", "022-1111", "和平区甲路1号", frozenset({"a" * 64})),
        rules.BidderFacts(2, "张三", "022-2222", "和平区乙路2号", frozenset()),
        rules.BidderFacts(3, "李四", "022-3333", "和平区丙路3号", frozenset({"a" * 64})),
        rules.BidderFacts(4, "王五", "022-3333", "", frozenset()),
    ]
    assert rules.collusion_signals(bids) == [(1, 2, "legal_representative"), (1, 3, "document"), (3, 4, "phone")]


def test_the_award_stands_after_publicity_with_no_open_objection() -> None:
    published = OPENED
    ends = rules.publicity_ends(published, LIMITS)
    assert ends == published + timedelta(days=3)
    assert rules.award_stand_problem(ends - timedelta(seconds=1), ends, 0) is not None
    assert rules.award_stand_problem(ends, ends, 1) is not None
    assert rules.award_stand_problem(ends, ends, 0) is None
    # Objections within 7 working days of Tuesday 1 December: until Thursday 10 December.
    assert rules.objection_deadline(published, Weekdays(), LIMITS) == date(2026, 12, 10)
    assert rules.answer_due(published, Weekdays(), LIMITS) == date(2026, 12, 10)


@given(st.integers(min_value=1, max_value=10**11))
def test_tranches_add_up_to_the_price_in_thirty_forty_thirty(amount: int) -> None:
    parts = rules.tranche_amounts(amount, LIMITS.tranche_shares)
    assert sum(parts) == amount and len(parts) == 3 and all(p >= 0 for p in parts)
    assert abs(parts[0] - amount * Fraction(3, 10)) <= Fraction(1, 2)


def test_the_limits_are_read_from_config_and_refused_when_wrong() -> None:
    assert LIMITS.tranche_share_texts == ("0.30", "0.40", "0.30") and LIMITS.pass_mark == 60 and LIMITS.publicity_days == 3
    text = (Path(__file__).resolve().parents[2] / "config" / "calls.toml").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="add up to 1"):
        rules.parse_limits(text.replace('"0.40"', '"0.50"'))
    with pytest.raises(ValueError, match="min_members"):
        rules.parse_limits(text.replace("min_members = 5", "min_members = 0"))
