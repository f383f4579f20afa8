"""Subsidy lines per estate, month and contract: a month served by two companies has a line for each, and the
exactly-once guarantee becomes per estate-month-contract (paid_estate_months gains contract_id in its primary key,
filled from the line each row paid). Shares and coefficients stored as fractions ("19/20") become decimal text
("0.95"), as the API and the documents show them.

SQLite cannot change a constraint in place; its tables are rebuilt by copying them aside, dropping and creating
them under the same name and copying the rows back, with foreign keys deferred to the commit (Alembic's batch mode
renames a copy into place, which a table other tables reference with rows cannot survive while foreign keys are on).
The append-only triggers of paid_estate_months and rate_cards are lifted for the change and made again.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 22:30:00.000000
"""

from __future__ import annotations

import json
from fractions import Fraction

import sqlalchemy as sa
import sqlmodel
from alembic import op

from foundation.append_only import drop_append_only, make_append_only


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

LINE_COLUMNS = (
    "id, run_id, estate_id, community_id, street_id, company_id, contract_id, month, score_id, score_centi, grade, vetoed, "
    "coefficient, area_centi_m2, days, days_in_month, amount_fen, city_fen, district_fen"
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _decimal_text(text: str) -> str:
    """A stored ratio as decimal text (the one formatter is foundation.ratios; a migration keeps its own copy
    so that it never changes with the code)."""
    value = Fraction(text)
    whole, rest = divmod(value.numerator, value.denominator)
    digits = ""
    while rest and len(digits) < 40:
        digit, rest = divmod(rest * 10, value.denominator)
        digits += str(digit)
    return text if rest else f"{whole}" + (f".{digits}" if digits else "")


def _create_subsidy_lines(unique: list[str]) -> None:
    op.create_table('subsidy_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('score_centi', sa.Integer(), nullable=True),
    sa.Column('grade', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('vetoed', sa.Boolean(), nullable=False),
    sa.Column('coefficient', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('area_centi_m2', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('days_in_month', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('city_fen', sa.Integer(), nullable=False),
    sa.Column('district_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount_fen >= 0 AND city_fen >= 0 AND district_fen >= 0', name=op.f('ck_subsidy_lines_not_negative')),
    sa.CheckConstraint('city_fen + district_fen = amount_fen', name=op.f('ck_subsidy_lines_shares_add_up')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_subsidy_lines_community_id_communities')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_subsidy_lines_company_id_companies')),
    sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_subsidy_lines_contract_id_service_contracts')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_subsidy_lines_estate_id_estates')),
    sa.ForeignKeyConstraint(['run_id'], ['subsidy_runs.id'], name=op.f('fk_subsidy_lines_run_id_subsidy_runs')),
    sa.ForeignKeyConstraint(['score_id'], ['estate_scores.id'], name=op.f('fk_subsidy_lines_score_id_estate_scores')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_subsidy_lines_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_lines')),
    sa.UniqueConstraint(*unique, name=op.f('uq_subsidy_lines_' + '_'.join(unique)))
    )
    op.create_index('ix_subsidy_lines_run_company', 'subsidy_lines', ['run_id', 'company_id'], unique=False)
    op.create_index(op.f('ix_subsidy_lines_street_id'), 'subsidy_lines', ['street_id'], unique=False)


def _create_paid(primary: list[str]) -> None:
    with_contract = 'contract_id' in primary
    op.create_table('paid_estate_months',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    *([sa.Column('contract_id', sa.Integer(), nullable=False)] if with_contract else []),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['disbursement_batches.id'], name=op.f('fk_paid_estate_months_batch_id_disbursement_batches')),
    *([sa.ForeignKeyConstraint(['contract_id'], ['service_contracts.id'], name=op.f('fk_paid_estate_months_contract_id_service_contracts'))] if with_contract else []),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_paid_estate_months_estate_id_estates')),
    sa.ForeignKeyConstraint(['line_id'], ['subsidy_lines.id'], name=op.f('fk_paid_estate_months_line_id_subsidy_lines')),
    sa.PrimaryKeyConstraint(*primary, name=op.f('pk_paid_estate_months')),
    sa.UniqueConstraint('line_id', name=op.f('uq_paid_estate_months_line_id'))
    )
    op.create_index(op.f('ix_paid_estate_months_batch_id'), 'paid_estate_months', ['batch_id'], unique=False)


def _rebuild_sqlite(table: str, create, columns: str, select: str) -> None:  # type: ignore[no-untyped-def]
    """Copy the rows aside, drop the table, create it anew under its name and copy the rows back; rows of other
    tables that reference it are checked at the commit, when the rows are back."""
    op.execute("PRAGMA defer_foreign_keys = ON")
    op.execute(f"CREATE TEMP TABLE _{table}_copy AS {select}")
    op.execute(f"DROP TABLE {table}")
    create()
    op.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _{table}_copy")
    op.execute(f"DROP TABLE _{table}_copy")


def _decimal_ratios() -> None:
    bind = op.get_bind()
    for line_id, coefficient in bind.execute(sa.text("SELECT id, coefficient FROM subsidy_lines WHERE coefficient LIKE '%/%'")).all():
        bind.execute(sa.text("UPDATE subsidy_lines SET coefficient = :c WHERE id = :i"), {"c": _decimal_text(coefficient), "i": line_id})
    cards = bind.execute(sa.text("SELECT id, city_share, coefficients FROM rate_cards")).all()
    changed = [
        (card_id, _decimal_text(share), json.dumps({g: _decimal_text(v) for g, v in json.loads(coefficients).items()}, ensure_ascii=False), share, coefficients)
        for card_id, share, coefficients in cards
    ]
    changed = [row for row in changed if (row[1], row[2]) != (row[3], row[4])]
    if changed:
        drop_append_only(op, ["rate_cards"])
        for card_id, share, coefficients, _, _ in changed:
            bind.execute(sa.text("UPDATE rate_cards SET city_share = :s, coefficients = :c WHERE id = :i"), {"s": share, "c": coefficients, "i": card_id})
        make_append_only(op, ["rate_cards"])


def upgrade() -> None:
    _decimal_ratios()
    drop_append_only(op, ["paid_estate_months"])
    if _sqlite():
        _rebuild_sqlite('subsidy_lines', lambda: _create_subsidy_lines(['run_id', 'estate_id', 'month', 'contract_id']), LINE_COLUMNS, f"SELECT {LINE_COLUMNS} FROM subsidy_lines")
        _rebuild_sqlite(
            'paid_estate_months', lambda: _create_paid(['estate_id', 'month', 'contract_id']), "estate_id, month, contract_id, batch_id, line_id",
            "SELECT p.estate_id, p.month, l.contract_id, p.batch_id, p.line_id FROM paid_estate_months p JOIN subsidy_lines l ON l.id = p.line_id",
        )
    else:
        op.drop_constraint('uq_subsidy_lines_run_id_estate_id_month', 'subsidy_lines', type_='unique')
        op.create_unique_constraint(op.f('uq_subsidy_lines_run_id_estate_id_month_contract_id'), 'subsidy_lines', ['run_id', 'estate_id', 'month', 'contract_id'])
        op.add_column('paid_estate_months', sa.Column('contract_id', sa.Integer(), nullable=True))
        op.execute("UPDATE paid_estate_months SET contract_id = (SELECT l.contract_id FROM subsidy_lines l WHERE l.id = paid_estate_months.line_id)")
        op.alter_column('paid_estate_months', 'contract_id', existing_type=sa.Integer(), nullable=False)
        op.drop_constraint('pk_paid_estate_months', 'paid_estate_months', type_='primary')
        op.create_primary_key(op.f('pk_paid_estate_months'), 'paid_estate_months', ['estate_id', 'month', 'contract_id'])
        op.create_foreign_key(op.f('fk_paid_estate_months_contract_id_service_contracts'), 'paid_estate_months', 'service_contracts', ['contract_id'], ['id'])
    make_append_only(op, ["paid_estate_months"])


def downgrade() -> None:
    # Refused by the database (primary key) if some estate-month was paid under two contracts: that money is real.
    drop_append_only(op, ["paid_estate_months"])
    if _sqlite():
        _rebuild_sqlite('paid_estate_months', lambda: _create_paid(['estate_id', 'month']), "estate_id, month, batch_id, line_id", "SELECT estate_id, month, batch_id, line_id FROM paid_estate_months")
        _rebuild_sqlite('subsidy_lines', lambda: _create_subsidy_lines(['run_id', 'estate_id', 'month']), LINE_COLUMNS, f"SELECT {LINE_COLUMNS} FROM subsidy_lines")
    else:
        op.drop_constraint('fk_paid_estate_months_contract_id_service_contracts', 'paid_estate_months', type_='foreignkey')
        op.drop_constraint('pk_paid_estate_months', 'paid_estate_months', type_='primary')
        op.create_primary_key(op.f('pk_paid_estate_months'), 'paid_estate_months', ['estate_id', 'month'])
        op.drop_column('paid_estate_months', 'contract_id')
        op.drop_constraint('uq_subsidy_lines_run_id_estate_id_month_contract_id', 'subsidy_lines', type_='unique')
        op.create_unique_constraint(op.f('uq_subsidy_lines_run_id_estate_id_month'), 'subsidy_lines', ['run_id', 'estate_id', 'month'])
    make_append_only(op, ["paid_estate_months"])
