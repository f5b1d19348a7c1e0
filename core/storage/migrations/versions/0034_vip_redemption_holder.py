"""VIP redemptions name the process asking Twitch (``leased_by``), so another process takes one
over as soon as that process's heartbeat lease runs out, not after a fixed two minutes.

Revision ID: 0034
Revises: 0033
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_redemptions") as batch:
        batch.drop_column("leased_by")
