"""slot_call_settings.answer_sr: whether ``!sr`` makes a slot call. Streamers whose song
request bot (Nightbot, StreamElements) also listens to ``!sr`` turn it off, and ``!call`` alone
is a slot call. Rows from before answer it, as they did.

Revision ID: 0054
Revises: 0053
"""

import sqlalchemy as sa
from alembic import op

revision = "0054"
down_revision = "0053"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("slot_call_settings") as batch:
        batch.add_column(
            sa.Column("answer_sr", sa.Boolean, nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("slot_call_settings") as batch:
        batch.drop_column("answer_sr")
