"""vip_redemptions.reward_id, platform_user_id, username: a Twitch redemption that waits for the
streamer to connect Twitch again keeps its reward and viewer, so that one whose reward was
deleted on Twitch meanwhile (Twitch then answers 404 for its redemptions) is closed as refused,
with an audit row naming the viewer, instead of waiting for ever. Rows from before stay empty.

Revision ID: 0050
Revises: 0049
"""

import sqlalchemy as sa
from alembic import op

revision = "0050"
down_revision = "0049"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.add_column(sa.Column("reward_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("platform_user_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("username", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.drop_column("username")
        batch.drop_column("platform_user_id")
        batch.drop_column("reward_id")
