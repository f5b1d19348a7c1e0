"""The server directory (issue 27): each Discord server's name and icon, roles, channels and
members' display names as the bot last saw them, for the dashboard's names and pickers.

Revision ID: 0026
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _keys(*names: str) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), autoincrement=False, nullable=False) for name in names]


def upgrade() -> None:
    op.create_table(
        "directory_guilds",
        *_keys("guild_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("icon", sa.String(length=64), nullable=True),
        sa.Column("can_manage_roles", sa.Boolean(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_directory_guilds")),
    )
    op.create_table(
        "directory_roles",
        *_keys("guild_id", "role_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("color", sa.Integer(), server_default="0", nullable=False),
        sa.Column("assignable", sa.Boolean(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "role_id", name=op.f("pk_directory_roles")),
    )
    op.create_table(
        "directory_channels",
        *_keys("guild_id", "channel_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("can_post", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "channel_id", name=op.f("pk_directory_channels")),
    )
    op.create_table(
        "directory_members",
        *_keys("guild_id", "user_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("avatar", sa.String(length=64), nullable=True),
        sa.Column("seen_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_directory_members")),
    )


def downgrade() -> None:
    for table in ("directory_members", "directory_channels", "directory_roles", "directory_guilds"):
        op.drop_table(table)
