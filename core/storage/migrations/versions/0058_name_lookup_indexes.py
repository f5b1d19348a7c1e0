"""Indexes of account_links and viewers by platform and lowercased name: ``!linkowner`` finds
the links of an account by the name it was linked under or the name its viewer goes by now, in
any case, through them instead of reading every link and every viewer.

Revision ID: 0058
Revises: 0057
"""

import sqlalchemy as sa
from alembic import op

revision = "0058"
down_revision = "0057"
branch_labels = None
depends_on = None

_TABLES = ("account_links", "viewers")


def _name(table: str) -> str:
    return f"ix_{table}_platform_lower_username"


def upgrade() -> None:
    for table in _TABLES:
        op.create_index(_name(table), table, ["platform", sa.text("lower(username)")])


def downgrade() -> None:
    for table in reversed(_TABLES):
        op.drop_index(_name(table), table_name=table)
