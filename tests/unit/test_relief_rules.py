"""Relief funds' rules without a database: the district's four funds from config/relief.toml, the three levels in
turn, the cap per case, the balance, and the masked name."""

from __future__ import annotations

import pytest

from foundation.access import Principal, Role
from foundation.errors import Conflict, NotFound, PermissionDenied, RuleViolation
from foundation.settings import config_dir
from subsidies.relief import rules
from subsidies.relief.rules import APPROVE, APPROVED, COMMUNITY, DISTRICT, REFUSE, REFUSED, RETURN, RETURNED, STREET, FundBalance


def test_the_district_has_four_funds_of_2_5_million_yuan_each_with_a_5000_yuan_cap_per_case() -> None:
    config = rules.load_rules(config_dir() / "relief.toml")
    assert [f.name for f in config.funds.values()] == ["温暖济困", "阳光助学", "博爱助医", "光彩助老"]
    assert sum(f.budget_fen for f in config.funds.values()) == 1_000_000_000
    assert {f.case_cap_fen for f in config.funds.values()} == {500_000}
    assert config.deadlines.keys() == {COMMUNITY, STREET, DISTRICT}


def test_a_wrong_rules_file_is_refused_naming_the_key() -> None:
    text = (config_dir() / "relief.toml").read_text(encoding="utf-8")
    with pytest.raises(rules.ReliefRulesError, match="case_cap_fen"):
        rules.parse_rules(text.replace("case_cap_fen = 500_000", "case_cap_fen = 0", 1))
    with pytest.raises(rules.ReliefRulesError, match="own id"):
        rules.parse_rules(text.replace("id = 2", "id = 1", 1))


def test_approval_climbs_the_levels_a_return_goes_back_and_a_refusal_ends_it() -> None:
    assert [rules.after(level, APPROVE) for level in (COMMUNITY, STREET, DISTRICT)] == [STREET, DISTRICT, APPROVED]
    assert {rules.after(level, RETURN) for level in (COMMUNITY, STREET, DISTRICT)} == {RETURNED}
    assert {rules.after(level, REFUSE) for level in (COMMUNITY, STREET, DISTRICT)} == {REFUSED}


def test_no_level_is_skipped_or_given_twice() -> None:
    rules.check_level(STREET, STREET)
    with pytest.raises(RuleViolation, match="skipped"):
        rules.check_level(COMMUNITY, DISTRICT)
    with pytest.raises(Conflict, match="given already"):
        rules.check_level(DISTRICT, STREET)
    with pytest.raises(Conflict, match="nothing to review"):
        rules.check_level(APPROVED, DISTRICT)


def test_each_level_is_its_role_in_its_scope_and_not_the_filer() -> None:
    director = Principal(role=Role.COMMITTEE_DIRECTOR, user_id=7, community_id=3)
    rules.check_reviewer(director, COMMUNITY, 3, 1, COMMUNITY, filed_by_user_id=8)
    with pytest.raises(NotFound):
        rules.check_reviewer(director, COMMUNITY, 4, 1, COMMUNITY, filed_by_user_id=8)
    with pytest.raises(PermissionDenied, match="you filed"):
        rules.check_reviewer(director, COMMUNITY, 3, 1, COMMUNITY, filed_by_user_id=7)
    with pytest.raises(PermissionDenied, match="street_officer"):
        rules.check_reviewer(director, STREET, 3, 1, STREET, filed_by_user_id=8)
    with pytest.raises(NotFound):
        rules.check_reviewer(Principal(role=Role.STREET_OFFICER, user_id=9, street_id=2), STREET, 3, 1, STREET, filed_by_user_id=8)


def test_the_cap_per_case_and_the_balance() -> None:
    fund = rules.Fund("warmth", 1, "温暖济困", 250_000_000, 500_000)
    rules.check_amount(fund, 500_000)
    with pytest.raises(RuleViolation, match="at most 5,000.00 yuan per case"):
        rules.check_amount(fund, 500_001)
    rules.check_balance(fund, FundBalance(1_000_000, 500_000), 500_000)
    with pytest.raises(RuleViolation, match="5,000.00 yuan left"):
        rules.check_balance(fund, FundBalance(1_000_000, 500_000), 500_001)


def test_the_street_sees_the_family_name_only() -> None:
    assert (rules.mask_name("刘淑珍"), rules.mask_name("王五"), rules.mask_phone("13902221234")) == ("刘**", "王*", "139****1234")
