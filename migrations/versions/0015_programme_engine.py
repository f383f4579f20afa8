"""The programme engine: runs, approvals, lines, batches, the line keys paid (primary key: a programme pays a key
once, ever), the ledger, adjustments and budgets (a CHECK keeps what was spent within what was granted). Batches,
paid keys, adjustments and ledger entries are append-only (triggers refuse UPDATE and DELETE).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 00:54:38.888346
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

APPEND_ONLY = ("programme_batches", "programme_paid_lines", "programme_adjustments", "programme_ledger")


def upgrade() -> None:
    op.create_table('programme_budgets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('spent_fen', sa.Integer(), nullable=False),
    sa.Column('updated_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint('spent_fen >= 0 AND spent_fen <= amount_fen', name=op.f('ck_programme_budgets_within_budget')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_budgets')),
    sa.UniqueConstraint('programme', 'year', 'holder', name=op.f('uq_programme_budgets_programme_year_holder'))
    )
    op.create_table('programme_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('supplementary', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('rules_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('computed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_runs'))
    )
    with op.batch_alter_table('programme_runs', schema=None) as batch_op:
        batch_op.create_index('ix_programme_runs_programme_period', ['programme', 'period'], unique=False)

    op.create_table('programme_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('step', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('approved_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['programme_runs.id'], name=op.f('fk_programme_approvals_run_id_programme_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_approvals')),
    sa.UniqueConstraint('run_id', 'step', 'holder', name=op.f('uq_programme_approvals_run_id_step_holder'))
    )
    with op.batch_alter_table('programme_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_approvals_run_id'), ['run_id'], unique=False)

    op.create_table('programme_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('corrects_batch_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('city_fen', sa.Integer(), nullable=False),
    sa.Column('district_fen', sa.Integer(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('checksum', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['corrects_batch_id'], ['programme_batches.id'], name=op.f('fk_programme_batches_corrects_batch_id_programme_batches')),
    sa.ForeignKeyConstraint(['run_id'], ['programme_runs.id'], name=op.f('fk_programme_batches_run_id_programme_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_batches')),
    sa.UniqueConstraint('client_id', name=op.f('uq_programme_batches_client_id')),
    sa.UniqueConstraint('number', name=op.f('uq_programme_batches_number')),
    sa.UniqueConstraint('run_id', name=op.f('uq_programme_batches_run_id'))
    )
    with op.batch_alter_table('programme_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_batches_programme'), ['programme'], unique=False)

    op.create_table('programme_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('line_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('payee_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payee_id', sa.Integer(), nullable=False),
    sa.Column('holder', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('beneficiary', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('city_fen', sa.Integer(), nullable=False),
    sa.Column('district_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('evidence', sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
    sa.Column('rules_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.CheckConstraint('amount_fen >= 0', name=op.f('ck_programme_lines_not_negative')),
    sa.CheckConstraint('city_fen + district_fen = amount_fen', name=op.f('ck_programme_lines_shares_add_up')),
    sa.ForeignKeyConstraint(['run_id'], ['programme_runs.id'], name=op.f('fk_programme_lines_run_id_programme_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_lines')),
    sa.UniqueConstraint('run_id', 'line_key', name=op.f('uq_programme_lines_run_id_line_key'))
    )
    with op.batch_alter_table('programme_lines', schema=None) as batch_op:
        batch_op.create_index('ix_programme_lines_run_holder', ['run_id', 'holder'], unique=False)
        batch_op.create_index('ix_programme_lines_run_payee', ['run_id', 'payee_kind', 'payee_id'], unique=False)

    op.create_table('programme_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.Column('corrected_amount_fen', sa.Integer(), nullable=False),
    sa.Column('delta_fen', sa.Integer(), nullable=False),
    sa.Column('city_fen', sa.Integer(), nullable=False),
    sa.Column('district_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint('city_fen + district_fen = delta_fen', name=op.f('ck_programme_adjustments_shares_add_up')),
    sa.ForeignKeyConstraint(['batch_id'], ['programme_batches.id'], name=op.f('fk_programme_adjustments_batch_id_programme_batches')),
    sa.ForeignKeyConstraint(['line_id'], ['programme_lines.id'], name=op.f('fk_programme_adjustments_line_id_programme_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_adjustments'))
    )
    with op.batch_alter_table('programme_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_adjustments_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_programme_adjustments_line_id'), ['line_id'], unique=False)

    op.create_table('programme_paid_lines',
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('line_key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['programme_batches.id'], name=op.f('fk_programme_paid_lines_batch_id_programme_batches')),
    sa.ForeignKeyConstraint(['line_id'], ['programme_lines.id'], name=op.f('fk_programme_paid_lines_line_id_programme_lines')),
    sa.PrimaryKeyConstraint('programme', 'line_key', name=op.f('pk_programme_paid_lines')),
    sa.UniqueConstraint('line_id', name=op.f('uq_programme_paid_lines_line_id'))
    )
    with op.batch_alter_table('programme_paid_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_paid_lines_batch_id'), ['batch_id'], unique=False)

    op.create_table('programme_ledger',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('adjustment_id', sa.Integer(), nullable=True),
    sa.Column('payee_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('payee_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('payer', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.CheckConstraint("payer IN ('city', 'district')", name=op.f('ck_programme_ledger_payer_known')),
    sa.CheckConstraint('(line_id IS NULL) <> (adjustment_id IS NULL)', name=op.f('ck_programme_ledger_one_source')),
    sa.ForeignKeyConstraint(['adjustment_id'], ['programme_adjustments.id'], name=op.f('fk_programme_ledger_adjustment_id_programme_adjustments')),
    sa.ForeignKeyConstraint(['batch_id'], ['programme_batches.id'], name=op.f('fk_programme_ledger_batch_id_programme_batches')),
    sa.ForeignKeyConstraint(['line_id'], ['programme_lines.id'], name=op.f('fk_programme_ledger_line_id_programme_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_ledger')),
    sa.UniqueConstraint('adjustment_id', 'payer', name=op.f('uq_programme_ledger_adjustment_id_payer')),
    sa.UniqueConstraint('line_id', 'payer', name=op.f('uq_programme_ledger_line_id_payer'))
    )
    with op.batch_alter_table('programme_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_ledger_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_programme_ledger_programme_period', ['programme', 'period'], unique=False)

    make_append_only(op, APPEND_ONLY)


def downgrade() -> None:
    drop_append_only(op, APPEND_ONLY)
    with op.batch_alter_table('programme_ledger', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_ledger_programme_period')
        batch_op.drop_index(batch_op.f('ix_programme_ledger_batch_id'))

    op.drop_table('programme_ledger')
    with op.batch_alter_table('programme_paid_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_paid_lines_batch_id'))

    op.drop_table('programme_paid_lines')
    with op.batch_alter_table('programme_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_adjustments_line_id'))
        batch_op.drop_index(batch_op.f('ix_programme_adjustments_batch_id'))

    op.drop_table('programme_adjustments')
    with op.batch_alter_table('programme_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_lines_run_payee')
        batch_op.drop_index('ix_programme_lines_run_holder')

    op.drop_table('programme_lines')
    with op.batch_alter_table('programme_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_batches_programme'))

    op.drop_table('programme_batches')
    with op.batch_alter_table('programme_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_approvals_run_id'))

    op.drop_table('programme_approvals')
    with op.batch_alter_table('programme_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_programme_runs_programme_period')

    op.drop_table('programme_runs')
    op.drop_table('programme_budgets')
