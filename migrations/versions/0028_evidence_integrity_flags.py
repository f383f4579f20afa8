"""Evidence-integrity flags: estates' boundaries (GeoJSON, set by the administrator), photos' perceptual hashes with
their 8-bit bands (near-duplicates found by index), and the flags raised on records as they are filed. Flags and
bands are append-only like the evidence they describe; the hash column is added without rebuilding `attachments`
(its append-only triggers stay as they are). Photos kept before have no hash: their sha256 still finds exact copies.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-26 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import foundation.db
from foundation.append_only import drop_append_only, make_append_only

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('estate_boundaries',
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('geometry', sa.JSON(), nullable=False),
    sa.Column('vertices', sa.Integer(), nullable=False),
    sa.Column('area_m2', sa.Integer(), nullable=False),
    sa.Column('set_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('set_by_user_id', sa.Integer(), nullable=True),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_estate_boundaries_estate_id_estates')),
    sa.ForeignKeyConstraint(['set_by_user_id'], ['users.id'], name=op.f('fk_estate_boundaries_set_by_user_id_users')),
    sa.PrimaryKeyConstraint('estate_id', name=op.f('pk_estate_boundaries'))
    )
    op.add_column('attachments', sa.Column('phash', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
    op.create_table('photo_hash_bands',
    sa.Column('attachment_id', sa.Integer(), nullable=False),
    sa.Column('band', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_photo_hash_bands_attachment_id_attachments')),
    sa.PrimaryKeyConstraint('attachment_id', 'band', name=op.f('pk_photo_hash_bands'))
    )
    with op.batch_alter_table('photo_hash_bands', schema=None) as batch_op:
        batch_op.create_index('ix_photo_hash_bands_band_value', ['band', 'value'], unique=False)

    op.create_table('record_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('estate_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('month', sqlmodel.sql.sqltypes.AutoString(length=7), nullable=False),
    sa.Column('attachment_id', sa.Integer(), nullable=True),
    sa.Column('other_record_id', sa.Integer(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('raised_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['inspection_records.id'], name=op.f('fk_record_flags_record_id_inspection_records')),
    sa.ForeignKeyConstraint(['estate_id'], ['estates.id'], name=op.f('fk_record_flags_estate_id_estates')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_record_flags_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_record_flags_street_id_streets')),
    sa.ForeignKeyConstraint(['attachment_id'], ['attachments.id'], name=op.f('fk_record_flags_attachment_id_attachments')),
    sa.ForeignKeyConstraint(['other_record_id'], ['inspection_records.id'], name=op.f('fk_record_flags_other_record_id_inspection_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_flags'))
    )
    with op.batch_alter_table('record_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_flags_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_flags_estate_id'), ['estate_id'], unique=False)
        batch_op.create_index('ix_record_flags_street_month', ['street_id', 'month'], unique=False)
        batch_op.create_index('ix_record_flags_kind_month', ['kind', 'month'], unique=False)
    make_append_only(op, ["photo_hash_bands", "record_flags"])


def downgrade() -> None:
    drop_append_only(op, ["photo_hash_bands", "record_flags"])
    with op.batch_alter_table('record_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_record_flags_kind_month')
        batch_op.drop_index('ix_record_flags_street_month')
        batch_op.drop_index(batch_op.f('ix_record_flags_estate_id'))
        batch_op.drop_index(batch_op.f('ix_record_flags_record_id'))
    op.drop_table('record_flags')
    with op.batch_alter_table('photo_hash_bands', schema=None) as batch_op:
        batch_op.drop_index('ix_photo_hash_bands_band_value')
    op.drop_table('photo_hash_bands')
    op.drop_column('attachments', 'phash')
    op.drop_table('estate_boundaries')
