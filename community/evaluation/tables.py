"""Third-party evaluations of contracted projects with their scores and evidence, and the beneficiaries'
satisfaction surveys that feed them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class ProjectEvaluation(SQLModel, table=True):
    """A mid-term or final evaluation (中期/结项评估) of a contract by an evaluation firm: one of each per contract."""

    __tablename__ = "project_evaluations"
    __table_args__ = (UniqueConstraint("contract_id", "stage", name="uq_project_evaluations_contract_id_stage"),)

    id: int = surrogate_key()
    contract_id: int = Field(foreign_key="call_contracts.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)  # the evaluated organisation (bars look here)
    stage: str = Field(sa_column=Column(String(10), nullable=False))  # midterm, final
    firm_id: int = Field(foreign_key="organisations.id")
    evaluator_user_id: int | None = Field(default=None, foreign_key="users.id")
    evaluated_by: str = Field(max_length=200)
    evaluated_on: date  # Asia/Shanghai
    score: str = Field(max_length=10)  # the total as decimal text, e.g. "78.50"
    passed: bool
    surveys: int  # how many beneficiary surveys the satisfaction score rests on
    summary: str = Field(sa_column=Column(Text, nullable=False))
    rules_sha256: str = Field(max_length=64)
    filed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EvaluationAssignment(SQLModel, table=True):
    """The evaluation firm the district (or the contract's buyer) assigned to evaluate a contract: one at a time;
    only it evaluates the contract and is reminded of it. A reassignment replaces the firm (audited)."""

    __tablename__ = "evaluation_assignments"

    contract_id: int = Field(foreign_key="call_contracts.id", primary_key=True)
    firm_id: int = Field(foreign_key="organisations.id", index=True)
    assigned_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    assigned_by: str = Field(max_length=200)
    assigned_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class EvaluationScore(SQLModel, table=True):
    """One criterion's points (0–100, two decimals as text for the survey's) and the evidence behind them."""

    __tablename__ = "evaluation_scores"

    evaluation_id: int = Field(foreign_key="project_evaluations.id", primary_key=True)
    criterion: str = Field(max_length=20, primary_key=True)
    weight: int
    points: str = Field(max_length=10)
    evidence: str = Field(sa_column=Column(Text, nullable=False))


class EvaluationFile(SQLModel, table=True):
    """A file of evidence for a criterion, kept by its sha256 in the blob store."""

    __tablename__ = "evaluation_files"

    id: int = surrogate_key()
    evaluation_id: int = Field(foreign_key="project_evaluations.id", index=True)
    criterion: str = Field(max_length=20)
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64)


class SatisfactionSurvey(SQLModel, table=True):
    """A beneficiary's answers (1–5 each), collected by the committee on paper or by phone. Nothing says who
    answered: the community it was collected in and the channel are all that is kept about the person."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (CheckConstraint("overall BETWEEN 1 AND 5 AND attitude BETWEEN 1 AND 5 AND effect BETWEEN 1 AND 5", name="answers_in_range"),)

    id: int = surrogate_key()
    client_id: str = Field(max_length=36, unique=True)
    contract_id: int = Field(foreign_key="call_contracts.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    channel: str = Field(sa_column=Column(String(10), nullable=False))  # paper, phone
    collected_on: date
    overall: int
    attitude: int
    effect: int
    recorded_by: str = Field(max_length=200)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
