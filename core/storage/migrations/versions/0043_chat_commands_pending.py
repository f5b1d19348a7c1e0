"""chat_commands_pending: a chat command from the moment the router accepts it until it has
run, so a bot process killed in between leaves it to another (``core/features/chat_commands/
pending.py``).

Revision ID: 0043
Revises: 0042
"""

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_commands_pending",
        sa.Column("id", ID, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("event_key", sa.String(length=255), nullable=False),
        sa.Column("command", sa.String(length=32), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("permission", sa.Integer(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_commands_pending")),
        sa.UniqueConstraint(
            "guild_id", "event_key", name=op.f("uq_chat_commands_pending_guild_id_event_key")
        ),
    )
    op.create_index(
        op.f("ix_chat_commands_pending_received_at"), "chat_commands_pending", ["received_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_chat_commands_pending_received_at"), "chat_commands_pending")
    op.drop_table("chat_commands_pending")
