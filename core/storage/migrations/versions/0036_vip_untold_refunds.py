"""vip_redemptions.untold_notice: the chat line a refund could not say because the streamer's
Twitch connection needs re-authorization (chat goes as the streamer). It is kept until the
streamer connects again, when it is said; meanwhile ``!twitch status`` and the VIP page count
it. (The "waiting" state of a redemption that arrived meanwhile is a plain state value.)

Revision ID: 0036
Revises: 0035
"""

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.add_column(sa.Column("untold_notice", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.drop_column("untold_notice")
