"""Raffle wagers: Shuffle settings, account claims, wager baselines.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shuffle_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("affiliate_url", sa.Text(), nullable=True),
        sa.Column("campaign_codes", sa.Text(), server_default="", nullable=False),
        sa.Column("verified_role_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("poll_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_problem", sa.String(length=200), nullable=True),
        sa.Column("last_problem_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_shuffle_settings")),
    )
    op.create_table(
        "shuffle_link_requests",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "discord_user_id", name=op.f("pk_shuffle_link_requests")
        ),
    )
    op.create_table(
        "shuffle_links",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("verified_by", sa.BigInteger(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "account_key", name=op.f("pk_shuffle_links")),
        sa.UniqueConstraint(
            "guild_id", "discord_user_id", name=op.f("uq_shuffle_links_guild_id_discord_user_id")
        ),
    )
    op.create_table(
        "shuffle_wager_totals",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "account_key", name=op.f("pk_shuffle_wager_totals")),
    )
    op.create_table(
        "shuffle_wager_periods",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("period_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("baseline_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "period_id", name=op.f("pk_shuffle_wager_periods")),
    )
    op.create_table(
        "shuffle_wager_progress",
        sa.Column("period_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("account_key", sa.String(length=64), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("baseline_cents", sa.BigInteger(), nullable=False),
        sa.Column("tickets_given", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_id", "account_key", name=op.f("pk_shuffle_wager_progress")
        ),
    )


def downgrade() -> None:
    op.drop_table("shuffle_wager_progress")
    op.drop_table("shuffle_wager_periods")
    op.drop_table("shuffle_wager_totals")
    op.drop_table("shuffle_links")
    op.drop_table("shuffle_link_requests")
    op.drop_table("shuffle_settings")
