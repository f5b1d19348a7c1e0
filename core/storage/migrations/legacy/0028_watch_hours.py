"""Watchtime hour by hour (issue 27): each guild's peak crowd and viewer-seconds per hour, written
by the tick, for the dashboard's charts.

Revision ID: 0028
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watch_hours",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("peak_viewers", sa.Integer(), nullable=False),
        sa.Column("viewer_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "hour", name=op.f("pk_watch_hours")),
    )


def downgrade() -> None:
    op.drop_table("watch_hours")
