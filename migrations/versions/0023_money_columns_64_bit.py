"""Money columns are 64-bit: PostgreSQL's INTEGER stops at 2^31 fen (21.5 million yuan), which a district's yearly
budget, a quarter's batch or a catalogue of bought services passes; the API already accepts such amounts. SQLite's
INTEGER is 64-bit already, so only PostgreSQL's columns change type (no table is rebuilt, so the append-only
triggers stay as they are).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-26 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

COLUMNS = {
    "programme_approvals": ("total_fen",),
    "programme_lines": ("amount_fen", "city_fen", "district_fen"),
    "programme_batches": ("total_fen", "city_fen", "district_fen"),
    "programme_adjustments": ("corrected_amount_fen", "delta_fen", "city_fen", "district_fen"),
    "programme_ledger": ("amount_fen",),
    "programme_budgets": ("amount_fen", "spent_fen"),
    "subsidy_lines": ("amount_fen", "city_fen", "district_fen"),
    "subsidy_street_confirmations": ("total_fen",),
    "disbursement_batches": ("total_fen", "city_fen", "district_fen"),
    "ledger_entries": ("amount_fen",),
    "adjustment_lines": ("corrected_amount_fen", "delta_fen", "city_fen", "district_fen"),
    "activity_funds": ("allocated_fen", "held_fen", "lapsed_fen"),
    "activity_claims": ("amount_fen",),
    "issued_documents": ("total_fen",),
    "community_proposals": ("budget_fen",),
    "service_catalogue_items": ("budget_fen",),
}


def _retype(to: sa.types.TypeEngine[int], was: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to, existing_type=was)


def upgrade() -> None:
    _retype(sa.BigInteger(), sa.Integer())


def downgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())
