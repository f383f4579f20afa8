"""Relief funds' tables: each fund's year (its CHECK keeps what approved cases took within the budget, whoever
approves at the same moment), supporting documents, applications (a client id files one; the applicant's name and
phone kept for the community), and the reviews given at each level (one per level and round: a unique key)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class ReliefFund(SQLModel, table=True):
    """What a fund may pay in a year and what the district's approvals took from it (committed), never more."""

    __tablename__ = "relief_funds"
    __table_args__ = (
        UniqueConstraint("year", "fund"),
        CheckConstraint("committed_fen >= 0 AND committed_fen <= budget_fen", name="never_overspent"),
    )

    id: int = surrogate_key()
    year: int
    fund: str = Field(max_length=20)  # the key in config/relief.toml
    budget_fen: int = fen_column()
    committed_fen: int = fen_column(default=0)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    opened_by: str = Field(max_length=200)


class ReliefDocument(SQLModel, table=True):
    """A supporting document (证明材料), uploaded by the community before the application that carries it."""

    __tablename__ = "relief_documents"

    id: int = surrogate_key()
    sha256: str = Field(max_length=64)
    content_type: str = Field(max_length=40)
    size_bytes: int
    community_id: int = Field(foreign_key="communities.id", index=True)
    application_id: int | None = Field(default=None, foreign_key="relief_applications.id", index=True)
    uploaded_by_user_id: int | None = None
    uploaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReliefApplication(SQLModel, table=True):
    """A resident household's application to a fund, filed by its community: community → street → district →
    approved (then paid through the engine, once) or refused; returned to the community to complete on any level."""

    __tablename__ = "relief_applications"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("state IN ('community', 'street', 'district', 'approved', 'refused', 'returned')", name="state_known"),
        Index("ix_relief_applications_state_due", "state", "due_on"),
        Index("ix_relief_applications_street_state", "street_id", "state"),
    )

    id: int = surrogate_key()
    client_id: str = Field(max_length=64, unique=True)  # a retry files the application once
    year: int  # the funds' year it draws on (the year it was filed)
    fund: str = Field(max_length=20)
    community_id: int = Field(foreign_key="communities.id", index=True)
    street_id: int = Field(foreign_key="streets.id")
    applicant_name: str = Field(max_length=30)  # shown in full to the community and the district only; never logged
    applicant_phone: str = Field(max_length=20)  # shown to the community only; never logged
    household_size: int
    amount_fen: int = fen_column()
    reason: str = Field(max_length=1000)
    state: str = Field(sa_column=Column(String(10), nullable=False))
    round: int = 1  # a returned application sent again starts a new round of reviews
    due_on: date | None = None  # the waiting level's deadline (working days)
    filed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    filed_by: str = Field(max_length=200)
    filed_by_user_id: int | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ReliefReview(SQLModel, table=True):
    """One level's verdict on an application (approve, return or refuse) with its reason; one per level and round."""

    __tablename__ = "relief_reviews"
    __table_args__ = (
        UniqueConstraint("application_id", "round", "level"),
        CheckConstraint("verdict IN ('approve', 'return', 'refuse')", name="verdict_known"),
    )

    id: int = surrogate_key()
    application_id: int = Field(foreign_key="relief_applications.id", index=True)
    round: int
    level: str = Field(max_length=10)
    verdict: str = Field(max_length=10)
    reason: str = Field(max_length=2000)
    reviewed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reviewed_by: str = Field(max_length=200)
    reviewed_by_user_id: int | None = None
