"""Twitch EventSub revocations

``twitch_revocations`` keeps, per EventSub subscription Twitch stopped, why (its status) and
when, so that ``!twitch status`` can tell the streamer what to fix. One row per subscription:
Twitch's retries of the same revocation change nothing.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "twitch_revocations",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_twitch_revocations")),
    )
    op.create_index(
        op.f("ix_twitch_revocations_broadcaster_user_id"),
        "twitch_revocations",
        ["broadcaster_user_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_twitch_revocations_broadcaster_user_id"), table_name="twitch_revocations"
    )
    op.drop_table("twitch_revocations")
