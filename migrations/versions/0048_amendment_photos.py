"""A photo an amendment added to a record says so (`record_photos.amendment_id`): the record's results as filed show
the photos filed with them only, and an amendment's photos stay with the amendment. Rows made before this migration
are told apart by what they can be: a photo an amendment lists that was uploaded after the record was filed came with
that amendment (the earliest that lists it); every other row was filed with the record. The guess holds for records
filed by the system's clients (a photo is uploaded before the record that shows it); a demo or training database
whose records were filed with a back-dated time may have a filed photo counted as its amendment's.

Revision ID: 0048
Revises: 0047
Create Date: 2026-11-28 05:45:00.000000
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from foundation.append_only import drop_append_only, make_append_only

revision = '0048'
down_revision = '0047'
branch_labels = None
depends_on = None


def upgrade() -> None:
    drop_append_only(op, ["record_photos"])  # the column is added to filed rows once, here, and never again
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.add_column(sa.Column('amendment_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_record_photos_amendment_id_amendments'), 'amendments', ['amendment_id'], ['id'])
    bind = op.get_bind()
    amendments = bind.execute(
        sa.text(
            "SELECT a.id, a.record_id, a.changes, r.filed_at FROM amendments a JOIN inspection_records r ON r.id = a.record_id ORDER BY a.id"
        )
    ).all()
    claimed: set[tuple[int, int]] = set()
    for amendment_id, record_id, changes, filed_at in amendments:
        listed = changes if isinstance(changes, list) else json.loads(changes)
        for photo in sorted({p for change in listed for p in change.get("photo_ids", [])}):
            if (record_id, photo) in claimed:
                continue
            later = bind.execute(
                sa.text("SELECT 1 FROM attachments WHERE id = :photo AND uploaded_at > :filed_at"), {"photo": photo, "filed_at": filed_at}
            ).first()
            if later is not None:
                bind.execute(
                    sa.text("UPDATE record_photos SET amendment_id = :amendment WHERE record_id = :record AND attachment_id = :photo"),
                    {"amendment": amendment_id, "record": record_id, "photo": photo},
                )
                claimed.add((record_id, photo))
    make_append_only(op, ["record_photos"])


def downgrade() -> None:
    drop_append_only(op, ["record_photos"])
    with op.batch_alter_table('record_photos', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_record_photos_amendment_id_amendments'), type_='foreignkey')
        batch_op.drop_column('amendment_id')
    make_append_only(op, ["record_photos"])
