"""watch_presence.active_since: the start of the run of activity a viewer's row keeps, so that a
tick several intervals late still counts exactly who was present before its instant.

Rows written before have none and count as a run of their latest activity alone, which is what
they vouched for; active_bucket is no longer written (kept: dropping it gains nothing).

Revision ID: 0035
Revises: 0034
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("watch_presence", sa.Column("active_since", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watch_presence") as batch:
        batch.drop_column("active_since")
