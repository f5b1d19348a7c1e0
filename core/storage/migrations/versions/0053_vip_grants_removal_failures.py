"""vip_grants.removal_failures: how many tries at removing an expired grant failed in a row. A
removal that keeps failing (Twitch refuses it, the role is above the bot's) is tried again after
1, 2, 4 ... minutes, at most every 30, instead of every minute for ever. Rows from before count
none.

Revision ID: 0053
Revises: 0052
"""

import sqlalchemy as sa
from alembic import op

revision = "0053"
down_revision = "0052"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_grants") as batch:
        batch.add_column(
            sa.Column("removal_failures", sa.Integer, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("vip_grants") as batch:
        batch.drop_column("removal_failures")
