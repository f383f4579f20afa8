"""Project evaluations: a contract's mid-term and final third-party evaluation (one of each: a unique key), each
criterion's points with its evidence and files, and the beneficiaries' satisfaction surveys (a client id files one
once; answers 1–5 kept by a CHECK; nothing about who answered).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-26 07:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('project_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_user_id', sa.Integer(), nullable=True),
    sa.Column('evaluated_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('evaluated_on', sa.Date(), nullable=False),
    sa.Column('score', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('surveys', sa.Integer(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('rules_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['call_contracts.id'], name=op.f('fk_project_evaluations_contract_id_call_contracts')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_project_evaluations_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['firm_id'], ['organisations.id'], name=op.f('fk_project_evaluations_firm_id_organisations')),
    sa.ForeignKeyConstraint(['evaluator_user_id'], ['users.id'], name=op.f('fk_project_evaluations_evaluator_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_evaluations')),
    sa.UniqueConstraint('contract_id', 'stage', name='uq_project_evaluations_contract_id_stage')
    )
    op.create_index(op.f('ix_project_evaluations_contract_id'), 'project_evaluations', ['contract_id'], unique=False)
    op.create_index(op.f('ix_project_evaluations_organisation_id'), 'project_evaluations', ['organisation_id'], unique=False)

    op.create_table('evaluation_scores',
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('weight', sa.Integer(), nullable=False),
    sa.Column('points', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['project_evaluations.id'], name=op.f('fk_evaluation_scores_evaluation_id_project_evaluations')),
    sa.PrimaryKeyConstraint('evaluation_id', 'criterion', name=op.f('pk_evaluation_scores'))
    )

    op.create_table('evaluation_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('criterion', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['project_evaluations.id'], name=op.f('fk_evaluation_files_evaluation_id_project_evaluations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_files'))
    )
    op.create_index(op.f('ix_evaluation_files_evaluation_id'), 'evaluation_files', ['evaluation_id'], unique=False)

    op.create_table('satisfaction_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('collected_on', sa.Date(), nullable=False),
    sa.Column('overall', sa.Integer(), nullable=False),
    sa.Column('attitude', sa.Integer(), nullable=False),
    sa.Column('effect', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('recorded_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint('overall BETWEEN 1 AND 5 AND attitude BETWEEN 1 AND 5 AND effect BETWEEN 1 AND 5', name=op.f('ck_satisfaction_surveys_answers_in_range')),
    sa.ForeignKeyConstraint(['contract_id'], ['call_contracts.id'], name=op.f('fk_satisfaction_surveys_contract_id_call_contracts')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_satisfaction_surveys_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_surveys')),
    sa.UniqueConstraint('client_id', name=op.f('uq_satisfaction_surveys_client_id'))
    )
    op.create_index(op.f('ix_satisfaction_surveys_contract_id'), 'satisfaction_surveys', ['contract_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_satisfaction_surveys_contract_id'), table_name='satisfaction_surveys')
    op.drop_table('satisfaction_surveys')
    op.drop_index(op.f('ix_evaluation_files_evaluation_id'), table_name='evaluation_files')
    op.drop_table('evaluation_files')
    op.drop_table('evaluation_scores')
    op.drop_index(op.f('ix_project_evaluations_organisation_id'), table_name='project_evaluations')
    op.drop_index(op.f('ix_project_evaluations_contract_id'), table_name='project_evaluations')
    op.drop_table('project_evaluations')
