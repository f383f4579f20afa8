"""The rules of activity funds, pure: config/activity.toml as values, what a claim must say, the balance, who
decides whose claim, the year-end lapse and the receipt's type by content."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.access import Principal, Role
from foundation.errors import InvalidInput, NotFound, PermissionDenied, RuleViolation
from subsidies.activity import rules
from subsidies.activity.rules import Balance, ClaimFacts
from subsidies.engine.rules import Party

CONFIG = rules.load_rules(Path(__file__).resolve().parents[2] / "config" / "activity.toml")
TODAY = date(2026, 11, 26)


def test_the_districts_figures_come_from_config() -> None:
    assert (CONFIG.community_fen, CONFIG.street_fen) == (5_000_000, 25_000_000)
    assert CONFIG.allocation("community") == 5_000_000 and CONFIG.allocation("street") == 25_000_000
    assert CONFIG.lapse_at_year_end and CONFIG.approval_deadline_working_days == 5
    assert len(CONFIG.sha256) == 64


TEXT = (Path(__file__).resolve().parents[2] / "config" / "activity.toml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("community_fen = 5_000_000", "community_fen = 0", "community_fen"),
        ("street_fen = 25_000_000", 'street_fen = "250000"', "street_fen"),
        ("lapse_at_year_end = true", "lapse_at_year_end = 1", "lapse_at_year_end"),
        ('receipt_types = ["image/jpeg", "image/png", "application/pdf"]', 'receipt_types = ["image/gif"]', "receipt_types"),
        ('"文体活动" = 2_000_000', '"文体活动" = -1', "文体活动"),
    ],
)
def test_a_wrong_config_is_refused_naming_the_key(old: str, new: str, fragment: str) -> None:
    assert old in TEXT
    with pytest.raises(rules.ActivityRulesError, match=fragment):
        rules.parse_rules(TEXT.replace(old, new))


def test_a_claim_names_a_known_purpose_within_its_cap_not_in_the_future_and_says_what_was_bought() -> None:
    good = ClaimFacts(TODAY, "文体活动", 2_000_000, "居民运动会奖品")
    rules.check_claim(good, CONFIG, TODAY)
    for wrong, field in (
        (ClaimFacts(TODAY, "吃饭", 100, "居民运动会奖品"), "purpose"),
        (ClaimFacts(TODAY, "文体活动", 2_000_001, "居民运动会奖品"), "amount_fen"),
        (ClaimFacts(date(2026, 11, 27), "文体活动", 100, "居民运动会奖品"), "spent_on"),
        (ClaimFacts(TODAY, "文体活动", 100, "  奖品  "), "description"),
    ):
        with pytest.raises(RuleViolation) as refused:
            rules.check_claim(wrong, CONFIG, TODAY)
        assert refused.value.field == field and refused.value.zh


@given(allocated=st.integers(0, 10**8), held=st.integers(0, 10**8), lapsed=st.integers(0, 10**8), amount=st.integers(1, 10**8))
def test_a_claim_is_refused_exactly_when_it_would_take_the_balance_below_zero(allocated: int, held: int, lapsed: int, amount: int) -> None:
    balance = Balance(allocated, held, 0, lapsed)
    if amount <= balance.left_fen:
        rules.check_balance(balance, amount)
    else:
        with pytest.raises(RuleViolation):
            rules.check_balance(balance, amount)


def test_the_street_decides_its_communities_claims_and_the_district_the_streets_but_nobody_their_own() -> None:
    community, street = Party("community", 7), Party("street", 2)
    officer = Principal(role=Role.STREET_OFFICER, user_id=10, street_id=2)
    rules.check_approver(officer, 99, community, 2)
    with pytest.raises(NotFound):
        rules.check_approver(Principal(role=Role.STREET_OFFICER, user_id=11, street_id=3), 99, community, 2)
    with pytest.raises(PermissionDenied):
        rules.check_approver(officer, 12, street, 2)
    rules.check_approver(Principal(role=Role.FINANCE, user_id=20), 10, street, 2)
    with pytest.raises(PermissionDenied, match="another person"):
        rules.check_approver(Principal(role=Role.FINANCE, user_id=20), 20, street, 2)
    with pytest.raises(PermissionDenied):
        rules.check_approver(Principal(role=Role.FINANCE, user_id=20), 99, community, 2)


def test_funds_lapse_once_their_year_has_ended_unless_the_rules_keep_them() -> None:
    assert not rules.lapses(2026, date(2026, 12, 31), True)
    assert rules.lapses(2026, date(2027, 1, 1), True)
    assert not rules.lapses(2026, date(2027, 1, 1), False)


def test_a_receipt_is_judged_by_its_content_not_its_name() -> None:
    assert rules.receipt_type(b"\xff\xd8\xff\xe0rest", CONFIG.receipt_types) == "image/jpeg"
    assert rules.receipt_type(b"%PDF-1.7", CONFIG.receipt_types) == "application/pdf"
    with pytest.raises(InvalidInput):
        rules.receipt_type(b"GIF89a", CONFIG.receipt_types)
    with pytest.raises(InvalidInput):
        rules.receipt_type(b"%PDF-1.7", frozenset({"image/png"}))


def test_only_a_director_or_a_street_officer_holds_a_fund() -> None:
    assert rules.holder_of(Principal(role=Role.COMMITTEE_DIRECTOR, community_id=5)) == Party("community", 5)
    assert rules.holder_of(Principal(role=Role.STREET_OFFICER, street_id=3)) == Party("street", 3)
    with pytest.raises(PermissionDenied):
        rules.holder_of(Principal(role=Role.FINANCE))
