"""The heist: per-guild settings, heists and their crews.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "heist_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "name", name=op.f("pk_heist_settings")),
    )
    op.create_table(
        "heists",
        sa.Column("id", _ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("open_key", sa.String(length=64), nullable=True),
        sa.Column("opened_at", _TIME, nullable=False),
        sa.Column("closes_at", _TIME, nullable=False),
        sa.Column("resolved_at", _TIME, nullable=True),
        sa.Column("announced_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heists")),
        sa.UniqueConstraint("open_key", name=op.f("uq_heists_open_key")),
    )
    op.create_index(
        op.f("ix_heists_guild_id_platform_opened_at"),
        "heists",
        ["guild_id", "platform", "opened_at"],
    )
    op.create_index(op.f("ix_heists_state_closes_at"), "heists", ["state", "closes_at"])
    op.create_table(
        "heist_participants",
        sa.Column("id", _ID, nullable=False),
        sa.Column("heist_id", sa.BigInteger(), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("stake", sa.BigInteger(), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("joined_at", _TIME, nullable=False),
        sa.Column("has_sub_badge", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("tier", sa.String(length=8), nullable=True),
        sa.Column("tier_multiplier_x100", sa.Integer(), nullable=True),
        sa.Column("chance_percent", sa.Integer(), nullable=True),
        sa.Column("risk_multiplier_x100", sa.Integer(), nullable=True),
        sa.Column("won", sa.Boolean(), nullable=True),
        sa.Column("payout", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_heist_participants")),
        sa.UniqueConstraint(
            "heist_id", "platform_user_id",
            name=op.f("uq_heist_participants_heist_id_platform_user_id"),
        ),
    )
    op.create_index(
        op.f("ix_heist_participants_guild_id_platform_platform_user_id"),
        "heist_participants",
        ["guild_id", "platform", "platform_user_id"],
    )


def downgrade() -> None:
    op.drop_table("heist_participants")
    op.drop_table("heists")
    op.drop_table("heist_settings")
