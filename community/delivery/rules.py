"""Pure rules of delivery: the limits from config/delivery.toml, the answer deadline of a delegation, who may lead a
project's team, a valid participants' count, and the progress of an indicator. No I/O, no ORM."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from foundation.calendar.rules import WorkCalendar, working_days_after
from foundation.ratios import ratio_text

EXECUTE, ASSIST = "execute", "assist"  # 委托执行, 协助
KINDS = {EXECUTE: "委托执行", ASSIST: "协助"}
PENDING, ACCEPTED, DECLINED, EXPIRED = "pending", "accepted", "declined", "expired"
STATUS_NAMES = {PENDING: "待答复", ACCEPTED: "已接受", DECLINED: "已拒绝", EXPIRED: "逾期未答复，已退回街道"}
SESSIONS, ATTENDANCES = "sessions", "attendances"  # an activity counts 1 session, or its participants
MEASURES = {SESSIONS: "场次", ATTENDANCES: "人次"}
CONSENT_BY = {"self": "本人", "guardian": "监护人或家属"}
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class DeliveryLimits:
    answer_working_days: int
    specialisms: tuple[str, ...]
    lead_specialism: Mapping[str, str]  # target group → the specialism its lead must hold
    max_head_count: int
    max_named: int
    max_photos: int


def parse_limits(text: str) -> DeliveryLimits:
    data = tomllib.loads(text)
    limits = DeliveryLimits(
        answer_working_days=int(data["delegation"]["answer_working_days"]),
        specialisms=tuple(str(s) for s in data["assignment"]["specialisms"]),
        lead_specialism={str(k): str(v) for k, v in data["assignment"].get("lead_specialism", {}).items()},
        max_head_count=int(data["activity"]["max_head_count"]),
        max_named=int(data["activity"]["max_named"]),
        max_photos=int(data["activity"]["max_photos"]),
    )
    if limits.answer_working_days < 1 or limits.max_head_count < 1 or limits.max_named < 1 or limits.max_photos < 0:
        raise ValueError("delivery.toml: the answer period and participant limits are at least 1, the photo limit at least 0")
    unknown = sorted(set(limits.lead_specialism.values()) - set(limits.specialisms))
    if unknown:
        raise ValueError(f"delivery.toml: lead specialisms {unknown} are not among assignment.specialisms")
    return limits


def answer_due(delegated_on: date, calendar: WorkCalendar, limits: DeliveryLimits) -> date:
    """The last day a committee may answer: the n-th working day after the day of delegation."""
    due, _ = working_days_after(delegated_on, limits.answer_working_days, calendar)
    return due


def answer_problem(today: date, due_on: date) -> str | None:
    if today > due_on:
        return f"the answer was due by {due_on.isoformat()}; the delegation goes back to the street"
    return None


@dataclass(frozen=True)
class Member:
    user_id: int
    lead: bool
    specialism: str | None


def team_problem(members: Sequence[Member], target_group: str, limits: DeliveryLimits) -> tuple[str, str] | None:
    """Why a team cannot be assigned (English, Chinese), or None: one lead exactly, no one twice, and a lead who holds
    the specialism the target group asks for."""
    if len({m.user_id for m in members}) != len(members):
        return "each social worker is listed once", "同一名社工只能列入一次"
    leads = [m for m in members if m.lead]
    if not leads:
        return "name one leading social worker", "请指定一名牵头社工"
    if len(leads) > 1:
        return "only one social worker leads a project", "只能指定一名牵头社工"
    wanted = limits.lead_specialism.get(target_group)
    if wanted and leads[0].specialism != wanted:
        return f"a project for the target group {target_group} is led by a {wanted}", f"服务对象为“{target_group}”的项目须由{wanted}牵头"
    return None


def participants_problem(head_count: int | None, named: Sequence[int], limits: DeliveryLimits) -> tuple[str, str] | None:
    if head_count is not None and named:
        return "give the participants as named residents or as a head count, not both", "参与者请填写具名居民或人数，二选一"
    if head_count is None and not named:
        return "give the participants: named residents or a head count", "请填写参与居民或参与人数"
    if head_count is not None and not 1 <= head_count <= limits.max_head_count:
        return f"a head count is 1 to {limits.max_head_count}", f"参与人数应为 1 到 {limits.max_head_count} 人"
    if len(named) > limits.max_named:
        return f"at most {limits.max_named} named residents", f"具名居民最多 {limits.max_named} 人"
    if any(not 1 <= n <= MAX_ID for n in named):
        return "a named resident is given by their record id", "参与居民编号有误"
    if len(set(named)) != len(named):
        return "each resident is named once", "同一位居民只能列入一次"
    return None


def photos_problem(photo_ids: Sequence[int], limits: DeliveryLimits) -> tuple[str, str] | None:
    if len(photo_ids) > limits.max_photos:
        return f"at most {limits.max_photos} photos of an activity", f"每次活动最多 {limits.max_photos} 张照片"
    if any(not 1 <= n <= MAX_ID for n in photo_ids):
        return "a photo is given by the id its upload answered", "照片编号有误，请重新上传"
    return None


@dataclass(frozen=True)
class Output:
    indicator_number: int
    participants: int


@dataclass(frozen=True)
class Progress:
    number: int
    achieved: int
    target: int
    share: str  # achieved / target as decimal text rounded down to 4 places, e.g. "0.45" (may pass 1)


def progress(indicators: Iterable[tuple[int, str, int]], outputs: Iterable[Output]) -> list[Progress]:
    """Per indicator (number, measure, target): the sessions or attendances its activities add up to."""
    listed = list(indicators)
    achieved = {number: 0 for number, _, _ in listed}
    measure = {number: m for number, m, _ in listed}
    for output in outputs:
        if output.indicator_number in achieved:
            achieved[output.indicator_number] += 1 if measure[output.indicator_number] == SESSIONS else output.participants
    return [Progress(number=n, achieved=achieved[n], target=t, share=ratio_text(Fraction(achieved[n] * 10_000 // t, 10_000))) for n, _, t in listed]
