"""Raffle: cheaper conversion writes and a draw that seeks instead of reading every balance.

- ``raffle_balances`` loses its ``(guild_id, period_id, tickets)`` index, so a balance update
  touches no index and can be HOT; its two readers (the leaderboard's top N and a viewer's
  rank) read one period's balances through the primary key instead (a top-N sort, a count).
- ``raffle_balances`` and ``raffle_watch_progress`` keep 20 % of each page free (PostgreSQL
  ``fillfactor``) so their updates stay on the page (HOT).
- ``raffle_ledger`` loses its foreign key to ``raffle_periods``: every writer already reads the
  period row (``FOR KEY SHARE`` on PostgreSQL, the single writer on SQLite) and writes only
  while it is open, and periods are never deleted, so the check bought nothing more.
- ``raffle_frozen_ranges``: written by the close, per eligible participant, the end of its
  ticket range in the canonical order (docs/raffle.md), so a draw seeks each winner's range.
  Periods closed before have none and draw as before.

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_FILLFACTOR = 80


def upgrade() -> None:
    op.drop_index(
        op.f("ix_raffle_balances_guild_id_period_id_tickets"), table_name="raffle_balances"
    )
    with op.batch_alter_table("raffle_ledger", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_raffle_ledger_period_id_raffle_periods"), type_="foreignkey"
        )
    if op.get_bind().dialect.name == "postgresql":
        for table in ("raffle_balances", "raffle_watch_progress"):
            op.execute(f"ALTER TABLE {table} SET (fillfactor = {_FILLFACTOR})")
    op.create_table(
        "raffle_frozen_ranges",
        sa.Column("period_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("range_end", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("tickets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period_id", "range_end", name=op.f("pk_raffle_frozen_ranges")),
    )


def downgrade() -> None:
    op.drop_table("raffle_frozen_ranges")
    if op.get_bind().dialect.name == "postgresql":
        for table in ("raffle_balances", "raffle_watch_progress"):
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    with op.batch_alter_table("raffle_ledger", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_raffle_ledger_period_id_raffle_periods"),
            "raffle_periods",
            ["period_id"],
            ["id"],
        )
    op.create_index(
        op.f("ix_raffle_balances_guild_id_period_id_tickets"),
        "raffle_balances",
        ["guild_id", "period_id", "tickets"],
    )
