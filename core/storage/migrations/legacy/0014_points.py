"""Points: per-guild settings, the append-only ledger and the balances it moves.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "points_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=32), server_default="points", nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_points_settings")),
    )
    op.create_table(
        "points_ledger",
        sa.Column("id", _ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_ledger")),
        sa.UniqueConstraint(
            "guild_id", "source", "source_ref",
            name=op.f("uq_points_ledger_guild_id_source_source_ref"),
        ),
    )
    op.create_index(
        op.f("ix_points_ledger_guild_id_platform_platform_user_id"),
        "points_ledger",
        ["guild_id", "platform", "platform_user_id"],
    )
    op.create_table(
        "points_balances",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("points >= 0", name="ck_points_balances_not_negative"),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "platform_user_id", name=op.f("pk_points_balances")
        ),
    )


def downgrade() -> None:
    op.drop_table("points_balances")
    op.drop_table("points_ledger")
    op.drop_table("points_settings")
