"""event_arrivals: when an event of each kind was last handled for a broadcaster, by any bot
process (written at most once a minute per row and process), so that the dashboard's overview
says when the last event came in a web process that handles none (a split deployment).

Revision ID: 0057
Revises: 0056
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0057"
down_revision = "0056"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_arrivals",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("arrived_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "broadcaster_user_id", "kind", name=op.f("pk_event_arrivals")
        ),
    )


def downgrade() -> None:
    op.drop_table("event_arrivals")
