"""Activity funds' tables: a fund per holder and year (its CHECK keeps the balance from going below zero, whoever
claims at the same moment), receipts, and claims (an invoice number is claimed once, ever: a unique key)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class ActivityFund(SQLModel, table=True):
    """What a community or street may spend in a year: allocated; held by claims waiting or approved; lapsed when
    the year ended. held + lapsed never exceeds allocated (the database refuses it)."""

    __tablename__ = "activity_funds"
    __table_args__ = (
        UniqueConstraint("year", "holder"),
        CheckConstraint("held_fen >= 0 AND lapsed_fen >= 0 AND held_fen + lapsed_fen <= allocated_fen", name="never_below_zero"),
        Index("ix_activity_funds_street_year", "street_id", "year"),
    )

    id: int = surrogate_key()
    year: int
    holder: str = Field(max_length=40)  # community:<id> or street:<id>
    street_id: int  # the holder's street (a street's own id for a street)
    allocated_fen: int = fen_column()
    held_fen: int = fen_column(default=0)
    lapsed_fen: int = fen_column(default=0)
    opened_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    opened_by: str = Field(max_length=200)
    lapsed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ActivityReceipt(SQLModel, table=True):
    """A photo or scan of a receipt, uploaded before the claim that shows it (bytes in the blob store)."""

    __tablename__ = "activity_receipts"

    id: int = surrogate_key()
    sha256: str = Field(max_length=64)
    content_type: str = Field(max_length=40)
    size_bytes: int
    holder: str = Field(max_length=40, index=True)
    uploaded_by_user_id: int | None = None
    uploaded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ActivityClaim(SQLModel, table=True):
    """Spending claimed from a fund: pending → approved (then paid through the engine, once) or refused with why."""

    __tablename__ = "activity_claims"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("state IN ('pending', 'approved', 'refused')", name="state_known"),
        Index("ix_activity_claims_state_due", "state", "due_on"),
    )

    id: int = surrogate_key()
    client_id: str = Field(max_length=64, unique=True)  # a retry files the claim once
    fund_id: int = Field(foreign_key="activity_funds.id", index=True)
    holder: str = Field(max_length=40)
    street_id: int = Field(index=True)
    year: int
    spent_on: date
    purpose: str = Field(max_length=20)
    description: str = Field(max_length=500)
    amount_fen: int = fen_column()
    invoice_number: str = Field(max_length=40, unique=True)  # across the district, forever
    receipt_id: int = Field(foreign_key="activity_receipts.id", unique=True)
    state: str = Field(sa_column=Column(String(10), nullable=False))
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    claimed_by: str = Field(max_length=200)
    claimed_by_user_id: int | None = None
    due_on: date  # decided by then (working days)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    decided_by: str | None = Field(default=None, max_length=200)
    decided_by_user_id: int | None = None
    refusal_reason: str | None = Field(default=None, max_length=2000)
