"""guilds.left_at: when the bot was removed from the server (kicked, banned, the server
deleted). While it is set, the server's chat, commands and events are not acted on; the bot
coming back clears it. Rows from before were never left.

Revision ID: 0055
Revises: 0054
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0055"
down_revision = "0054"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guilds") as batch:
        batch.add_column(sa.Column("left_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("guilds") as batch:
        batch.drop_column("left_at")
