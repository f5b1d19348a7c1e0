"""Payments in doubt: how an admin settled each outbox call that ended uncertain (marked paid,
or sent again), by whom and why; one row per call.

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payments_settlements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("effect_key", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("again_key", sa.String(length=255), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments_settlements")),
        sa.UniqueConstraint("outbox_id", name=op.f("uq_payments_settlements_outbox_id")),
    )
    op.create_index(
        op.f("ix_payments_settlements_guild_id_created_at"),
        "payments_settlements",
        ["guild_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_payments_settlements_guild_id_created_at"), table_name="payments_settlements"
    )
    op.drop_table("payments_settlements")
