"""A closed period whose automatic draw is still to be requested (``raffle_periods.draw_due``),
set in the close's own transaction: a process killed between the close and the draw leaves a
mark the scheduler finds, so the raffle never stays closed without its draw.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raffle_periods") as batch:
        batch.add_column(
            sa.Column("draw_due", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("raffle_periods") as batch:
        batch.drop_column("draw_due")
