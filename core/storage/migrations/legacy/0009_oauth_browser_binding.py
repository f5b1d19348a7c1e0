"""OAuth bound to the browser, and single-use start links

``oauth_states.browser_hash`` holds the SHA-256 of the cookie set in the browser that started
the sign-in; the callback must come back with it. ``used_links`` remembers which signed start
links have started a sign-in, so each works once.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_states") as batch:
        batch.add_column(sa.Column("browser_hash", sa.String(length=64), nullable=True))
    op.create_table(
        "used_links",
        sa.Column("link_id", sa.String(length=43), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("discord_user_id", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_used_links")),
    )
    op.create_index(op.f("ix_used_links_expires_at"), "used_links", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_used_links_expires_at"), table_name="used_links")
    op.drop_table("used_links")
    with op.batch_alter_table("oauth_states") as batch:
        batch.drop_column("browser_hash")
