"""Calls for community services and what follows them: lots, criteria, invitations, bids and their documents, the
panel, conflict declarations, scores, awards, objections, contracts and tranches."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key


class Call(SQLModel, table=True):
    """A call (招标/征集) opened by the district (street_id empty) or a street."""

    __tablename__ = "calls"
    __table_args__ = (
        CheckConstraint("budget_fen > 0", name="budget_positive"),
        CheckConstraint("bid_deadline > opened_at", name="deadline_after_opening"),
    )

    id: int = surrogate_key()
    number: str = Field(max_length=40, unique=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    category: str = Field(max_length=20)
    method: str = Field(sa_column=Column(String(20), nullable=False))
    method_reason: str = Field(default="", max_length=2000)
    street_id: int | None = Field(default=None, foreign_key="streets.id", index=True)
    # the item of the year's catalogue of bought services (目录) the call buys from; empty for calls opened before
    catalogue_item_id: int | None = Field(default=None, foreign_key="service_catalogue_items.id", index=True)
    budget_fen: int = Field(sa_column=Column(BigInteger, nullable=False))  # the lots' sum: beyond 32 bits with many lots
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    bid_deadline: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    status: str = Field(sa_column=Column(String(20), nullable=False))  # open, evaluating, publicity, awarded, failed
    repeated_from_call_id: int | None = Field(default=None, foreign_key="calls.id", unique=True)
    draw_seed: int | None = None  # the seed of the tie-breaking lot, recorded when the evaluation closes
    created_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class CallLot(SQLModel, table=True):
    __tablename__ = "call_lots"
    __table_args__ = (CheckConstraint("budget_fen > 0", name="lot_budget_positive"),)

    call_id: int = Field(foreign_key="calls.id", primary_key=True)
    number: int = Field(primary_key=True)
    title: str = Field(max_length=200)
    budget_fen: int


class CallCriterion(SQLModel, table=True):
    __tablename__ = "call_criteria"
    __table_args__ = (CheckConstraint("weight > 0 AND weight <= 100", name="weight_in_range"),)

    call_id: int = Field(foreign_key="calls.id", primary_key=True)
    number: int = Field(primary_key=True)
    name: str = Field(max_length=100)
    weight: int


class CallInvitation(SQLModel, table=True):
    """An organisation invited to a competitive negotiation."""

    __tablename__ = "call_invitations"

    call_id: int = Field(foreign_key="calls.id", primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", primary_key=True, index=True)


class Bid(SQLModel, table=True):
    """A bid for one lot. An organisation has one live bid per lot (`live_key` is unique and empty once the bid is
    withdrawn or replaced); a replacement names the bid it replaces."""

    __tablename__ = "bids"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: int = surrogate_key()
    call_id: int = Field(foreign_key="calls.id", index=True)
    lot_number: int
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    client_id: str = Field(max_length=36, unique=True)  # the submitter's id of this submission: a retry stores one bid
    plan: str = Field(sa_column=Column(Text, nullable=False))
    team: str = Field(sa_column=Column(Text, nullable=False))
    amount_fen: int
    status: str = Field(sa_column=Column(String(20), nullable=False))  # submitted, withdrawn, replaced, invalid
    live_key: str | None = Field(default=None, max_length=60, unique=True)
    replaces_bid_id: int | None = Field(default=None, foreign_key="bids.id")
    invalid_reason: str = Field(default="", max_length=2000)
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    submitted_by: str = Field(max_length=200)
    withdrawn_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class BidDocument(SQLModel, table=True):
    __tablename__ = "bid_documents"

    id: int = surrogate_key()
    bid_id: int = Field(foreign_key="bids.id", index=True)
    name: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64, index=True)


class PanelMember(SQLModel, table=True):
    """A member of a call's evaluation panel; `outside` is an expert from outside the administration."""

    __tablename__ = "panel_members"

    call_id: int = Field(foreign_key="calls.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    outside: bool
    declared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    signed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ConflictDeclaration(SQLModel, table=True):
    """A panel member's declared conflict of interest with a bidding organisation (recused from its bids)."""

    __tablename__ = "conflict_declarations"

    call_id: int = Field(foreign_key="calls.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    organisation_id: int = Field(foreign_key="organisations.id", primary_key=True)
    reason: str = Field(default="", max_length=2000)


class Score(SQLModel, table=True):
    """One member's points for one criterion of one bid."""

    __tablename__ = "bid_scores"
    __table_args__ = (CheckConstraint("points >= 0 AND points <= 100", name="points_in_range"),)

    bid_id: int = Field(foreign_key="bids.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    criterion_number: int = Field(primary_key=True)
    call_id: int = Field(foreign_key="calls.id", index=True)
    points: int
    scored_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class Award(SQLModel, table=True):
    """The result of a lot, published (公示) for its publicity period; it stands, or is withdrawn after an upheld
    objection. One pending or standing award per lot (`live_key`)."""

    __tablename__ = "awards"

    id: int = surrogate_key()
    call_id: int = Field(foreign_key="calls.id", index=True)
    lot_number: int
    bid_id: int = Field(foreign_key="bids.id", unique=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    amount_fen: int
    score: str = Field(max_length=10)
    status: str = Field(sa_column=Column(String(20), nullable=False))  # pending, active, cancelled
    live_key: str | None = Field(default=None, max_length=40, unique=True)
    published_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    publicity_ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    objection_deadline: date
    stood_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class Objection(SQLModel, table=True):
    """A bidder's objection (质疑) to an award, and the buyer's written answer."""

    __tablename__ = "award_objections"
    __table_args__ = (UniqueConstraint("award_id", "organisation_id", name="uq_award_objections_award_id_organisation_id"),)

    id: int = surrogate_key()
    award_id: int = Field(foreign_key="awards.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    objected_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    answer_due_on: date
    answer: str | None = Field(default=None, sa_column=Column(Text))
    upheld: bool | None = None
    answered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    answered_by: str | None = Field(default=None, max_length=200)


class CallContract(SQLModel, table=True):
    """The contract signed on a standing award."""

    __tablename__ = "call_contracts"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: int = surrogate_key()
    number: str = Field(max_length=50, unique=True)
    award_id: int = Field(foreign_key="awards.id", unique=True)
    call_id: int = Field(foreign_key="calls.id", index=True)
    organisation_id: int = Field(foreign_key="organisations.id", index=True)
    amount_fen: int
    signed_on: date
    starts_on: date
    ends_on: date
    signed_by: str = Field(max_length=200)


class Tranche(SQLModel, table=True):
    """A part of a contract's price, payable once its condition is met (`payable_on`); paid by the programme
    engine (programme `community_tranches`)."""

    __tablename__ = "contract_tranches"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="tranche_not_negative"),)

    contract_id: int = Field(foreign_key="call_contracts.id", primary_key=True)
    number: int = Field(primary_key=True)
    share: str = Field(max_length=10)
    amount_fen: int
    condition: str = Field(max_length=20)
    payable_on: date | None = None
