"""overlay_milestones_wider: overlay_settings.milestones holds 128 characters, not 64, so every
list of milestones the settings form accepts is stored (8 of up to 1,000,000,000: at most 87
characters; PostgreSQL refused the longer ones and the form answered 500).

Revision ID: 0046
Revises: 0045
"""

import sqlalchemy as sa
from alembic import op

revision = "0046"
down_revision = "0045"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("overlay_settings") as batch:
        batch.alter_column(
            "milestones",
            existing_type=sa.String(length=64),
            type_=sa.String(length=128),
            existing_nullable=False,
            existing_server_default="100,500,1000",
        )


def downgrade() -> None:
    # Lists longer than 64 characters are cut back to the milestones that fit.
    conn = op.get_bind()
    settings = sa.table("overlay_settings", sa.column("guild_id"), sa.column("milestones"))
    long = conn.execute(
        sa.select(settings.c.guild_id, settings.c.milestones).where(
            sa.func.length(settings.c.milestones) > 64
        )
    ).all()
    for guild_id, milestones in long:
        kept = milestones[:65].rsplit(",", 1)[0]
        conn.execute(
            sa.update(settings).where(settings.c.guild_id == guild_id).values(milestones=kept)
        )
    with op.batch_alter_table("overlay_settings") as batch:
        batch.alter_column(
            "milestones",
            existing_type=sa.String(length=128),
            type_=sa.String(length=64),
            existing_nullable=False,
            existing_server_default="100,500,1000",
        )
