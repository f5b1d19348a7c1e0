"""Live updates: a change counter per guild and topic (the embedded deployment's web workers
poll it to hear the bot process).

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_changes",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("topic", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "topic", name=op.f("pk_live_changes")),
    )


def downgrade() -> None:
    op.drop_table("live_changes")
