"""Elderly home care's rules without a database: the ID number's check, eligibility, a visit's limits, the month's
minimum, each reason a voucher is not redeemed, the line a voucher pays, and ID numbers sealed at rest."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foundation.periods import Month
from foundation.sealing import SealBroken, Sealer
from foundation.settings import config_dir
from subsidies.care import rules
from subsidies.care.rules import Served, VoucherState

CARE = rules.parse_care_rules((config_dir() / "care.toml").read_text(encoding="utf-8"))
NOVEMBER = Month(2026, 11)


def an_id(birth: date, order: str = "123") -> str:
    first17 = f"120101{birth:%Y%m%d}{order}"
    return first17 + rules.id_check_char(first17)


def test_the_districts_figures_come_from_config() -> None:
    assert CARE.voucher_fen == 30_000 and CARE.min_age == 60 and CARE.reminder_day == 20
    assert (CARE.min_visits, CARE.min_minutes) == (4, 480)
    assert {c.name for c in CARE.categories.values()} >= {"低保", "特困", "失能"} and CARE.categories["aged80"].min_age == 80


def test_an_id_number_carries_its_birth_date_and_a_wrong_check_character_is_caught() -> None:
    number = an_id(date(1946, 3, 8))
    assert rules.check_id_number(number) == date(1946, 3, 8)
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    assert rules.check_id_number(wrong) is None
    assert rules.check_id_number("12010119460230123X") is None  # 30 February
    assert rules.check_id_number("1201011946") is None
    assert rules.masked_id(number[-4:]) == "**************" + number[-4:]


def test_eligibility_needs_the_age_and_a_listed_category() -> None:
    day = date(2026, 11, 1)
    assert rules.eligibility_refusal(CARE, date(1950, 1, 1), "dibao", day) is None
    young = rules.eligibility_refusal(CARE, date(1967, 1, 1), "dibao", day)
    assert young is not None and "60" in young[1]
    assert rules.eligibility_refusal(CARE, date(1966, 11, 1), "dibao", day) is None  # 60 that day
    assert rules.eligibility_refusal(CARE, date(1966, 11, 2), "dibao", day) is not None  # 60 the next day
    aged = rules.eligibility_refusal(CARE, date(1950, 1, 1), "aged80", day)
    assert aged is not None and "80" in aged[1]
    assert rules.eligibility_refusal(CARE, date(1940, 1, 1), "aged80", day) is None
    unknown = rules.eligibility_refusal(CARE, date(1940, 1, 1), "rich", day)
    assert unknown is not None and "category" in unknown[0]


def test_a_visit_is_refused_outside_its_limits() -> None:
    today = date(2026, 11, 20)
    ok = rules.visit_refusal(CARE, today, 60, "meal", today, date(2026, 1, 1), None)
    assert ok is None
    assert rules.visit_refusal(CARE, today, 10, "meal", today, date(2026, 1, 1), None)[0] == "minutes"  # type: ignore[index]
    assert rules.visit_refusal(CARE, today, 60, "massage", today, date(2026, 1, 1), None)[0] == "service"  # type: ignore[index]
    assert rules.visit_refusal(CARE, date(2026, 11, 21), 60, "meal", today, date(2026, 1, 1), None)[0] == "visit_date"  # type: ignore[index]
    assert rules.visit_refusal(CARE, date(2026, 11, 16), 60, "meal", today, date(2026, 1, 1), None)[0] == "visit_date"  # type: ignore[index]
    assert rules.visit_refusal(CARE, date(2026, 11, 17), 60, "meal", today, date(2026, 1, 1), None) is None
    stopped = rules.visit_refusal(CARE, date(2026, 11, 19), 60, "meal", today, date(2026, 1, 1), date(2026, 11, 18))
    assert stopped is not None and "不在服务期内" in stopped[2]


@given(st.integers(0, 20), st.integers(0, 2000))
def test_the_minimum_is_four_visits_or_eight_hours(visits: int, minutes: int) -> None:
    assert rules.minimum_met(CARE, Served(visits, minutes)) == (visits >= 4 or minutes >= 480)


def voucher(redeemed: bool = False) -> VoucherState:
    return VoucherState("YL202611-ABCDEFGH", NOVEMBER, 7, redeemed)


ENOUGH = Served(4, 240)


def test_a_voucher_is_redeemed_once_by_its_provider_under_contract_within_its_month_with_the_minimum() -> None:
    assert rules.redemption_refusal(CARE, voucher(), 7, True, ENOUGH, date(2026, 11, 30)) is None
    twice = rules.redemption_refusal(CARE, voucher(redeemed=True), 7, True, ENOUGH, date(2026, 11, 30))
    assert twice is not None and twice[0] == "conflict"
    other = rules.redemption_refusal(CARE, voucher(), 8, True, ENOUGH, date(2026, 11, 30))
    assert other is not None and other[0] == "forbidden"
    late = rules.redemption_refusal(CARE, voucher(), 7, True, ENOUGH, date(2026, 12, 1))
    assert late is not None and late[0] == "rule" and "过期" in late[2]
    early = rules.redemption_refusal(CARE, voucher(), 7, True, ENOUGH, date(2026, 10, 31))
    assert early is not None and early[0] == "rule"
    no_contract = rules.redemption_refusal(CARE, voucher(), 7, False, ENOUGH, date(2026, 11, 30))
    assert no_contract is not None and no_contract[0] == "forbidden" and "合同" in no_contract[2]
    short = rules.redemption_refusal(CARE, voucher(), 7, True, Served(3, 470), date(2026, 11, 30))
    assert short is not None and short[0] == "rule" and "3 次" in short[2] and "470 分钟" in short[2]


def test_a_redeemed_voucher_becomes_one_line_keyed_by_its_code() -> None:
    line = rules.voucher_line("YL202611-ABCDEFGH", 5, 9, 7, 3, "2026-11", 30_000, Served(5, 300))
    assert line.key == "care:YL202611-ABCDEFGH" and line.amount_fen == 30_000
    assert (str(line.payee), str(line.holder), str(line.beneficiary), line.evidence) == ("organisation:7", "street:3", "elder:9", "voucher:5")
    assert rules.masked_name("王秀英") == "王*英" and rules.masked_name("李明") == "李*"


def test_a_wrong_config_is_refused_with_where() -> None:
    text = (config_dir() / "care.toml").read_text(encoding="utf-8")
    with pytest.raises(rules.CareRulesError, match="reminders"):
        rules.parse_care_rules(text.replace("day = 20", "day = 31"))
    with pytest.raises(rules.CareRulesError, match="voucher_fen"):
        rules.parse_care_rules(text.replace("voucher_fen = 30000", "voucher_fen = 0"))


@given(st.text(min_size=0, max_size=40))
def test_sealed_text_opens_to_itself_and_shows_nothing_of_it(text: str) -> None:
    sealer = Sealer("a key for the tests")
    sealed = sealer.seal(text)
    assert sealer.open(sealed) == text
    assert sealer.index(text) == sealer.index(text)
    if len(text) >= 4:
        assert text not in sealed


def test_a_sealed_id_number_altered_or_opened_with_another_key_is_refused() -> None:
    sealer = Sealer("key one")
    number = an_id(date(1946, 3, 8))
    sealed = sealer.seal(number)
    assert sealer.seal(number) != sealed  # a fresh nonce each time
    with pytest.raises(SealBroken):
        Sealer("key two").open(sealed)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealBroken):
        sealer.open(tampered)
    assert Sealer("key two").index(number) != sealer.index(number)
