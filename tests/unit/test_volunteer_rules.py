"""The pure rules of volunteering: the configured limits, when a need stops taking sign-ups, which hours can be
logged, and that nobody approves their own hours."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from community.volunteers.rules import (
    activity_credit,
    approval_due,
    day_refusal,
    format_minutes,
    hours_refusal,
    may_decide,
    parse_volunteer_rules,
    signup_refusal,
)

CONFIG = (Path(__file__).resolve().parents[2] / "config" / "volunteers.toml").read_text(encoding="utf-8")
RULES = parse_volunteer_rules(CONFIG)
DAY = date(2026, 11, 26)


def test_the_shipped_configuration_answers_within_seven_days() -> None:
    assert RULES.approval_days == 7 and RULES.max_minutes == 720 and "理发" in RULES.skills
    assert approval_due(DAY, RULES) == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("broken", "named"),
    [(CONFIG.replace("approval_days = 7", "approval_days = 0"), "approval_days"), (CONFIG.replace("[needs]", "[nothing]"), "needs"), (CONFIG.replace(CONFIG[CONFIG.index("choices = ["):CONFIG.index("]", CONFIG.index("choices = [")) + 1], "choices = []"), "skills")],
)
def test_a_wrong_configuration_is_refused_naming_the_value(broken: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_volunteer_rules(broken)


@given(wanted=st.integers(1, 50), taken=st.integers(0, 50), offset=st.integers(-3, 3))
def test_a_need_takes_sign_ups_only_while_a_place_is_left_and_its_day_has_not_passed(wanted: int, taken: int, offset: int) -> None:
    refusal = signup_refusal(DAY + timedelta(days=offset), min(taken, wanted), wanted, DAY)
    if offset < 0:
        assert refusal == "past"
    elif taken >= wanted:
        assert refusal == "full"
    else:
        assert refusal is None


def test_hours_are_logged_after_the_service_within_the_limits() -> None:
    assert hours_refusal(DAY, 120, DAY, RULES) is None
    assert hours_refusal(DAY - timedelta(days=30), 720, DAY, RULES) is None
    assert "after the service" in (hours_refusal(DAY + timedelta(days=1), 60, DAY, RULES) or ("", ""))[0]
    assert "within 30 days" in (hours_refusal(DAY - timedelta(days=31), 60, DAY, RULES) or ("", ""))[0]
    assert "720" in (hours_refusal(DAY, 721, DAY, RULES) or ("", ""))[0]


def test_nobody_approves_their_own_hours_not_even_a_leader_or_a_social_worker() -> None:
    assert may_decide(True, False) is None and may_decide(False, True) is None
    assert may_decide(False, False) == ("hours are approved by the team's leader or the community's social worker", "服务时长由本队队长或本社区社工审核")


@given(minutes=st.integers(1, 10_000))
def test_minutes_show_as_hours_to_the_tenth(minutes: int) -> None:
    text = format_minutes(minutes)
    assert text.endswith(" 小时") and abs(float(text.split()[0]) - minutes / 60) <= 0.05 + 1e-9


@given(
    own=st.integers(0, 720),
    activities=st.lists(st.integers(1, 720), min_size=1, max_size=6),
)
def test_a_day_credited_by_activities_and_logged_by_the_volunteer_never_counts_past_one_day_s_service(own: int, activities: list[int]) -> None:
    """Two activities of 600 minutes on one day credit 720 in all, not 1,200; the day counts once whichever came
    first, never less than the larger of the volunteer's own log and the activities' records (up to 720)."""
    earlier = credited = 0
    for minutes in activities:
        credited += activity_credit(own, earlier, minutes, RULES.max_minutes)
        earlier += minutes
    assert own + credited == min(max(own, earlier), RULES.max_minutes) or (own > RULES.max_minutes and credited == 0)
    assert own + credited <= max(own, RULES.max_minutes)


def test_a_day_s_own_log_is_capped_at_one_day_s_service_however_many_entries() -> None:
    day = date(2026, 11, 20)
    assert day_refusal(day, 600, 120, RULES) is None
    refused = day_refusal(day, 600, 121, RULES)
    assert refused is not None and "at most 120 more" in refused[0] and "还可登记 120 分钟" in refused[1]
    assert day_refusal(day, 0, RULES.max_minutes, RULES) is None
