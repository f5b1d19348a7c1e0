"""kick_public_keys: Kick's webhook public key as the bot last fetched it from Kick, which every
web process accepts beside the bundled key (``core/platforms/kick/webhook_keys.py``), and when a
web process last asked for it again (a delivery no key verified).

Revision ID: 0048
Revises: 0047
"""

import sqlalchemy as sa
from alembic import op

revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kick_public_keys",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("pem", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kick_public_keys")),
    )


def downgrade() -> None:
    op.drop_table("kick_public_keys")
