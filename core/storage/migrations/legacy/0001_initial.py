"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bus_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dead_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_events")),
        sa.UniqueConstraint("event_key", name=op.f("uq_bus_events_event_key")),
    )
    with op.batch_alter_table("bus_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bus_events_acked_at_dead_at_id"),
            ["acked_at", "dead_at", "id"],
            unique=False,
        )

    op.create_table(
        "guilds",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guilds")),
    )
    op.create_table(
        "processed_events",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("consumer", sa.String(length=64), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "consumer", "event_key", name=op.f("pk_processed_events")
        ),
    )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_events_processed_at"),
            ["processed_at"],
            unique=False,
        )

    op.create_table(
        "viewers",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "platform_user_id", name=op.f("pk_viewers")
        ),
    )
    op.create_table(
        "watch_presence",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("last_active_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id",
            "platform",
            "broadcaster_user_id",
            "platform_user_id",
            name=op.f("pk_watch_presence"),
        ),
    )
    with op.batch_alter_table("watch_presence", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_watch_presence_guild_id_last_active_at"),
            ["guild_id", "last_active_at"],
            unique=False,
        )

    op.create_table(
        "watch_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "tracking_enabled", sa.Boolean(), nullable=False, server_default=sa.true()
        ),
        sa.Column("last_tick_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_watch_settings")),
    )
    op.create_table(
        "watch_streams",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("is_live", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "broadcaster_user_id", name=op.f("pk_watch_streams")
        ),
    )
    op.create_table(
        "watchtime",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("seconds", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "platform_user_id", name=op.f("pk_watchtime")
        ),
    )
    with op.batch_alter_table("watchtime", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_watchtime_guild_id_seconds"),
            ["guild_id", "seconds"],
            unique=False,
        )

    op.create_table(
        "webhook_receipts",
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_webhook_receipts")),
    )
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_webhook_receipts_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "guild_channels",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("channel_slug", sa.String(length=100), nullable=False),
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guild_id"],
            ["guilds.guild_id"],
            name=op.f("fk_guild_channels_guild_id_guilds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guild_channels")),
        sa.UniqueConstraint(
            "guild_id",
            "platform",
            name=op.f("uq_guild_channels_guild_id_platform"),
        ),
    )
    with op.batch_alter_table("guild_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_guild_channels_platform_broadcaster_user_id"),
            ["platform", "broadcaster_user_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("guild_channels", schema=None) as batch_op:
        batch_op.drop_index(
            batch_op.f("ix_guild_channels_platform_broadcaster_user_id")
        )

    op.drop_table("guild_channels")
    with op.batch_alter_table("webhook_receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_receipts_received_at"))

    op.drop_table("webhook_receipts")
    with op.batch_alter_table("watchtime", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watchtime_guild_id_seconds"))

    op.drop_table("watchtime")
    op.drop_table("watch_streams")
    op.drop_table("watch_settings")
    with op.batch_alter_table("watch_presence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_watch_presence_guild_id_last_active_at"))

    op.drop_table("watch_presence")
    op.drop_table("viewers")
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_events_processed_at"))

    op.drop_table("processed_events")
    op.drop_table("guilds")
    with op.batch_alter_table("bus_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bus_events_acked_at_dead_at_id"))

    op.drop_table("bus_events")
