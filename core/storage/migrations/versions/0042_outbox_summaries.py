"""Every outbox call gets a ``summary``: what it does in the streamer's words ("delete the Twitch
reward 'VIP 1 week'"), written when it is queued; and a partial index by guild of the calls that
ended refused or failed, which ``!health`` and the dashboard's overview list.

Revision ID: 0042
Revises: 0041
"""

import sqlalchemy as sa
from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

_INDEX = "ix_outbox_undone_by_guild"
_UNDONE = "state IN ('refused', 'failed')"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("summary", sa.String(200), nullable=True))
    op.create_index(
        _INDEX,
        "outbox",
        ["guild_id", "finished_at"],
        sqlite_where=sa.text(_UNDONE),
        postgresql_where=sa.text(_UNDONE),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("summary")
