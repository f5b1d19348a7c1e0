"""Chat commands and slot calls.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slot_call_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("cooldown_seconds", sa.Integer(), server_default="30", nullable=False),
        sa.Column("max_open_per_user", sa.Integer(), nullable=True),
        sa.Column("require_link", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_slot_call_settings")),
    )
    op.create_table(
        "slot_calls",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=True),
        sa.Column("slot_name", sa.String(length=200), nullable=False),
        sa.Column("slot_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_calls")),
        sa.UniqueConstraint(
            "guild_id", "event_key", name=op.f("uq_slot_calls_guild_id_event_key")
        ),
    )
    op.create_index(
        op.f("ix_slot_calls_guild_id_status_slot_key"),
        "slot_calls",
        ["guild_id", "status", "slot_key"],
    )
    op.create_index(
        op.f("ix_slot_calls_guild_id_platform_platform_user_id_called_at"),
        "slot_calls",
        ["guild_id", "platform", "platform_user_id", "called_at"],
    )
    op.create_table(
        "slot_call_blacklist",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("username_key", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("added_by", sa.BigInteger(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_call_blacklist")),
        sa.UniqueConstraint(
            "guild_id",
            "platform",
            "username_key",
            name=op.f("uq_slot_call_blacklist_guild_id_platform_username_key"),
        ),
    )


def downgrade() -> None:
    op.drop_table("slot_call_blacklist")
    op.drop_index(
        op.f("ix_slot_calls_guild_id_platform_platform_user_id_called_at"), table_name="slot_calls"
    )
    op.drop_index(op.f("ix_slot_calls_guild_id_status_slot_key"), table_name="slot_calls")
    op.drop_table("slot_calls")
    op.drop_table("slot_call_settings")
