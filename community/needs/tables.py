"""Tables of residents' needs, consultation meetings and their votes, proposals sent to the street, and the
district's yearly catalogue of bought services (versions; a published one never changes)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class Need(SQLModel, table=True):
    """民生需求: one need of residents as the committee recorded it. No resident's name or phone: the households
    concerned are a count."""

    __tablename__ = "community_needs"
    __table_args__ = (
        CheckConstraint("households >= 1", name="households_positive"),
        Index("ix_community_needs_community_state", "community_id", "state"),
    )

    id: int = surrogate_key()
    client_id: str | None = Field(default=None, max_length=64, unique=True)  # a resend carries the same one
    fingerprint: str | None = Field(default=None, max_length=64)  # sha256 of the body: a resend or a reuse
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(max_length=4000)
    category: str = Field(max_length=20)
    households: int
    source: str = Field(max_length=20)
    raised_on: date  # the day residents raised it (Beijing)
    state: str = Field(sa_column=Column(String(12), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by: str = Field(max_length=200)


class Meeting(SQLModel, table=True):
    """A meeting of the 协商议事委员会 or the 居民代表大会: its members, who came, the minutes."""

    __tablename__ = "community_meetings"
    __table_args__ = (
        CheckConstraint("members >= 1 AND present >= 0 AND present <= members", name="attendance_consistent"),
        Index("ix_community_meetings_community_held_on", "community_id", "held_on"),
    )

    id: int = surrogate_key()
    client_id: str | None = Field(default=None, max_length=64, unique=True)
    fingerprint: str | None = Field(default=None, max_length=64)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    body: str = Field(sa_column=Column(String(12), nullable=False))
    held_on: date
    place: str = Field(max_length=200)
    members: int
    present: int
    minutes: str = Field(max_length=8000)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by: str = Field(max_length=200)


class MeetingVote(SQLModel, table=True):
    """A meeting's vote on one need, with its outcome under the quorum and majority rules in force."""

    __tablename__ = "community_meeting_votes"
    __table_args__ = (
        UniqueConstraint("meeting_id", "need_id"),
        CheckConstraint("in_favour >= 0 AND against >= 0 AND abstained >= 0", name="counts_positive"),
    )

    id: int = surrogate_key()
    meeting_id: int = Field(foreign_key="community_meetings.id", index=True)
    need_id: int = Field(foreign_key="community_needs.id", index=True)
    in_favour: int
    against: int
    abstained: int
    passed: bool


class Proposal(SQLModel, table=True):
    """逐层递交: an approved need sent by the committee to its street, and the street's answer (once)."""

    __tablename__ = "community_proposals"
    __table_args__ = (Index("ix_community_proposals_street_state", "street_id", "state"),)

    id: int = surrogate_key()
    client_id: str | None = Field(default=None, max_length=64, unique=True)
    fingerprint: str | None = Field(default=None, max_length=64)
    need_id: int = Field(foreign_key="community_needs.id", index=True)
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id")
    title: str = Field(max_length=200)
    summary: str = Field(max_length=4000)
    budget_fen: int | None = fen_column(nullable=True)  # the committee's estimate, if it has one
    deliberation_meeting_id: int = Field(foreign_key="community_meetings.id")
    approval_meeting_id: int = Field(foreign_key="community_meetings.id")
    state: str = Field(sa_column=Column(String(12), nullable=False))
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    sent_by: str = Field(max_length=200)
    due_on: date  # the last working day for the street's answer
    due_provisional: bool = False  # a year unknown to the official calendar was counted Monday to Friday
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    answered_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    answered_by: str | None = Field(default=None, max_length=200)
    answer_reason: str | None = Field(default=None, max_length=2000)
    merged_into_id: int | None = Field(default=None, foreign_key="community_proposals.id")


class Catalogue(SQLModel, table=True):
    """政府购买服务项目目录: one version of a year's catalogue. Published, it never changes; a correction is the
    next version."""

    __tablename__ = "service_catalogues"
    __table_args__ = (UniqueConstraint("year", "version"),)

    id: int = surrogate_key()
    year: int
    version: int
    state: str = Field(sa_column=Column(String(10), nullable=False))
    note: str = Field(default="", max_length=2000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)
    published_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    published_by: str | None = Field(default=None, max_length=200)


class CatalogueItem(SQLModel, table=True):
    """A service the district buys in the year: for one street, or district-wide (street_id empty)."""

    __tablename__ = "service_catalogue_items"
    __table_args__ = (CheckConstraint("budget_fen >= 1", name="budget_positive"),)

    id: int = surrogate_key()
    catalogue_id: int = Field(foreign_key="service_catalogues.id", index=True)
    position: int
    title: str = Field(max_length=200)
    category: str = Field(max_length=20)
    budget_fen: int = fen_column()
    street_id: int | None = Field(default=None, foreign_key="streets.id")
    description: str = Field(default="", max_length=4000)


class CatalogueItemProposal(SQLModel, table=True):
    """A proposal an item of the catalogue answers."""

    __tablename__ = "service_catalogue_item_proposals"

    item_id: int = Field(foreign_key="service_catalogue_items.id", primary_key=True)
    proposal_id: int = Field(foreign_key="community_proposals.id", primary_key=True, index=True)
