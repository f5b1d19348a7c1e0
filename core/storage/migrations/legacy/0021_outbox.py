"""The outbox: calls to outside services, written in the transaction that decided them and
made by each service's worker (``core/outbox/``).

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("service", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("effect_key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("effect_key", name=op.f("uq_outbox_effect_key")),
    )
    op.create_index(
        op.f("ix_outbox_service_state_next_attempt_at"),
        "outbox",
        ["service", "state", "next_attempt_at"],
    )
    op.create_index(op.f("ix_outbox_guild_id_created_at"), "outbox", ["guild_id", "created_at"])


def downgrade() -> None:
    op.drop_table("outbox")
