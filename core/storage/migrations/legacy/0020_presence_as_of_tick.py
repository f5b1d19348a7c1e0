"""Presence as of a tick's instant: a tick that runs late (the database was away, events were
queued) counts only what happened up to its own instant.

``watch_presence.active_bucket`` is the tick instant that counts ``last_active_at`` (epoch
seconds); ``earlier_active_at`` is the viewer's latest activity in an earlier bucket, kept when a
newer one moves ``last_active_at`` past the next tick. ``watch_settings.last_tick_seconds`` is
what the latest tick credited each present viewer, so points for watching earn exactly that.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("watch_presence") as batch:
        batch.add_column(sa.Column("earlier_active_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("active_bucket", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("watch_settings") as batch:
        batch.add_column(sa.Column("last_tick_seconds", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watch_settings") as batch:
        batch.drop_column("last_tick_seconds")
    with op.batch_alter_table("watch_presence") as batch:
        batch.drop_column("active_bucket")
        batch.drop_column("earlier_active_at")
