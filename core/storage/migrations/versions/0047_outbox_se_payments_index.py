"""outbox_se_payments_index: a partial index of the outbox's StreamElements payments by guild,
state and finish time. A StreamElements heist join and an admin's removal read the viewer's
payments waiting and made since their balance was read; without it that read went through
every call of the guild kept for 30 days (chat lines, roles, posts).

Revision ID: 0047
Revises: 0046
"""

import sqlalchemy as sa
from alembic import op

revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

_INDEX = "ix_outbox_se_payments_by_guild"
_SE_PAYMENTS = "service = 'streamelements'"


def upgrade() -> None:
    op.create_index(
        _INDEX,
        "outbox",
        ["guild_id", "state", "finished_at"],
        sqlite_where=sa.text(_SE_PAYMENTS),
        postgresql_where=sa.text(_SE_PAYMENTS),
    )


def downgrade() -> None:
    op.drop_index(_INDEX, table_name="outbox")
