"""Kick connections, OAuth states, webhook subscriptions, account links, Pusher ids.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guild_channels") as batch:
        batch.add_column(sa.Column("channel_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("chatroom_id", sa.BigInteger(), nullable=True))

    op.create_table(
        "kick_connections",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("kick_username", sa.String(length=100), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("connected_by", sa.BigInteger(), nullable=False),
        sa.Column("needs_sync", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_kick_connections")),
    )
    op.create_table(
        "kick_subscriptions",
        sa.Column("subscription_id", sa.String(length=64), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id", name=op.f("pk_kick_subscriptions")),
    )
    op.create_index(
        op.f("ix_kick_subscriptions_broadcaster_user_id"),
        "kick_subscriptions",
        ["broadcaster_user_id"],
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("code_verifier", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("state", name=op.f("pk_oauth_states")),
    )
    op.create_index(op.f("ix_oauth_states_expires_at"), "oauth_states", ["expires_at"])
    op.create_table(
        "account_links",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("linked_in_guild_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "platform_user_id", name=op.f("pk_account_links")),
        sa.UniqueConstraint(
            "discord_user_id", "platform", name=op.f("uq_account_links_discord_user_id_platform")
        ),
    )


def downgrade() -> None:
    op.drop_table("account_links")
    op.drop_index(op.f("ix_oauth_states_expires_at"), table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_index(op.f("ix_kick_subscriptions_broadcaster_user_id"), table_name="kick_subscriptions")
    op.drop_table("kick_subscriptions")
    op.drop_table("kick_connections")
    with op.batch_alter_table("guild_channels") as batch:
        batch.drop_column("chatroom_id")
        batch.drop_column("channel_id")
