"""Assessment tables: the month's lifecycle per street, committee opinions, vetoes, scores (versioned), appeals."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class AssessmentMonth(SQLModel, table=True):
    """A street's month: open (evidence arriving) → computed (scores published) → locked (final)."""

    __tablename__ = "assessment_months"
    __table_args__ = (UniqueConstraint("street_id", "month"),)

    id: int = surrogate_key()
    street_id: int = Field(foreign_key="streets.id")
    month: str = Field(max_length=7)
    state: str = Field(sa_column=Column(String(10), nullable=False))
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))  # first computed
    appeal_until: date | None = None  # last day (Beijing) a company may appeal
    computed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    locked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    locked_by: str | None = Field(default=None, max_length=200)


class CommitteeOpinion(SQLModel, table=True):
    """The committee's rating of the company's service for an estate and month, with the survey result. A new
    opinion for the same estate and month is a new revision; the latest counts."""

    __tablename__ = "committee_opinions"
    __table_args__ = (
        UniqueConstraint("estate_id", "month", "revision"),
        CheckConstraint("rating >= 0 AND rating <= 100", name="rating_range"),
        CheckConstraint("answered IS NULL OR (satisfied >= 0 AND satisfied <= answered)", name="survey_consistent"),
    )

    id: int = surrogate_key()
    client_id: str | None = Field(default=None, max_length=64, unique=True)  # a resend carries the same one
    fingerprint: str | None = Field(default=None, max_length=64)  # sha256 of the body, to tell a resend from a reuse
    estate_id: int = Field(foreign_key="estates.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    month: str = Field(max_length=7)
    revision: int
    rating: int
    satisfied: int | None = None
    answered: int | None = None
    note: str = Field(default="", max_length=2000)
    given_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    given_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    given_by: str = Field(max_length=200)


class Veto(SQLModel, table=True):
    """一票否决: cast by the committee director (or opened automatically), reviewed by the street."""

    __tablename__ = "vetoes"
    __table_args__ = (Index("ix_vetoes_street_month_state", "street_id", "month", "state"),)

    id: int = surrogate_key()
    estate_id: int = Field(foreign_key="estates.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    company_id: int | None = Field(default=None, foreign_key="companies.id")
    contract_id: int | None = Field(default=None, foreign_key="service_contracts.id")
    month: str = Field(max_length=7)
    reason_code: str = Field(max_length=40)
    explanation: str = Field(max_length=4000)
    automatic: bool = False
    source_defect_id: int | None = Field(default=None, foreign_key="defects.id", unique=True)
    state: str = Field(sa_column=Column(String(12), nullable=False))
    cast_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    cast_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    cast_by: str = Field(max_length=200)
    review_due_on: date
    review_reason: str | None = Field(default=None, max_length=4000)
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reviewed_by: str | None = Field(default=None, max_length=200)


class VetoEvidence(SQLModel, table=True):
    __tablename__ = "veto_evidence"

    veto_id: int = Field(foreign_key="vetoes.id", primary_key=True)
    attachment_id: int = Field(foreign_key="attachments.id", primary_key=True)


class VetoComplaint(SQLModel, table=True):
    """A residents' complaint that is a veto case's evidence (a cluster turned into a mass-complaint case)."""

    __tablename__ = "veto_complaints"

    veto_id: int = Field(foreign_key="vetoes.id", primary_key=True)
    complaint_id: int = Field(foreign_key="complaints.id", primary_key=True, index=True)


class EstateScore(SQLModel, table=True):
    """One version of an estate's month score. Never changed: a recomputation that differs is a new version."""

    __tablename__ = "estate_scores"
    __table_args__ = (
        UniqueConstraint("estate_id", "month", "version"),
        Index("ix_estate_scores_street_month", "street_id", "month"),
    )

    id: int = surrogate_key()
    estate_id: int = Field(foreign_key="estates.id")
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    company_id: int | None = Field(default=None, foreign_key="companies.id", index=True)
    month: str = Field(max_length=7)
    version: int
    rules_sha256: str = Field(max_length=64)
    inputs_sha256: str = Field(max_length=64)
    score_centi: int | None = None
    grade: str = Field(max_length=10)
    vetoed: bool
    result: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the MonthScore with its breakdown
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reason: str = Field(default="", max_length=400)  # why this version: first computation, late evidence, appeal ...


class ScoreRank(SQLModel, table=True):
    """The current score of an estate's month and its rank in its street and in the district, kept beside the
    append-only scores so that pages read ranks instead of ranking the district on every read. Rewritten whenever a
    computation of the month changes a score (assessment.service.rank_month); an unscored month has no rank."""

    __tablename__ = "score_ranks"
    __table_args__ = (Index("ix_score_ranks_month_district_rank", "month", "rank_in_district"),)

    estate_id: int = Field(foreign_key="estates.id", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    score_id: int = Field(foreign_key="estate_scores.id", unique=True)  # the current version that was ranked
    street_id: int = Field(foreign_key="streets.id")
    rank_in_street: int | None = None
    rank_in_district: int | None = None


class ScoreExclusion(SQLModel, table=True):
    """A defect left out of scoring because an appeal against it was upheld."""

    __tablename__ = "score_exclusions"

    defect_id: int = Field(foreign_key="defects.id", primary_key=True)
    appeal_id: int = Field(foreign_key="appeals.id")
    reason: str = Field(max_length=2000)


class Appeal(SQLModel, table=True):
    """A company's appeal against a published score, answered by the street."""

    __tablename__ = "appeals"

    id: int = surrogate_key()
    estate_id: int = Field(foreign_key="estates.id", index=True)
    street_id: int = Field(foreign_key="streets.id")
    company_id: int = Field(foreign_key="companies.id", index=True)
    month: str = Field(max_length=7)
    defect_id: int | None = Field(default=None, foreign_key="defects.id")  # the finding contested, if one
    reason: str = Field(max_length=4000)
    state: str = Field(sa_column=Column(String(10), nullable=False))
    filed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    filed_by: str = Field(max_length=200)
    answer: str | None = Field(default=None, max_length=4000)
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    answered_by: str | None = Field(default=None, max_length=200)


class AppealEvidence(SQLModel, table=True):
    """A photo the company attached to its appeal (append-only, like the veto's evidence)."""

    __tablename__ = "appeal_evidence"

    appeal_id: int = Field(foreign_key="appeals.id", primary_key=True)
    attachment_id: int = Field(foreign_key="attachments.id", primary_key=True)


class ContractReviewFlag(SQLModel, table=True):
    """Two upheld vetoes within 12 months: the contract is flagged for the committee and street to review."""

    __tablename__ = "contract_review_flags"
    __table_args__ = (UniqueConstraint("contract_id", "veto_id"),)

    id: int = surrogate_key()
    contract_id: int = Field(foreign_key="service_contracts.id", index=True)
    veto_id: int = Field(foreign_key="vetoes.id")  # the upheld veto that made it two
    flagged_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    note: str = Field(max_length=400)
