"""raffle_frozen_ranges gets a unique index by participant, ``(period_id, platform,
platform_user_id)``: a draw reads the ranges of the period's earlier winners through it, one
index probe each, instead of every range of the period (100,000 rows in a big guild's period,
read again at every draw).

Revision ID: 0041
Revises: 0040
"""

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

_NAME = "ix_raffle_frozen_ranges_period_id_platform_platform_user_id"


def upgrade() -> None:
    op.create_index(
        op.f(_NAME),
        "raffle_frozen_ranges",
        ["period_id", "platform", "platform_user_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f(_NAME), table_name="raffle_frozen_ranges")
