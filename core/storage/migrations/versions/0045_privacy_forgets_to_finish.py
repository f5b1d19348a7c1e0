"""privacy_forgets_to_finish: a forget that kept some of a person's rows only for now (a seat in
a heist under way, a VIP grant still running) remembers their accounts until those rows are
deleted (``core/features/privacy/finishing.py``).

Revision ID: 0045
Revises: 0044
"""

import sqlalchemy as sa
from alembic import op

revision = "0045"
down_revision = "0044"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "privacy_forgets_to_finish",
        sa.Column("id", ID, nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("platform_user_id", sa.String(length=64), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_forgets_to_finish")),
    )
    op.create_index(
        op.f("ix_privacy_forgets_to_finish_discord_user_id"),
        "privacy_forgets_to_finish",
        ["discord_user_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_privacy_forgets_to_finish_discord_user_id"), "privacy_forgets_to_finish"
    )
    op.drop_table("privacy_forgets_to_finish")
