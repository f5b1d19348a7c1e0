"""Twitch connections and the EventSub subscriptions kept for them

``twitch_connections`` holds a guild's Twitch streamer tokens (encrypted), the scopes granted
and missing, and whether the grant still works; ``twitch_subscriptions`` the EventSub webhook
subscriptions the upkeep made, for ``!twitch status``.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "twitch_connections",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("login", sa.String(length=100), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("missing_scopes", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("connected_by", sa.BigInteger(), nullable=False),
        sa.Column("needs_sync", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("validated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_twitch_connections")),
    )
    op.create_table(
        "twitch_subscriptions",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("subscription_type", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_twitch_subscriptions")),
    )
    op.create_index(
        op.f("ix_twitch_subscriptions_broadcaster_user_id"),
        "twitch_subscriptions",
        ["broadcaster_user_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_twitch_subscriptions_broadcaster_user_id"), table_name="twitch_subscriptions"
    )
    op.drop_table("twitch_subscriptions")
    op.drop_table("twitch_connections")
