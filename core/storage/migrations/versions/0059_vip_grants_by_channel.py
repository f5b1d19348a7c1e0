"""An index of vip_grants by channel and viewer, ``(platform, broadcaster_user_id,
platform_user_id)``: whether another server following a Twitch channel holds a viewer's VIP
(``vip.repository.held_elsewhere``, asked for each VIP event and each VIP ``!vip setup``
reads) is one probe instead of a read of every server's grants, ended ones included.

Revision ID: 0059
Revises: 0058
"""

from alembic import op

revision = "0059"
down_revision = "0058"
branch_labels = None
depends_on = None

_COLUMNS = ["platform", "broadcaster_user_id", "platform_user_id"]
_NAME = "ix_vip_grants_platform_broadcaster_user_id_platform_user_id"


def upgrade() -> None:
    op.create_index(op.f(_NAME), "vip_grants", _COLUMNS)


def downgrade() -> None:
    op.drop_index(op.f(_NAME), table_name="vip_grants")
