"""watch_streams.started_at: the latest stream start heard of for a channel, so that a stream's
end delivered after the next stream's start (Twitch sends them in any order when a streamer goes
live again at once) no longer ends the new stream.

A live row's start is taken as the moment it went live; an offline row's stays null (any start
after its end is newer).

Revision ID: 0049
Revises: 0048
"""

import sqlalchemy as sa
from alembic import op

from core.storage.schema import UTCDateTime

revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None

_streams = sa.table(
    "watch_streams",
    sa.column("is_live", sa.Boolean()),
    sa.column("changed_at", UTCDateTime),
    sa.column("started_at", UTCDateTime),
)


def upgrade() -> None:
    op.add_column("watch_streams", sa.Column("started_at", UTCDateTime, nullable=True))
    s = _streams.c
    op.execute(sa.update(_streams).where(s.is_live.is_(True)).values(started_at=s.changed_at))


def downgrade() -> None:
    with op.batch_alter_table("watch_streams") as batch:
        batch.drop_column("started_at")
