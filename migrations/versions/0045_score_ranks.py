"""Ranks stored with the scores: score_ranks keeps, for each estate's month, its current score version and that
score's rank in its street and in the district, so that the month table reads ranks instead of ranking the whole
district on every read. Filled here for the scores already computed (competition ranking: vetoed after the rest,
then by score, ties sharing a rank; an unscored month has no rank), the same rule as assessment.rules.rank.

Revision ID: 0045
Revises: 0042
Create Date: 2026-11-26 17:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0045'
down_revision = '0042'
branch_labels = None
depends_on = None

# Window functions: SQLite 3.25+ and PostgreSQL. Booleans order false first on both (vetoed after the rest).
FILL = """
INSERT INTO score_ranks (estate_id, month, score_id, street_id, rank_in_street, rank_in_district)
SELECT s.estate_id, s.month, s.id, s.street_id,
    CASE WHEN s.score_centi IS NULL THEN NULL
         ELSE RANK() OVER (PARTITION BY s.month, s.street_id, s.score_centi IS NULL ORDER BY s.vetoed, s.score_centi DESC) END,
    CASE WHEN s.score_centi IS NULL THEN NULL
         ELSE RANK() OVER (PARTITION BY s.month, s.score_centi IS NULL ORDER BY s.vetoed, s.score_centi DESC) END
FROM estate_scores s
JOIN (SELECT estate_id, month, MAX(version) AS version FROM estate_scores GROUP BY estate_id, month) newest
    ON newest.estate_id = s.estate_id AND newest.month = s.month AND newest.version = s.version
"""


def upgrade() -> None:
    op.create_table('score_ranks',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('rank_in_street', sa.Integer(), nullable=True),
    sa.Column('rank_in_district', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_score_ranks_estate_id_estates')),
    sa.ForeignKeyConstraint(['score_id'], ['estate_scores.id'], name=op.f('fk_score_ranks_score_id_estate_scores')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_score_ranks_street_id_streets')),
    sa.PrimaryKeyConstraint('estate_id', 'month', name=op.f('pk_score_ranks')),
    sa.UniqueConstraint('score_id', name=op.f('uq_score_ranks_score_id'))
    )
    with op.batch_alter_table('score_ranks', schema=None) as batch_op:
        batch_op.create_index('ix_score_ranks_month_district_rank', ['month', 'rank_in_district'], unique=False)
    op.execute(FILL)


def downgrade() -> None:
    with op.batch_alter_table('score_ranks', schema=None) as batch_op:
        batch_op.drop_index('ix_score_ranks_month_district_rank')
    op.drop_table('score_ranks')
