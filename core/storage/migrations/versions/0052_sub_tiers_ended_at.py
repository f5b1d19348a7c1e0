"""sub_tiers.ended_at: when Twitch said the viewer's subscription ended
(``channel.subscription.end``). A subscription event sent before that time and delivered after
it is the ended sub told late, and no longer makes the viewer a subscriber. Rows from before stay
empty.

Revision ID: 0052
Revises: 0051
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0052"
down_revision = "0051"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sub_tiers") as batch:
        batch.add_column(sa.Column("ended_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sub_tiers") as batch:
        batch.drop_column("ended_at")
