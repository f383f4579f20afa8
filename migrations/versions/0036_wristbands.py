"""The wristbands (爱洒回家路): elders, guardians, labels, scans and alerts; the channels beyond the in-app
notices (webhook, WeCom group robot, SMS), their outbox and each delivery attempt.

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-26 10:47:09.494591
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import foundation.db

revision = '0036'
down_revision = '0035'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('target_sealed', sa.String(length=1200), nullable=False),
    sa.Column('secret_sealed', sa.String(length=400), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('webhook', 'wecom', 'sms')", name=op.f('ck_notification_channels_kind_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_notification_channels_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels'))
    )
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channels_community_id'), ['community_id'], unique=False)

    op.create_table('wristband_elders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('street_id', sa.Integer(), nullable=False),
    sa.Column('name_sealed', sa.String(length=400), nullable=False),
    sa.Column('care_notes_sealed', sa.String(length=4000), nullable=False),
    sa.Column('photo_sha256', sa.String(length=64), nullable=True),
    sa.Column('consent_by', sa.String(length=10), nullable=False),
    sa.Column('consent_on', sa.Date(), nullable=False),
    sa.Column('consent_form_sha256', sa.String(length=64), nullable=False),
    sa.Column('registered_by', sa.String(length=200), nullable=False),
    sa.Column('registered_at', foundation.db.UTCDateTime(), nullable=False),
    sa.CheckConstraint("consent_by IN ('elder', 'guardian')", name=op.f('ck_wristband_elders_consent_by_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_wristband_elders_community_id_communities')),
    sa.ForeignKeyConstraint(['street_id'], ['streets.id'], name=op.f('fk_wristband_elders_street_id_streets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_elders'))
    )
    with op.batch_alter_table('wristband_elders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wristband_elders_community_id'), ['community_id'], unique=False)

    op.create_table('wristband_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('labels', sa.Integer(), nullable=False),
    sa.Column('printed_by', sa.String(length=200), nullable=False),
    sa.Column('printed_at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_wristband_sheets_community_id_communities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_sheets'))
    )
    with op.batch_alter_table('wristband_sheets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wristband_sheets_community_id'), ['community_id'], unique=False)

    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=30), nullable=False),
    sa.Column('subject', sa.String(length=100), nullable=False),
    sa.Column('payload_sealed', sa.String(length=20000), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('lease_until', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', foundation.db.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sending', 'delivered', 'failed')", name=op.f('ck_outbound_messages_state_known')),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channels.id'], name=op.f('fk_outbound_messages_channel_id_notification_channels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('key', name=op.f('uq_outbound_messages_key'))
    )
    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbound_messages_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_outbound_messages_state_next', ['state', 'next_attempt_at'], unique=False)

    op.create_table('wristband_guardians',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name_sealed', sa.String(length=400), nullable=False),
    sa.Column('phone_sealed', sa.String(length=400), nullable=False),
    sa.Column('phone_tail', sa.String(length=4), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('link_digest', sa.String(length=64), nullable=False),
    sa.Column('link_sealed', sa.String(length=200), nullable=False),
    sa.CheckConstraint('position BETWEEN 1 AND 3', name=op.f('ck_wristband_guardians_position_range')),
    sa.ForeignKeyConstraint(['elder_id'], ['wristband_elders.id'], name=op.f('fk_wristband_guardians_elder_id_wristband_elders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_guardians')),
    sa.UniqueConstraint('elder_id', 'position', name=op.f('uq_wristband_guardians_elder_id_position')),
    sa.UniqueConstraint('link_digest', name=op.f('uq_wristband_guardians_link_digest'))
    )
    with op.batch_alter_table('wristband_guardians', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wristband_guardians_elder_id'), ['elder_id'], unique=False)

    op.create_table('wristband_labels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=True),
    sa.Column('token_digest', sa.String(length=64), nullable=False),
    sa.Column('short_code', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=True),
    sa.Column('bound_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('bound_by', sa.String(length=200), nullable=True),
    sa.Column('revoked_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=200), nullable=True),
    sa.Column('revoke_reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint("(state = 'printed') = (elder_id IS NULL)", name=op.f('ck_wristband_labels_bound_to_an_elder')),
    sa.CheckConstraint("state IN ('printed', 'bound', 'revoked')", name=op.f('ck_wristband_labels_state_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_wristband_labels_community_id_communities')),
    sa.ForeignKeyConstraint(['elder_id'], ['wristband_elders.id'], name=op.f('fk_wristband_labels_elder_id_wristband_elders')),
    sa.ForeignKeyConstraint(['sheet_id'], ['wristband_sheets.id'], name=op.f('fk_wristband_labels_sheet_id_wristband_sheets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_labels')),
    sa.UniqueConstraint('short_code', name=op.f('uq_wristband_labels_short_code')),
    sa.UniqueConstraint('token_digest', name=op.f('uq_wristband_labels_token_digest'))
    )
    with op.batch_alter_table('wristband_labels', schema=None) as batch_op:
        batch_op.create_index('ix_wristband_labels_community_state', ['community_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_wristband_labels_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wristband_labels_sheet_id'), ['sheet_id'], unique=False)

    op.create_table('delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('milliseconds', sa.Integer(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=12), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['outbound_messages.id'], name=op.f('fk_delivery_attempts_message_id_outbound_messages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_message_id'), ['message_id'], unique=False)

    op.create_table('wristband_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('raised_at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('acknowledged_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=200), nullable=True),
    sa.Column('found_at', foundation.db.UTCDateTime(), nullable=True),
    sa.Column('found_by', sa.String(length=200), nullable=True),
    sa.Column('found_note', sa.String(length=500), nullable=True),
    sa.CheckConstraint("state IN ('raised', 'acknowledged', 'found')", name=op.f('ck_wristband_alerts_state_known')),
    sa.ForeignKeyConstraint(['community_id'], ['communities.id'], name=op.f('fk_wristband_alerts_community_id_communities')),
    sa.ForeignKeyConstraint(['elder_id'], ['wristband_elders.id'], name=op.f('fk_wristband_alerts_elder_id_wristband_elders')),
    sa.ForeignKeyConstraint(['label_id'], ['wristband_labels.id'], name=op.f('fk_wristband_alerts_label_id_wristband_labels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_alerts'))
    )
    with op.batch_alter_table('wristband_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_wristband_alerts_community_state', ['community_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_wristband_alerts_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wristband_alerts_label_id'), ['label_id'], unique=False)

    op.create_table('wristband_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label_id', sa.Integer(), nullable=False),
    sa.Column('elder_id', sa.Integer(), nullable=True),
    sa.Column('label_state', sa.String(length=10), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['elder_id'], ['wristband_elders.id'], name=op.f('fk_wristband_scans_elder_id_wristband_elders')),
    sa.ForeignKeyConstraint(['label_id'], ['wristband_labels.id'], name=op.f('fk_wristband_scans_label_id_wristband_labels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_scans'))
    )
    with op.batch_alter_table('wristband_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wristband_scans_elder_id'), ['elder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wristband_scans_label_id'), ['label_id'], unique=False)

    op.create_table('wristband_alert_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('at', foundation.db.UTCDateTime(), nullable=False),
    sa.Column('message', sa.String(length=300), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('accuracy_m', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['wristband_alerts.id'], name=op.f('fk_wristband_alert_reports_alert_id_wristband_alerts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wristband_alert_reports')),
    sa.UniqueConstraint('client_id', name=op.f('uq_wristband_alert_reports_client_id'))
    )
    with op.batch_alter_table('wristband_alert_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wristband_alert_reports_alert_id'), ['alert_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wristband_alert_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_alert_reports_alert_id'))

    op.drop_table('wristband_alert_reports')

    with op.batch_alter_table('wristband_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_scans_label_id'))
        batch_op.drop_index(batch_op.f('ix_wristband_scans_elder_id'))

    op.drop_table('wristband_scans')

    with op.batch_alter_table('wristband_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_alerts_label_id'))
        batch_op.drop_index(batch_op.f('ix_wristband_alerts_elder_id'))
        batch_op.drop_index('ix_wristband_alerts_community_state')

    op.drop_table('wristband_alerts')

    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_message_id'))

    op.drop_table('delivery_attempts')

    with op.batch_alter_table('wristband_labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_labels_sheet_id'))
        batch_op.drop_index(batch_op.f('ix_wristband_labels_elder_id'))
        batch_op.drop_index('ix_wristband_labels_community_state')

    op.drop_table('wristband_labels')

    with op.batch_alter_table('wristband_guardians', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_guardians_elder_id'))

    op.drop_table('wristband_guardians')

    with op.batch_alter_table('outbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_messages_state_next')
        batch_op.drop_index(batch_op.f('ix_outbound_messages_channel_id'))

    op.drop_table('outbound_messages')

    with op.batch_alter_table('wristband_sheets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_sheets_community_id'))

    op.drop_table('wristband_sheets')

    with op.batch_alter_table('wristband_elders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wristband_elders_community_id'))

    op.drop_table('wristband_elders')

    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channels_community_id'))

    op.drop_table('notification_channels')
