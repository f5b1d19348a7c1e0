"""Alerts a streamer picks and the goal bar: each alert kind's style (on or off, its words, how
long, a picture and a sound) and its variations by amount, the pictures and sounds uploaded,
what each recorded alert plays, the goal and what moved it.

Revision ID: 0038
Revises: 0037
"""

import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("overlay_alerts", sa.Column("amount", sa.BigInteger(), nullable=True))
    op.add_column("overlay_alerts", sa.Column("image_id", sa.String(length=32), nullable=True))
    op.add_column("overlay_alerts", sa.Column("sound_id", sa.String(length=32), nullable=True))
    op.add_column("overlay_alerts", sa.Column("seconds", sa.Integer(), nullable=True))
    op.create_table(
        "overlay_alert_styles",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.String(length=32), nullable=True),
        sa.Column("sound_id", sa.String(length=32), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "kind", name=op.f("pk_overlay_alert_styles")),
    )
    op.create_table(
        "overlay_alert_variations",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("threshold", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("template", sa.String(length=200), nullable=False),
        sa.Column("image_id", sa.String(length=32), nullable=True),
        sa.Column("sound_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint(
            "guild_id", "kind", "threshold", name=op.f("pk_overlay_alert_variations")
        ),
    )
    op.create_table(
        "overlay_media",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("media_id", sa.String(length=32), nullable=False),
        sa.Column("what", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "media_id", name=op.f("pk_overlay_media")),
    )
    op.create_table(
        "overlay_goals",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("measure", sa.String(length=16), nullable=False),
        sa.Column("target", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_overlay_goals")),
    )
    op.create_table(
        "overlay_goal_moves",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "source_ref", name=op.f("pk_overlay_goal_moves")),
    )


def downgrade() -> None:
    op.drop_table("overlay_goal_moves")
    op.drop_table("overlay_goals")
    op.drop_table("overlay_media")
    op.drop_table("overlay_alert_variations")
    op.drop_table("overlay_alert_styles")
    with op.batch_alter_table("overlay_alerts") as batch:
        batch.drop_column("seconds")
        batch.drop_column("sound_id")
        batch.drop_column("image_id")
        batch.drop_column("amount")
