"""Late evidence and the district's calendar years: a record filed more than the tolerance after its claimed time
is marked late when filed, and the street officer's approval or rejection is its own append-only record; the
years of China's official holidays the district records; the calendar each defect's deadline came from. (Adding a
column does not make SQLite rebuild a table, but the triggers are made again if missing, to be sure.)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 22:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inspection_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('defects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deadline_source', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True))

    op.create_table('late_record_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=20), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('decided_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name=op.f('ck_late_record_decisions_decision_known')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_late_record_decisions_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['record_id'], ['inspection_records.id'], name=op.f('fk_late_record_decisions_record_id_inspection_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_late_record_decisions')),
    sa.UniqueConstraint('record_id', name=op.f('uq_late_record_decisions_record_id'))
    )

    op.create_table('calendar_years',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.JSON(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('recorded_by_user_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_user_id'], ['users.id'], name=op.f('fk_calendar_years_recorded_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_years'))
    )
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_years_year'), ['year'], unique=False)

    rebuilt = ("inspection_records",) if op.get_bind().dialect.name == "sqlite" else ()
    make_append_only(op, ["late_record_decisions", "calendar_years", *rebuilt], if_not_exists=True)


def downgrade() -> None:
    drop_append_only(op, ["late_record_decisions", "calendar_years"])
    with op.batch_alter_table('calendar_years', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_years_year'))

    op.drop_table('calendar_years')
    op.drop_table('late_record_decisions')
    with op.batch_alter_table('defects', schema=None) as batch_op:
        batch_op.drop_column('deadline_source')

    with op.batch_alter_table('inspection_records', schema=None) as batch_op:
        batch_op.drop_column('late')
    if op.get_bind().dialect.name == "sqlite":
        make_append_only(op, ["inspection_records"], if_not_exists=True)
