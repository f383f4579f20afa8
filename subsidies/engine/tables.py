"""The engine's tables, shared by every programme: runs, their approvals and lines, batches, the line keys paid (each
at most once per programme, ever: the primary key), the ledger, adjustments and budgets (a balance row whose CHECK
keeps what was spent within what was granted, updated in the batch's own transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, Index, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, fen_column, surrogate_key


class ProgrammeRun(SQLModel, table=True):
    """A programme's run for a period: draft (recomputable) → one state per approval step → disbursed."""

    __tablename__ = "programme_runs"
    __table_args__ = (Index("ix_programme_runs_programme_period", "programme", "period"),)

    id: int = surrogate_key()
    programme: str = Field(max_length=30)
    period: str = Field(max_length=10)  # 2026-Q2, 2026-05 or 2026
    supplementary: bool = False  # picks up what earlier runs of the period could not pay yet
    state: str = Field(sa_column=Column(String(20), nullable=False))
    rules_sha256: str = Field(max_length=64)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(max_length=200)
    computed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProgrammeApproval(SQLModel, table=True):
    """One approval of a run: a step given by a holder (a street confirming its part) or for the whole run (holder
    "", finance approving), with the total it approved."""

    __tablename__ = "programme_approvals"
    __table_args__ = (UniqueConstraint("run_id", "step", "holder"),)

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="programme_runs.id", index=True)
    step: str = Field(max_length=30)
    holder: str = Field(max_length=40)  # e.g. "street:3"; "" for the run as a whole
    approved_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    approved_by: str = Field(max_length=200)
    total_fen: int = fen_column()


class ProgrammeLine(SQLModel, table=True):
    """What a payee is paid for a beneficiary in a period, why, on what evidence, priced by which rules."""

    __tablename__ = "programme_lines"
    __table_args__ = (
        UniqueConstraint("run_id", "line_key"),
        Index("ix_programme_lines_run_payee", "run_id", "payee_kind", "payee_id"),
        Index("ix_programme_lines_run_holder", "run_id", "holder"),
        CheckConstraint("city_fen + district_fen = amount_fen", name="shares_add_up"),
        CheckConstraint("amount_fen >= 0", name="not_negative"),
    )

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="programme_runs.id")
    programme: str = Field(max_length=30)
    line_key: str = Field(max_length=160)
    payee_kind: str = Field(max_length=20)
    payee_id: int
    holder: str = Field(max_length=40)
    beneficiary: str = Field(max_length=60)
    period: str = Field(max_length=10)
    amount_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()
    reason: str = Field(max_length=400)
    evidence: str = Field(max_length=400)
    rules_sha256: str = Field(max_length=64)


class ProgrammeBatch(SQLModel, table=True):
    """A numbered batch issued for a run in its final approved state (one per run), immutable; an adjustment batch
    references the batch it corrects."""

    __tablename__ = "programme_batches"

    id: int = surrogate_key()
    programme: str = Field(max_length=30, index=True)
    number: str = Field(max_length=40, unique=True)
    run_id: int | None = Field(default=None, foreign_key="programme_runs.id", unique=True)
    corrects_batch_id: int | None = Field(default=None, foreign_key="programme_batches.id")
    client_id: str | None = Field(default=None, max_length=64, unique=True)  # an adjustment's retry key
    reason: str | None = Field(default=None, max_length=2000)
    total_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()
    lines: int
    checksum: str = Field(max_length=64)
    issued_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    issued_by: str = Field(max_length=200)


class PaidLine(SQLModel, table=True):
    """The database's guarantee: a programme pays a line key in at most one batch, ever (primary key)."""

    __tablename__ = "programme_paid_lines"

    programme: str = Field(max_length=30, primary_key=True)
    line_key: str = Field(max_length=160, primary_key=True)
    batch_id: int = Field(foreign_key="programme_batches.id", index=True)
    line_id: int = Field(foreign_key="programme_lines.id", unique=True)


