"""Subsidy tables: rate cards added through the API, quarterly runs with their lines and held-out estate-months,
street confirmations, disbursement batches, the estate-month-contracts paid (each at most once, ever), and the
ledger."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class RateCardRow(SQLModel, table=True):
    """A rate card added by a district administrator; with config/subsidies.toml's cards it prices the months from
    its date (a card here replaces a configured card of the same date)."""

    __tablename__ = "rate_cards"

    id: int = surrogate_key()
    valid_from: date = Field(unique=True)
    rate_fen: int
    city_share: str = Field(max_length=20)  # decimal text, "0.5" (rows before 0009 may hold "1/2")
    coefficients: str = Field(max_length=400)  # JSON: grade → decimal text
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)


class SubsidyRun(SQLModel, table=True):
    """A quarter's run: draft (recomputable) → confirmed (every street) → approved (finance) → disbursed."""

    __tablename__ = "subsidy_runs"

    id: int = surrogate_key()
    quarter: str = Field(max_length=7, index=True)
    supplementary: bool = False
    state: str = Field(sa_column=Column(String(12), nullable=False))
    cards_sha256: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approved_by: str | None = Field(default=None, max_length=200)


class SubsidyLine(SQLModel, table=True):
    """One estate, month and contract of a run: area × rate × coefficient × the contract's days of the month, with
    the score it rests on (a month served by two companies has a line for each)."""

    __tablename__ = "subsidy_lines"
    __table_args__ = (
        UniqueConstraint("run_id", "estate_id", "month", "contract_id"),
        Index("ix_subsidy_lines_run_company", "run_id", "company_id"),
        CheckConstraint("city_fen + district_fen = amount_fen", name="shares_add_up"),
        CheckConstraint("amount_fen >= 0 AND city_fen >= 0 AND district_fen >= 0", name="not_negative"),
    )

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="subsidy_runs.id")
    estate_id: int = Field(foreign_key="estates.id")
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id", index=True)
    company_id: int = Field(foreign_key="companies.id")
    contract_id: int = Field(foreign_key="service_contracts.id")
    month: str = Field(max_length=7)
    score_id: int = Field(foreign_key="estate_scores.id")
    score_centi: int | None = None
    grade: str = Field(max_length=10)
    vetoed: bool
    coefficient: str = Field(max_length=20)  # as applied, decimal text, e.g. "0.95"; "0" for an upheld veto
    area_centi_m2: int
    days: int
    days_in_month: int
    amount_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()


class HeldOut(SQLModel, table=True):
    """An estate-month a run could not pay yet, and why; a later supplementary run picks it up once it can."""

    __tablename__ = "subsidy_held_out"
    __table_args__ = (UniqueConstraint("run_id", "estate_id", "month"),)

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="subsidy_runs.id", index=True)
    estate_id: int = Field(foreign_key="estates.id")
    street_id: int = Field(foreign_key="streets.id")
    month: str = Field(max_length=7)
    reason: str = Field(max_length=40)  # month_not_locked, veto_pending, no_contract, no_score


class StreetConfirmation(SQLModel, table=True):
    __tablename__ = "subsidy_street_confirmations"
    __table_args__ = (UniqueConstraint("run_id", "street_id"),)

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="subsidy_runs.id")
    street_id: int = Field(foreign_key="streets.id")
    confirmed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    confirmed_by: str = Field(max_length=200)
    total_fen: int = fen_column()  # the street's total as confirmed


class DisbursementBatch(SQLModel, table=True):
    """A numbered batch issued for an approved run (one per run), immutable; an adjustment batch references the
    batch it corrects."""

    __tablename__ = "disbursement_batches"

    id: int = surrogate_key()
    number: str = Field(max_length=40, unique=True)
    run_id: int | None = Field(default=None, foreign_key="subsidy_runs.id", unique=True)
    corrects_batch_id: int | None = Field(default=None, foreign_key="disbursement_batches.id")
    client_id: str | None = Field(default=None, max_length=64, unique=True)  # an adjustment's retry key
    reason: str | None = Field(default=None, max_length=2000)  # why an adjustment was issued
    total_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()
    lines: int
    checksum: str = Field(max_length=64)  # sha256 of the batch's canonical content
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    issued_by: str = Field(max_length=200)


class PaidEstateMonth(SQLModel, table=True):
    """The database's guarantee: an estate's month under one contract is paid in at most one batch, ever (primary
    key), so two companies serving one month are each paid once for their own days."""

    __tablename__ = "paid_estate_months"

    estate_id: int = Field(foreign_key="estates.id", primary_key=True)
    month: str = Field(max_length=7, primary_key=True)
    contract_id: int = Field(foreign_key="service_contracts.id", primary_key=True)
    batch_id: int = Field(foreign_key="disbursement_batches.id", index=True)
    line_id: int = Field(foreign_key="subsidy_lines.id", unique=True)


class LedgerEntry(SQLModel, table=True):
    """What the city and the district owe a company for a line of a batch."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("line_id", "payer"),
        UniqueConstraint("adjustment_line_id", "payer"),
        CheckConstraint("(line_id IS NULL) <> (adjustment_line_id IS NULL)", name="one_source"),
        Index("ix_ledger_entries_company_quarter", "company_id", "quarter"),
        CheckConstraint("payer IN ('city', 'district')", name="payer_known"),
    )

    id: int = surrogate_key()
    batch_id: int = Field(foreign_key="disbursement_batches.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="subsidy_lines.id")
    adjustment_line_id: int | None = Field(default=None, foreign_key="adjustment_lines.id")
    company_id: int = Field(foreign_key="companies.id")
    quarter: str = Field(max_length=7)
    payer: str = Field(max_length=10)
    amount_fen: int = fen_column()


class AdjustmentLine(SQLModel, table=True):
    """A correction of a paid line, in an adjustment batch that references the batch it corrects: the difference
    between what the line should have paid and what it (with earlier adjustments) did pay; may be negative."""

    __tablename__ = "adjustment_lines"
    __table_args__ = (CheckConstraint("city_fen + district_fen = delta_fen", name="shares_add_up"),)

    id: int = surrogate_key()
    batch_id: int = Field(foreign_key="disbursement_batches.id", index=True)
    line_id: int = Field(foreign_key="subsidy_lines.id", index=True)
    estate_id: int = Field(foreign_key="estates.id")
    company_id: int = Field(foreign_key="companies.id")
    month: str = Field(max_length=7)
    corrected_amount_fen: int = fen_column()
    delta_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()
