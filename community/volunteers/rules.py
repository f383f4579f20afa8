"""Pure rules of volunteering: the limits from config/volunteers.toml, when a need takes sign-ups, who may approve
logged hours (never the volunteer themselves) and when an answer is late. No I/O, no ORM."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


class HoursState(StrEnum):
    WAITING = "waiting"
    APPROVED = "approved"
    REJECTED = "rejected"


HOURS_STATE_NAMES = {HoursState.WAITING: "待审核", HoursState.APPROVED: "已通过", HoursState.REJECTED: "未通过"}


@dataclass(frozen=True)
class VolunteerRules:
    skills: tuple[str, ...]
    approval_days: int
    max_minutes: int
    log_within_days: int
    max_wanted: int
    need_max_minutes: int


def parse_volunteer_rules(text: str) -> VolunteerRules:
    """config/volunteers.toml as values; a missing or nonsensical value is a ValueError naming it."""
    try:
        data = tomllib.loads(text)
        skills = tuple(str(s) for s in data["skills"]["choices"])
        hours, needs = data["hours"], data["needs"]
        rules = VolunteerRules(
            skills=skills, approval_days=int(hours["approval_days"]), max_minutes=int(hours["max_minutes"]),
            log_within_days=int(hours["log_within_days"]), max_wanted=int(needs["max_wanted"]), need_max_minutes=int(needs["max_minutes"]),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"volunteer rules: {error}") from None
    if not skills or len(set(skills)) != len(skills):
        raise ValueError("volunteer rules: skills.choices must be a non-empty list without repeats")
    for name in ("approval_days", "max_minutes", "log_within_days", "max_wanted", "need_max_minutes"):
        if getattr(rules, name) < 1:
            raise ValueError(f"volunteer rules: {name} must be at least 1")
    return rules


def signup_refusal(held_on: date, taken: int, wanted: int, today: date) -> str | None:
    """Why a need takes no more sign-ups (it is past, or full), or None. The database enforces the count again."""
    if held_on < today:
        return "past"
    if taken >= wanted:
        return "full"
    return None


def hours_refusal(served_on: date, minutes: int, today: date, rules: VolunteerRules) -> tuple[str, str] | None:
    """Why self-logged hours cannot be taken (English, Chinese), or None."""
    if served_on > today:
        return "hours are logged after the service, not before it", "服务日期不能晚于今天"
    if (today - served_on).days > rules.log_within_days:
        return f"hours are logged within {rules.log_within_days} days of the service", f"服务结束 {rules.log_within_days} 天后不能再登记时长"
    if not 1 <= minutes <= rules.max_minutes:
        return f"one entry covers 1 to {rules.max_minutes} minutes", f"每次登记的时长为 1 至 {rules.max_minutes} 分钟"
    return None


def day_refusal(served_on: date, logged_minutes: int, minutes: int, rules: VolunteerRules) -> tuple[str, str] | None:
    """Why hours cannot be added to a day that already has `logged_minutes` logged (waiting or approved; English,
    Chinese), or None: a day holds at most one day's service, however many entries it is logged in."""
    if logged_minutes + minutes > rules.max_minutes:
        left = max(rules.max_minutes - logged_minutes, 0)
        return (
            f"{served_on} already has {logged_minutes} minutes logged; a day holds at most {rules.max_minutes} minutes, so at most {left} more",
            f"{served_on} 已登记 {format_minutes(logged_minutes)}，每天最多登记 {format_minutes(rules.max_minutes)}，还可登记 {left} 分钟",
        )
    return None


def approval_due(logged_on: date, rules: VolunteerRules) -> date:
    """The last day the approver should answer: `approval_days` calendar days after the day (Beijing) the hours
    were logged."""
    return logged_on + timedelta(days=rules.approval_days)


def may_decide(is_team_leader: bool, is_community_social_worker: bool) -> tuple[str, str] | None:
    """The team's leader or the community's social worker decides hours (never the volunteer themselves, even as a
    leader: foundation.duties' row approve_own_volunteer_hours). The refusal (English, Chinese), or None."""
    if not (is_team_leader or is_community_social_worker):
        return "hours are approved by the team's leader or the community's social worker", "服务时长由本队队长或本社区社工审核"
    return None


def format_minutes(minutes: int) -> str:
    """Minutes as hours with one decimal in Chinese: 90 → '1.5 小时'."""
    tenths = (minutes * 10 + 30) // 60
    return f"{tenths // 10}.{tenths % 10} 小时"


def activity_credit(approved_own: int, earlier_activities: int, minutes: int, day_most: int) -> int:
    """The minutes an activity's record adds to a volunteer's hours for a day: the day counts once, the larger of the
    volunteer's own approved log of it (`approved_own`) and the activities' records of it (`earlier_activities`
    before this one, plus `minutes`), never their sum, and never past one day's service (`day_most`). What the
    earlier records already added is subtracted."""
    return min(max(approved_own, earlier_activities + minutes), day_most) - min(max(approved_own, earlier_activities), day_most)
