"""Residents' satisfaction survey through the QR route (survey codes and answers), the complaints that are a veto
case's evidence, and the media_url an Open311 request may carry.

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-26 14:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db


revision = '0038'
down_revision = '0037'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('issued_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('issued_by_user_id', sa.Integer(), nullable=True),
    sa.Column('used_at', foundation.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_survey_codes_community_id_communities')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_survey_codes_estate_id_estates')),
    sa.ForeignKeyConstraint(['issued_by_user_id'], ['users.id'], name=op.f('fk_survey_codes_issued_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_codes')),
    sa.UniqueConstraint('digest', name=op.f('uq_survey_codes_digest'))
    )
    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.create_index('ix_survey_codes_estate_month', ['estate_id', 'month'], unique=False)

    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_id', sa.Integer(), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rating', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('answered_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['code_id'], ['survey_codes.id'], name=op.f('fk_survey_answers_code_id_survey_codes')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_survey_answers_estate_id_estates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('code_id', name=op.f('uq_survey_answers_code_id'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index('ix_survey_answers_estate_month', ['estate_id', 'month'], unique=False)

    op.create_table('veto_complaints',
    sa.Column('veto_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_veto_complaints_complaint_id_complaints')),
    sa.ForeignKeyConstraint(['veto_id'], ['vetoes.id'], name=op.f('fk_veto_complaints_veto_id_vetoes')),
    sa.PrimaryKeyConstraint('veto_id', 'complaint_id', name=op.f('pk_veto_complaints'))
    )
    with op.batch_alter_table('veto_complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_veto_complaints_complaint_id'), ['complaint_id'], unique=False)

    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_url', sa.String(length=500), nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('media_url')

    with op.batch_alter_table('veto_complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_veto_complaints_complaint_id'))

    op.drop_table('veto_complaints')
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_answers_estate_month')

    op.drop_table('survey_answers')
    with op.batch_alter_table('survey_codes', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_codes_estate_month')

    op.drop_table('survey_codes')
