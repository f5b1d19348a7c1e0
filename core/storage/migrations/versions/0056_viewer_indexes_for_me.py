"""Indexes by viewer, ``(platform, platform_user_id)``, on watchtime, points_balances and
raffle_balances, and by member on link_history: a viewer's /me page reads their rows in every
server through them, in one probe per account, instead of reading each server the bot serves.

Revision ID: 0056
Revises: 0055
"""

from alembic import op

revision = "0056"
down_revision = "0055"
branch_labels = None
depends_on = None

_INDEXES = (
    ("watchtime", ("platform", "platform_user_id")),
    ("points_balances", ("platform", "platform_user_id")),
    ("raffle_balances", ("platform", "platform_user_id")),
    ("link_history", ("discord_user_id",)),
)


def _name(table: str, columns: tuple[str, ...]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def upgrade() -> None:
    for table, columns in _INDEXES:
        op.create_index(op.f(_name(table, columns)), table, list(columns))


def downgrade() -> None:
    for table, columns in reversed(_INDEXES):
        op.drop_index(op.f(_name(table, columns)), table_name=table)
