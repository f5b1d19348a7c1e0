"""raffle_periods.snapshot_version: the version of the canonical snapshot a period was closed in.

Periods closed from now on are frozen in version 2, which names each hand change's admin by a
per-period pseudonym instead of their Discord id (docs/raffle.md). Every period already there
is version 1: its snapshot hash covers the Discord ids, so its ledger keeps them.
raffle_periods.actor_key: a version 2 period's pseudonym key, kept from its close.

Revision ID: 0037
Revises: 0036
"""

import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "raffle_periods",
        sa.Column("snapshot_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column("raffle_periods", sa.Column("actor_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raffle_periods") as batch:
        batch.drop_column("actor_key")
        batch.drop_column("snapshot_version")
