"""Temporary VIP: settings, grants, processed redemptions and the audit log (Kick: a
temporary Discord role instead of VIP).

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "vip_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("reward_id", sa.String(length=64), nullable=True),
        sa.Column("reward_title", sa.String(length=200), nullable=True),
        sa.Column("reward_cost", sa.Integer(), nullable=True),
        sa.Column("duration_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("is_stacking", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("max_hours", sa.Integer(), server_default="168", nullable=False),
        sa.Column("max_concurrent", sa.Integer(), nullable=True),
        sa.Column("is_chat_notices", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_auto_removal", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("notice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("kick_reward_title", sa.String(length=200), nullable=True),
        sa.Column("kick_role_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_vip_settings")),
    )
    op.create_table(
        "vip_grants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("granted_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("removed_at", _TIME, nullable=True),
        sa.Column("removal_reason", sa.String(length=200), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=True),
        sa.Column("role_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vip_grants")),
    )
    op.create_index(
        op.f("ix_vip_grants_guild_id_removed_at_expires_at"),
        "vip_grants",
        ["guild_id", "removed_at", "expires_at"],
    )
    op.create_index(
        op.f("ix_vip_grants_guild_id_platform_platform_user_id_removed_at"),
        "vip_grants",
        ["guild_id", "platform", "platform_user_id", "removed_at"],
    )
    op.create_table(
        "vip_redemptions",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("redemption_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("recorded_at", _TIME, nullable=False),
        sa.Column("leased_until", _TIME, nullable=True),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "redemption_id", name=op.f("pk_vip_redemptions")
        ),
    )
    op.create_table(
        "vip_audit",
        sa.Column("id", _ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("redemption_id", sa.String(length=64), nullable=True),
        sa.Column("reward_cost", sa.Integer(), nullable=True),
        sa.Column("previous_expires_at", _TIME, nullable=True),
        sa.Column("new_expires_at", _TIME, nullable=True),
        sa.Column("at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vip_audit")),
    )
    op.create_index(op.f("ix_vip_audit_guild_id_at"), "vip_audit", ["guild_id", "at"])
    op.create_index(
        op.f("ix_vip_audit_guild_id_platform_user_id"), "vip_audit", ["guild_id", "platform_user_id"]
    )


def downgrade() -> None:
    op.drop_table("vip_audit")
    op.drop_table("vip_redemptions")
    op.drop_table("vip_grants")
    op.drop_table("vip_settings")
