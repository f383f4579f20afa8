"""Request and response bodies of the assessment API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from assessment.rules import MonthScore, plain
from foundation.schemas import Id, MonthText, Reason, Strict
from foundation.text import NONBLANK
from inspections.schemas import ClientId, DefectEvidenceOut, EvidencePhotoOut

Explanation = Annotated[str, msgspec.Meta(min_length=5, max_length=4000, pattern=NONBLANK)]
Count = Annotated[int, msgspec.Meta(ge=0, le=100_000)]


class OpinionIn(Strict):
    client_id: ClientId  # a resend with the same id and body returns the opinion already given (200)
    estate_id: Id
    month: MonthText
    rating: Annotated[int, msgspec.Meta(ge=0, le=100, description="The committee's rating of the service, 0–100")]
    satisfied: Count | None = None  # satisfied answers in the residents' survey
    answered: Count | None = None  # answers in the survey
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class OpinionOut(msgspec.Struct):
    id: int
    client_id: str | None  # None for opinions given before client ids
    estate_id: int
    month: str
    revision: int
    rating: int
    satisfied: int | None
    answered: int | None
    note: str
    given_at: datetime
    given_by: str


class VetoIn(Strict):
    estate_id: Id
    month: MonthText
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=40, description="One of GET /api/assessment/veto-reasons")]
    explanation: Explanation
    # Photos (own uploads) or, for a mass complaint, the residents' complaints behind it: at least one of the two.
    evidence_photo_ids: Annotated[list[Id], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)
    complaint_ids: Annotated[list[Id], msgspec.Meta(max_length=50, description="Residents' complaints of the estate (a cluster): evidence of a mass_complaint case")] = msgspec.field(default_factory=list)


class VetoReviewIn(Strict):
    uphold: bool
    reason: Reason


class VetoBatchReviewIn(Strict):
    """One verdict and reason for several pending vetoes, all or nothing (at most 200)."""

    veto_ids: Annotated[list[Annotated[int, msgspec.Meta(ge=1, lt=2**31)]], msgspec.Meta(min_length=1, max_length=200)]
    uphold: bool
    reason: Reason


class VetoOut(msgspec.Struct):
    id: int
    estate_id: int
    community_id: int
    street_id: int
    company_id: int | None
    month: str
    reason: str
    reason_text: str
    explanation: str
    automatic: bool
    source_defect_id: int | None
    state: str
    cast_at: datetime
    cast_by: str
    review_due_on: date
    review_reason: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    evidence_photo_ids: list[int]  # the photos attached to the veto
    complaint_ids: list[int]  # the residents' complaints that are its evidence (a mass complaint)
    # Everything the case shows, to whoever may see it: the veto's photos, and for an automatic case its defect's.
    evidence: list[EvidencePhotoOut]
    source_defect: DefectEvidenceOut | None  # an automatic case: the defect and the record that found it


class ComputeOut(msgspec.Struct):
    street_id: int
    month: str
    estates: int
    new_versions: int
    state: str
    appeal_until: date | None


class MonthOut(msgspec.Struct):
    street_id: int
    month: str
    state: str
    published_at: datetime | None
    appeal_until: date | None
    computed_at: datetime | None
    locked_at: datetime | None
    locked_by: str | None
    pending_vetoes: int
    pending_appeals: int


class ScoreOut(msgspec.Struct):
    id: int
    estate_id: int
    estate_code: str
    estate_name: str
    community_id: int
    street_id: int
    company_id: int | None
    month: str
    version: int
    score: str | None
    grade: str
    vetoed: bool
    rules_sha256: str
    inputs_sha256: str
    computed_at: datetime
    reason: str
    rank_in_street: int | None = None
    rank_in_district: int | None = None
    result: dict[str, Any] | None = None  # components, missing components and every line that moved the score


class AppealIn(Strict):
    estate_id: Id
    month: MonthText
    reason: Explanation
    defect_id: Id | None = None  # the finding contested, if the appeal is about one
    evidence_photo_ids: Annotated[list[Id], msgspec.Meta(max_length=20, description="Photos you uploaded (POST /api/attachments) that back the appeal")] = msgspec.field(default_factory=list)


class AppealAnswerIn(Strict):
    uphold: bool
    reason: Reason


class AppealOut(msgspec.Struct):
    id: int
    estate_id: int
    street_id: int
    company_id: int
    month: str
    defect_id: int | None
    reason: str
    state: str
    filed_at: datetime
    filed_by: str
    answer: str | None
    answered_at: datetime | None
    answered_by: str | None
    defect: DefectEvidenceOut | None  # the finding contested: links to it and the record that found it, its photos and fixes
    evidence_photo_ids: list[int]  # the photos the company attached to the appeal
    evidence: list[EvidencePhotoOut]  # everything the appeal shows: its own photos, then the contested defect's


class VetoReasonOut(msgspec.Struct):
    code: str
    text: str
    automatic: bool


def score_result_json(result: MonthScore) -> dict[str, Any]:
    converted: dict[str, Any] = plain(result)
    return converted
