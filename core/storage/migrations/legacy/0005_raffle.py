"""Raffle: periods, ticket ledger, balances, draws.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CURRENT = "status IN ('scheduled', 'open')"


def upgrade() -> None:
    op.create_table(
        "raffle_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("watch_hour_tickets", sa.Integer(), server_default="10", nullable=False),
        sa.Column("gifted_sub_tickets", sa.Integer(), server_default="15", nullable=False),
        sa.Column("wager_thousand_tickets", sa.Integer(), server_default="20", nullable=False),
        sa.Column("gift_hold_minutes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("auto_draw", sa.Boolean(), nullable=True),
        sa.Column("announcement_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("time_zone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("linked_only", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("running", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_raffle_settings")),
    )
    op.create_table(
        "raffle_periods",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("beacon_round", sa.BigInteger(), nullable=True),
        sa.Column("beacon_genesis_time", sa.BigInteger(), nullable=True),
        sa.Column("beacon_period_seconds", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=True),
        sa.Column("eligible", sa.Text(), nullable=True),
        sa.Column("open_announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("close_announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_periods")),
    )
    op.create_index(
        op.f("ix_raffle_periods_guild_id_status"), "raffle_periods", ["guild_id", "status"]
    )
    op.create_index(
        "uq_raffle_periods_guild_id_current",
        "raffle_periods",
        ["guild_id"],
        unique=True,
        sqlite_where=sa.text(CURRENT),
        postgresql_where=sa.text(CURRENT),
    )
    op.create_table(
        "raffle_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["raffle_periods.id"],
            name=op.f("fk_raffle_ledger_period_id_raffle_periods"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_ledger")),
        sa.UniqueConstraint(
            "period_id",
            "source",
            "source_ref",
            name=op.f("uq_raffle_ledger_period_id_source_source_ref"),
        ),
    )
    op.create_index(
        op.f("ix_raffle_ledger_guild_id_period_id_platform_platform_user_id"),
        "raffle_ledger",
        ["guild_id", "period_id", "platform", "platform_user_id"],
    )
    op.create_table(
        "raffle_balances",
        sa.Column("period_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("tickets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_id", "platform", "platform_user_id", name=op.f("pk_raffle_balances")
        ),
    )
    op.create_index(
        op.f("ix_raffle_balances_guild_id_period_id_tickets"),
        "raffle_balances",
        ["guild_id", "period_id", "tickets"],
    )
    op.create_table(
        "raffle_watch_progress",
        sa.Column("period_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("baseline_seconds", sa.BigInteger(), nullable=False),
        sa.Column("hours_awarded", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "period_id", "platform", "platform_user_id", name=op.f("pk_raffle_watch_progress")
        ),
    )
    op.create_table(
        "raffle_gifts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("gifter_name", sa.String(length=100), nullable=False),
        sa.Column("giftees", sa.Integer(), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("release_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("voided_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_gifts")),
        sa.UniqueConstraint(
            "period_id", "reference", name=op.f("uq_raffle_gifts_period_id_reference")
        ),
    )
    op.create_index(
        op.f("ix_raffle_gifts_status_release_at"), "raffle_gifts", ["status", "release_at"]
    )
    op.create_table(
        "raffle_exclusions",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("excluded_by", sa.BigInteger(), nullable=False),
        sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "platform_user_id", name=op.f("pk_raffle_exclusions")
        ),
    )
    op.create_table(
        "raffle_draws",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("period_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("winners_wanted", sa.Integer(), nullable=False),
        sa.Column("prize", sa.String(length=200), server_default="", nullable=False),
        sa.Column("reroll_of", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("requested_by", sa.BigInteger(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("forced_by", sa.BigInteger(), nullable=True),
        sa.Column("beacon_round", sa.BigInteger(), nullable=True),
        sa.Column("beacon_randomness", sa.String(length=128), nullable=True),
        sa.Column("first_counter", sa.Integer(), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("announced", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["period_id"],
            ["raffle_periods.id"],
            name=op.f("fk_raffle_draws_period_id_raffle_periods"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raffle_draws")),
    )
    op.create_index(
        op.f("ix_raffle_draws_guild_id_period_id"), "raffle_draws", ["guild_id", "period_id"]
    )
    op.create_index(op.f("ix_raffle_draws_status"), "raffle_draws", ["status"])
    op.create_table(
        "raffle_winners",
        sa.Column("draw_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("counter", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draw_id"], ["raffle_draws.id"], name=op.f("fk_raffle_winners_draw_id_raffle_draws")
        ),
        sa.PrimaryKeyConstraint("draw_id", "position", name=op.f("pk_raffle_winners")),
    )


def downgrade() -> None:
    op.drop_table("raffle_winners")
    op.drop_index(op.f("ix_raffle_draws_status"), table_name="raffle_draws")
    op.drop_index(op.f("ix_raffle_draws_guild_id_period_id"), table_name="raffle_draws")
    op.drop_table("raffle_draws")
    op.drop_table("raffle_exclusions")
    op.drop_index(op.f("ix_raffle_gifts_status_release_at"), table_name="raffle_gifts")
    op.drop_table("raffle_gifts")
    op.drop_table("raffle_watch_progress")
    op.drop_index(
        op.f("ix_raffle_balances_guild_id_period_id_tickets"), table_name="raffle_balances"
    )
    op.drop_table("raffle_balances")
    op.drop_index(
        op.f("ix_raffle_ledger_guild_id_period_id_platform_platform_user_id"),
        table_name="raffle_ledger",
    )
    op.drop_table("raffle_ledger")
    op.drop_index("uq_raffle_periods_guild_id_current", table_name="raffle_periods")
    op.drop_index(op.f("ix_raffle_periods_guild_id_status"), table_name="raffle_periods")
    op.drop_table("raffle_periods")
    op.drop_table("raffle_settings")
