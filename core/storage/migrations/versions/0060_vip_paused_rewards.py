"""vip_paused_rewards: the Twitch VIP rewards ``!twitch disconnect`` paused on Twitch, so that
connecting the server again resumes exactly those (one the streamer paused stays paused).

Revision ID: 0060
Revises: 0059
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0060"
down_revision = "0059"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vip_paused_rewards",
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("reward_id", sa.String(length=64), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("reward_title", sa.String(length=200), nullable=True),
        sa.Column("paused_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "reward_id", name=op.f("pk_vip_paused_rewards")),
    )


def downgrade() -> None:
    op.drop_table("vip_paused_rewards")
