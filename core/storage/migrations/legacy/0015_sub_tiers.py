"""Subscription tiers per viewer (the record the heist pays by).

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sub_tiers",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("is_prime", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("source", sa.String(length=48), nullable=False),
        sa.Column("since", _TIME, nullable=False),
        sa.Column("seen_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "platform_user_id", name=op.f("pk_sub_tiers")
        ),
    )
    op.create_index(
        op.f("ix_sub_tiers_guild_id_expires_at"), "sub_tiers", ["guild_id", "expires_at"]
    )


def downgrade() -> None:
    op.drop_table("sub_tiers")
