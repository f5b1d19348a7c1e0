"""Importers (issue 31): runs per guild and source, the source rows already imported, and the
winners of raffles drawn by another bot (``core/features/importers/``).

Revision ID: 0030
Revises: 0029
"""

import sqlalchemy as sa
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("guild_id", "source", name=op.f("pk_import_runs")),
    )
    op.create_table(
        "import_markers",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "guild_id", "source", "source_ref", name=op.f("pk_import_markers")
        ),
    )
    op.create_table(
        "imported_winners",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("period_starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("period_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=True),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("platform_user_id", sa.String(length=64), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=True),
        sa.Column("prize", sa.String(length=200), server_default="", nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint(
            "guild_id", "source", "source_ref", name=op.f("pk_imported_winners")
        ),
    )


def downgrade() -> None:
    op.drop_table("imported_winners")
    op.drop_table("import_markers")
    op.drop_table("import_runs")
