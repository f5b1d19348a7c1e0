"""When a due VIP's removal last failed (``vip_grants.removal_tried_at``): the expiry job takes
the grants never tried first and then the ones tried longest ago, so grants that keep failing
(a guild whose Twitch is not connected) never hold back the others' removals.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vip_grants") as batch:
        batch.add_column(sa.Column("removal_tried_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_grants") as batch:
        batch.drop_column("removal_tried_at")
