"""Issued documents kept: the bytes of every document issued from now on are kept in the blob store (named by the
sha256 already recorded), with their media type and page count; codes become 128 random bits.

Documents issued before this revision were not kept (only their sha256 was recorded). They stay, marked kept =
false, so an uploaded copy of one is still recognised as genuine; their codes, derived from kind and subject and so
guessable, are replaced by random ones (the old addresses stop answering), and the next download of such a subject
issues it anew and keeps it. Append-only again once altered.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 22:30:00.000000
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
import sqlmodel
from alembic import op

from foundation.append_only import drop_append_only, make_append_only


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_append_only(op, ["issued_documents"])
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False, server_default='application/pdf'))
        batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kept', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column('code', existing_type=sqlmodel.sql.sqltypes.AutoString(length=24), type_=sqlmodel.sql.sqltypes.AutoString(length=32), existing_nullable=False)
        batch_op.drop_constraint('uq_issued_documents_kind_subject', type_='unique')
    bind = op.get_bind()
    for (row_id,) in bind.execute(sa.text("SELECT id FROM issued_documents ORDER BY id")).all():
        bind.execute(sa.text("UPDATE issued_documents SET code = :code WHERE id = :id"), {"code": secrets.token_hex(16), "id": row_id})
    op.create_index(
        'uq_issued_documents_kept_kind_subject', 'issued_documents', ['kind', 'subject'], unique=True,
        sqlite_where=sa.text('kept'), postgresql_where=sa.text('kept'),
    )
    make_append_only(op, ["issued_documents"])


def downgrade() -> None:
    drop_append_only(op, ["issued_documents"])
    op.drop_index('uq_issued_documents_kept_kind_subject', table_name='issued_documents')
    # Before 0010 a subject had one document: keep the newest of each.
    op.execute(
        "DELETE FROM issued_documents WHERE id NOT IN (SELECT MAX(id) FROM issued_documents GROUP BY kind, subject)"
    )
    op.execute("UPDATE issued_documents SET code = SUBSTR(code, 1, 24)")
    with op.batch_alter_table('issued_documents', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_issued_documents_kind_subject', ['kind', 'subject'])
        batch_op.alter_column('code', existing_type=sqlmodel.sql.sqltypes.AutoString(length=32), type_=sqlmodel.sql.sqltypes.AutoString(length=24), existing_nullable=False)
        batch_op.drop_column('kept')
        batch_op.drop_column('pages')
        batch_op.drop_column('media_type')
    make_append_only(op, ["issued_documents"])
