"""points_accrual keeps half of each page free (PostgreSQL ``fillfactor``).

Every tick adds each present viewer's point-seconds to their row: with room on the page the
new row version stays there (a HOT update) and neither index is touched. ``fillfactor`` applies
to pages written from now on; the rows move as they are updated.

Revision ID: 0039
Revises: 0038
"""

from alembic import op

revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None

_FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE points_accrual SET (fillfactor = {_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE points_accrual RESET (fillfactor)")
