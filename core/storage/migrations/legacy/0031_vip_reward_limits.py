"""The VIP reward's limits as set from the dashboard (issue 27): its prompt, redemptions per
stream and per viewer per stream, and the cooldown, as last sent to Twitch.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("reward_prompt", sa.String(length=200)),
    ("reward_max_per_stream", sa.Integer()),
    ("reward_max_per_user_per_stream", sa.Integer()),
    ("reward_cooldown_seconds", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("vip_settings") as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vip_settings") as batch:
        for name, _kind in reversed(_COLUMNS):
            batch.drop_column(name)
