"""The property subsidy's own tables. Its runs, lines, approvals, batches, the line keys paid, the ledger and
adjustments are the programme engine's (subsidies/engine/tables.py, programme "property"); here are the rate cards
added through the API, each line's facts (the estate, month and contract it pays, the score it rests on and the
figures it was priced by), the estate-months a run held out, and the ids runs had before they moved onto the
engine (migration 0049)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Column, Index, UniqueConstraint, event, join
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import DeclarativeBase, column_property
from sqlmodel import Field, SQLModel

from foundation.db import UTCDateTime, surrogate_key
from subsidies.engine.tables import ProgrammeLine


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


class PropertyLine(SQLModel, table=True):
    """The facts of one engine line of the property subsidy (one estate, month and contract): area × rate ×
    coefficient × the contract's days of the month, with the score it rests on (a month served by two companies has
    a line for each). What the line pays is the engine's line."""

    __tablename__ = "property_lines"
    __table_args__ = (Index("ix_property_lines_estate_month", "estate_id", "month"),)

    line_id: int = Field(foreign_key="programme_lines.id", primary_key=True)
    estate_id: int = Field(foreign_key="estates.id")
    community_id: int = Field(foreign_key="communities.id")
    street_id: int = Field(foreign_key="streets.id", index=True)
    company_id: int = Field(foreign_key="companies.id", index=True)
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


class HeldOut(SQLModel, table=True):
    """An estate-month a run could not pay yet, and why; a later supplementary run picks it up once it can."""

    __tablename__ = "property_held_out"
    __table_args__ = (UniqueConstraint("run_id", "estate_id", "month"),)

    id: int = surrogate_key()
    run_id: int = Field(foreign_key="programme_runs.id", index=True)
    estate_id: int = Field(foreign_key="estates.id")
    street_id: int = Field(foreign_key="streets.id")
    month: str = Field(max_length=7)
    reason: str = Field(max_length=40)  # month_not_locked, veto_pending, no_contract, no_score


class LegacyRun(SQLModel, table=True):
    """A run made before the property subsidy moved onto the engine (migration 0049), and the id it had then: the
    audit log names it by that id (`subsidy_run`), so who made it is still found (separation of duties)."""

    __tablename__ = "property_legacy_runs"

    run_id: int = Field(foreign_key="programme_runs.id", primary_key=True)
    legacy_id: int = Field(unique=True)


class _Joined(DeclarativeBase):
    metadata = SQLModel.metadata


_LINES = SQLModel.metadata.tables[ProgrammeLine.__tablename__]
_FACTS = SQLModel.metadata.tables[PropertyLine.__tablename__]


class SubsidyLine(_Joined):
    """A line of the property subsidy as a whole, read only: the engine's line (what it pays, to whom, under which
    street) joined with its facts. Nothing is stored through it (`_read_only`): the engine writes the line and
    the programme its facts."""

    __table__ = join(_LINES, _FACTS, _LINES.c.id == _FACTS.c.line_id)
    __mapper_args__ = {"primary_key": [_LINES.c.id]}
    id = column_property(_LINES.c.id, _FACTS.c.line_id)

    if TYPE_CHECKING:
        run_id: int
        line_key: str
        holder: str
        period: str
        amount_fen: int
        city_fen: int
        district_fen: int
        reason: str
        evidence: str
        estate_id: int
        community_id: int
        street_id: int
        company_id: int
        contract_id: int
        month: str
        score_id: int
        score_centi: int | None
        grade: str
        vetoed: bool
        coefficient: str
        area_centi_m2: int
        days: int
        days_in_month: int



def _read_only(mapper: object, connection: object, line: SubsidyLine) -> None:
    """A line read through SubsidyLine is never written through it: what it pays is the engine's to write (a paid
    line's amount changes only by an adjustment), its facts the programme's as it is priced."""
    raise InvalidRequestError(f"property line {line.id} is read through SubsidyLine; it is written as the engine's ProgrammeLine and its PropertyLine")


for _write in ("before_insert", "before_update", "before_delete"):
    event.listen(SubsidyLine, _write, _read_only)
