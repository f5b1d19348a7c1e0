"""On-stream overlays (issue 30): secret URLs, overlay settings and the numbered alert feed.

Numbered 0030 on its branch; renumbered 0032 at the merge of main, after the importers' 0030
and the VIP reward limits' 0031.

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def _guild() -> sa.Column:
    return sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False)


def upgrade() -> None:
    op.create_table(
        "overlay_tokens",
        _guild(),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_sealed", sa.String(length=512), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "kind", name=op.f("pk_overlay_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_overlay_tokens_token_hash")),
    )
    op.create_table(
        "overlay_settings",
        _guild(),
        sa.Column("alert_vip", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("alert_gifts", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("alert_milestones", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "milestones", sa.String(length=64), server_default="100,500,1000", nullable=False
        ),
        sa.Column("alert_seconds", sa.Integer(), server_default="6", nullable=False),
        sa.Column("accent_colour", sa.String(length=7), server_default="#9146ff", nullable=False),
        sa.Column("text_colour", sa.String(length=7), server_default="#ffffff", nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_overlay_settings")),
    )
    op.create_table(
        "overlay_alert_counters",
        _guild(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_overlay_alert_counters")),
    )
    op.create_table(
        "overlay_alerts",
        _guild(),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "seq", name=op.f("pk_overlay_alerts")),
        sa.UniqueConstraint(
            "guild_id", "source_ref", name=op.f("uq_overlay_alerts_guild_id_source_ref")
        ),
    )


def downgrade() -> None:
    for table in ("overlay_alerts", "overlay_alert_counters", "overlay_settings", "overlay_tokens"):
        op.drop_table(table)
