"""Points: earning rates per guild, and the earnings waiting to be posted to the ledger.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_RATES = (
    ("watch_rate", "1"),
    ("sub_rate", "2"),
    ("chat_points", "1"),
    ("chat_cap", "20"),
    ("post_minutes", "30"),
)


def upgrade() -> None:
    with op.batch_alter_table("points_settings") as batch:
        for name, default in _RATES:
            batch.add_column(sa.Column(name, sa.Integer(), server_default=default, nullable=False))
        batch.add_column(sa.Column("earned_until", _TIME, nullable=True))
        batch.add_column(
            sa.Column("backend", sa.String(length=16), server_default="ledger", nullable=False)
        )
        batch.add_column(sa.Column("se_channel_id", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("se_jwt", sa.Text(), nullable=True))
    op.create_table(
        "points_accrual",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_user_id", sa.String(length=64), nullable=False),
        sa.Column("window_start", _TIME, nullable=False),
        sa.Column("watch_units", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chat_points", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("chat_hour", _TIME, nullable=True),
        sa.Column("chat_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_chat_at", _TIME, nullable=True),
        sa.Column("last_chat_digest", sa.String(length=32), server_default="", nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "platform", "platform_user_id", name=op.f("pk_points_accrual")
        ),
    )
    op.create_index(
        op.f("ix_points_accrual_guild_id_window_start"),
        "points_accrual",
        ["guild_id", "window_start"],
    )

    for name in ("holds", "outbox"):
        table = f"points_se_{name}"
        columns = [
            sa.Column("id", _ID, nullable=False),
            sa.Column("guild_id", sa.BigInteger(), nullable=False),
            sa.Column("username", sa.String(length=32), nullable=False),
            sa.Column("amount", sa.BigInteger(), nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("source_ref", sa.String(length=255), nullable=False),
        ]
        if name == "holds":
            columns += [
                sa.Column("created_at", _TIME, nullable=False),
                sa.Column("settled_at", _TIME, nullable=True),
            ]
        else:
            columns += [
                sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
                sa.Column("new_balance", sa.BigInteger(), nullable=True),
                sa.Column("created_at", _TIME, nullable=False),
                sa.Column("sent_at", _TIME, nullable=True),
            ]
        op.create_table(
            table,
            *columns,
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint(
                "guild_id", "source", "source_ref",
                name=op.f(f"uq_{table}_guild_id_source_source_ref"),
            ),
        )
        indexed = ["guild_id", "username"] if name == "holds" else ["state"]
        op.create_index(op.f(f"ix_{table}_{'_'.join(indexed)}"), table, indexed)


def downgrade() -> None:
    op.drop_table("points_se_outbox")
    op.drop_table("points_se_holds")
    op.drop_table("points_accrual")
    with op.batch_alter_table("points_settings") as batch:
        for name in ("se_jwt", "se_channel_id", "backend"):
            batch.drop_column(name)
        batch.drop_column("earned_until")
        for name, _ in reversed(_RATES):
            batch.drop_column(name)
