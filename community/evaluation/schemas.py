"""Request and response bodies of project evaluations, satisfaction surveys and tranche payments."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from community.calls.schemas import ClientId, DocumentIn
from foundation.schemas import Id, Strict
from foundation.text import NONBLANK

Evidence = Annotated[str, msgspec.Meta(min_length=2, max_length=5000, pattern=NONBLANK, description="What the points rest on: visits, records, figures")]
Answer = Annotated[int, msgspec.Meta(ge=1, le=5, description="1 (very dissatisfied) to 5 (very satisfied)")]


class Stage(StrEnum):
    MIDTERM = "midterm"  # 中期评估
    FINAL = "final"  # 结项评估


class Channel(StrEnum):
    PAPER = "paper"  # 纸质问卷
    PHONE = "phone"  # 电话回访


class CriterionScoreIn(Strict):
    criterion: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{2,20}$", description="A criterion's code of config/evaluation.toml")]
    points: Annotated[int, msgspec.Meta(ge=0, le=100)]
    evidence: Evidence
    files: Annotated[list[DocumentIn], msgspec.Meta(max_length=5)] = []


class EvaluationIn(Strict):
    """A mid-term or final evaluation: every criterion but the beneficiaries' satisfaction (their surveys score it),
    each with its evidence."""

    stage: Stage
    scores: Annotated[list[CriterionScoreIn], msgspec.Meta(min_length=1, max_length=10)]
    summary: Annotated[str, msgspec.Meta(min_length=2, max_length=5000, pattern=NONBLANK)]


class SurveyIn(Strict):
    """One beneficiary's answers, collected on paper or by phone; nothing about who answered."""

    client_id: ClientId
    channel: Channel
    collected_on: date
    overall: Answer
    attitude: Answer
    effect: Answer


class EvidenceFileOut(msgspec.Struct):
    id: int
    name: str
    size: int


class CriterionScoreOut(msgspec.Struct):
    criterion: str
    name: str
    weight: int
    points: str  # decimal text 0–100
    evidence: str
    files: list[EvidenceFileOut]


class EvaluationOut(msgspec.Struct):
    id: int
    contract_id: int
    stage: str
    evaluated_on: date
    evaluated_by: str
    score: str  # out of 100, two decimals
    passed: bool
    surveys: int
    summary: str
    scores: list[CriterionScoreOut]
    released_tranches: list[int]
    barred_year: int | None  # a failed final evaluation bars the organisation from this year's calls


class TrancheStateOut(msgspec.Struct):
    number: int
    share: str
    amount_fen: int
    condition: str
    gate: str  # signing, midterm, final
    payable_on: date | None
    withheld: bool
    paid_batch_id: int | None
    paid_batch_number: str | None
    paid_at: datetime | None


class EvaluationSummaryOut(msgspec.Struct):
    id: int
    stage: str
    evaluated_on: date
    score: str
    passed: bool


class ContractProgressOut(msgspec.Struct):
    """A contract's evaluations and tranches, with what is due next."""

    contract_id: int
    number: str
    call_id: int
    title: str
    organisation_name: str
    starts_on: date
    ends_on: date
    midterm_due_on: date
    final_opens_on: date
    surveys: int
    satisfaction: str | None  # the surveys' score so far (0–100), when there is one
    evaluations: list[EvaluationSummaryOut]
    tranches: list[TrancheStateOut]
    evaluation_firm_id: int | None = None  # the evaluation firm assigned to evaluate it, when one is
    evaluation_firm_name: str | None = None


class FirmAssignmentIn(Strict):
    """The evaluation firm (an organisation of kind evaluation firm) that evaluates the contract."""

    firm_id: Id


class SurveyOut(msgspec.Struct):
    id: int
    contract_id: int
    channel: str
    collected_on: date
    community_id: int


class TranchePaymentOut(msgspec.Struct):
    contract_id: int
    number: int
    amount_fen: int
    batch_id: int
    batch_number: str
    period: str
