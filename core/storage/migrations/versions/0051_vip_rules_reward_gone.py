"""vip_rules.reward_gone_at: when StreamKeeper noticed that a Twitch reward rule's reward was
deleted on twitch.tv (Helix answered 404 for it). Such a rule is shown as broken on the VIP page
and in ``!vip rules``, and its reward is no longer asked of Twitch. Rows from before stay empty.

Revision ID: 0051
Revises: 0050
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_rules") as batch:
        batch.add_column(sa.Column("reward_gone_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_rules") as batch:
        batch.drop_column("reward_gone_at")