class ProgrammeAdjustment(SQLModel, table=True):
    """A correction of a paid line in an adjustment batch: what the line should have paid and the difference from
    what it (with earlier adjustments) did pay; may be negative."""

    __tablename__ = "programme_adjustments"
    __table_args__ = (CheckConstraint("city_fen + district_fen = delta_fen", name="shares_add_up"),)

    id: int = surrogate_key()
    batch_id: int = Field(foreign_key="programme_batches.id", index=True)
    line_id: int = Field(foreign_key="programme_lines.id", index=True)
    corrected_amount_fen: int = fen_column()
    delta_fen: int = fen_column()
    city_fen: int = fen_column()
    district_fen: int = fen_column()


class ProgrammeLedgerEntry(SQLModel, table=True):
    """What a payer owes a payee for a line (or an adjustment) of a batch."""

    __tablename__ = "programme_ledger"
    __table_args__ = (
        UniqueConstraint("line_id", "payer"),
        UniqueConstraint("adjustment_id", "payer"),
        CheckConstraint("(line_id IS NULL) <> (adjustment_id IS NULL)", name="one_source"),
        CheckConstraint("payer IN ('city', 'district')", name="payer_known"),
        Index("ix_programme_ledger_programme_period", "programme", "period"),
    )

    id: int = surrogate_key()
    programme: str = Field(max_length=30)
    batch_id: int = Field(foreign_key="programme_batches.id", index=True)
    line_id: int | None = Field(default=None, foreign_key="programme_lines.id")
    adjustment_id: int | None = Field(default=None, foreign_key="programme_adjustments.id")
    payee_kind: str = Field(max_length=20)
    payee_id: int
    period: str = Field(max_length=10)  # the run's period
    payer: str = Field(max_length=10)
    amount_fen: int = fen_column()


class Budget(SQLModel, table=True):
    """What a programme may pay in a year (holder "": the whole programme; else one street's or community's), and
    what its batches took: the CHECK refuses any batch that would take more, whoever issues it at the same time."""

    __tablename__ = "programme_budgets"
    __table_args__ = (
        UniqueConstraint("programme", "year", "holder"),
        CheckConstraint("spent_fen >= 0 AND spent_fen <= amount_fen", name="within_budget"),
    )

    id: int = surrogate_key()
    programme: str = Field(max_length=30)
    year: int
    holder: str = Field(max_length=40)
    amount_fen: int = fen_column()
    spent_fen: int = fen_column(default=0)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_by: str = Field(max_length=200)


class AdjustmentProposal(SQLModel, table=True):
    """A correction of an issued batch as one finance officer proposes it; another approves it, and only then is the
    adjustment batch issued (separation of duties: nobody moves money alone). For every programme, the property
    subsidy's batches too (`programme` "property")."""

    __tablename__ = "adjustment_proposals"
    __table_args__ = (UniqueConstraint("programme", "client_id"), Index("ix_adjustment_proposals_programme_state", "programme", "state"))

    id: int = surrogate_key()
    programme: str = Field(max_length=30)
    batch_id: int  # the batch corrected, in the programme's batch table
    client_id: str = Field(max_length=64)  # the proposal's retry key, and then its adjustment batch's
    reason: str = Field(max_length=2000)
    corrections: str = Field(sa_column=Column(Text, nullable=False))  # JSON: [[line id, amount it should have paid in fen], ...]
    delta_fen: int = fen_column()  # what the corrections pay (+) or recover (-) as proposed
    state: str = Field(sa_column=Column(String(12), nullable=False))  # proposed → issued
    proposed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    proposed_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    proposed_by: str = Field(max_length=200)
    issued_batch_id: int | None = None
    approved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    approved_by: str | None = Field(default=None, max_length=200)


class PayeeAccount(SQLModel, table=True):
    """The bank account a programme's payee (a provider or social organisation, a community, a street) is paid into,
    as its payment notices and the batch's spreadsheet print it. An administrator records it; every change is in the
    audit log. (The property companies' accounts are on their registry rows.)"""

    __tablename__ = "payee_accounts"

    party: str = Field(primary_key=True, max_length=40)  # e.g. "organisation:12"
    bank_name: str = Field(max_length=100)
    bank_account: str = Field(max_length=40)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by_user_id: int | None = Field(default=None, foreign_key="users.id")
    recorded_by: str = Field(max_length=200)
