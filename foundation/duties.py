"""Separation of duties (职责分离): the one table of what nobody may do on what they themselves did, each row with a
stable key and the message a person reads, and the check the services call. config/RULES.md ("Separation of duties")
says the same in words; tests/unit/test_duties.py fails on a row that no service enforces."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from foundation.access import Principal
from foundation.errors import SeparationOfDuties


class Duty(StrEnum):
    """The stable key of each row: problem responses and audit readers name the rule by it."""

    VERIFY_OWN_FIX = "verify_own_fix"
    REVIEW_OWN_VETO = "review_own_veto"
    APPROVE_OWN_RUN = "approve_own_run"
    APPROVE_OWN_ADJUSTMENT = "approve_own_adjustment"
    APPROVE_OWN_LATE_RECORD = "approve_own_late_record"
    DECIDE_OWN_ACTIVITY_CLAIM = "decide_own_activity_claim"
    SCORE_OWN_ORGANISATION_BID = "score_own_organisation_bid"
    AMEND_EVIDENCE_ONE_SCORES = "amend_evidence_one_scores"
    APPROVE_OWN_VOLUNTEER_HOURS = "approve_own_volunteer_hours"
    SIT_ON_OWN_CALLS_PANEL = "sit_on_own_calls_panel"
    ANSWER_APPEAL_ON_OWN_FINDING = "answer_appeal_on_own_finding"


@dataclass(frozen=True)
class Separation:
    """One row: who did `earlier` may not do `then` on the same case; `name_zh` and `zh` are what pages show."""

    duty: Duty
    earlier: str
    then: str
    name_zh: str
    zh: str

    @property
    def detail(self) -> str:
        return f"separation of duties ({self.duty.value}): whoever {self.earlier} does not {self.then}; another person does"

    @property
    def message_zh(self) -> str:
        return f"违反职责分离规则“{self.name_zh}”：{self.zh}"


SEPARATIONS: Mapping[Duty, Separation] = {
    row.duty: row
    for row in (
        Separation(
            Duty.VERIFY_OWN_FIX, "reported a fix", "verify it (accept or reject it)",
            "整改验收", "本人报告的整改不能由本人验收，须由他人验收",
        ),
        Separation(
            Duty.REVIEW_OWN_VETO, "cast a veto", "review it (uphold or overturn it)",
            "否决审核", "本人提出的一票否决不能由本人审核，须由他人审核",
        ),
        Separation(
            Duty.APPROVE_OWN_RUN, "started, recomputed, confirmed or approved a step of a run", "give it another approval",
            "核算审批", "本人发起、重算或确认过的核算不能由本人审批，须由他人审批",
        ),
        Separation(
            Duty.APPROVE_OWN_ADJUSTMENT, "proposed the correction of an issued batch", "approve it (which issues the adjustment batch)",
            "更正审批", "本人提出的更正不能由本人审批，须由其他财政人员审批",
        ),
        Separation(
            Duty.APPROVE_OWN_LATE_RECORD, "filed a late record", "decide whether it counts",
            "补报审批", "本人补报的记录须由其他街道负责人审批",
        ),
        Separation(
            Duty.DECIDE_OWN_ACTIVITY_CLAIM, "filed an activity-fund claim", "decide it",
            "报销审批", "不能审批自己提交的报销申请，须由他人审批",
        ),
        Separation(
            Duty.SCORE_OWN_ORGANISATION_BID, "belongs to an organisation (or declared a conflict with it)", "score its bid",
            "评审回避", "不能评审本人所属或已申报利益冲突的组织的投标，须回避",
        ),
        Separation(
            Duty.AMEND_EVIDENCE_ONE_SCORES, "scores the evidence (the street officer)", "amend it: the filer files the correction",
            "评分与更正分离", "街道办审核评分，不修改所评的记录；请退回提交人，由提交人更正",
        ),
        Separation(
            Duty.APPROVE_OWN_VOLUNTEER_HOURS, "logged volunteer hours (also as the team's leader)", "approve or reject them",
            "时长审核", "不能审核自己登记的服务时长，须由本队队长或本社区社工审核",
        ),
        Separation(
            Duty.SIT_ON_OWN_CALLS_PANEL, "opened a call or names its panel (the buyer)", "sit on its panel",
            "采购人回避", "发起项目或组建评审委员会的人员不能担任该项目的评审委员，须由他人评审",
        ),
        Separation(
            Duty.ANSWER_APPEAL_ON_OWN_FINDING, "filed the inspection whose finding a company appeals", "answer that appeal",
            "申诉回避", "对本人检查发现的问题提出的申诉，本人不能答复，须由本街道其他人员或区管理员答复",
        ),
    )
}


def refusal(duty: Duty) -> SeparationOfDuties:
    """The refusal of `duty`'s row, for a service whose own condition (a membership, a role) says it applies."""
    row = SEPARATIONS[duty]
    return SeparationOfDuties(row.detail, rule=duty.value, zh=row.message_zh)


def keep_apart(duty: Duty, actor: Principal, done_by: Iterable[int | None]) -> None:
    """Refuse `duty`'s action when the acting user is among those who did the earlier part (`done_by`, user ids).
    The system and organisations' API keys act for no user, so nothing they did ever matches a person."""
    if actor.user_id is not None and actor.user_id in set(done_by):
        raise refusal(duty)
