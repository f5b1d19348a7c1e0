"""per-tier switch for watchtime roles; when webhooks of each type last arrived

``role_tiers.enabled``: ``!roles disable <role>`` turns one tier off (role sync leaves that role
alone). ``webhook_arrivals``: the last time a Kick webhook of each type arrived for a
broadcaster, shared by the web and bot processes, so that Pusher publishes exactly the event
types webhooks are not delivering.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("role_tiers") as batch:
        batch.add_column(
            sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "webhook_arrivals",
        sa.Column("broadcaster_user_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "broadcaster_user_id", "event_type", name=op.f("pk_webhook_arrivals")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_arrivals")
    with op.batch_alter_table("role_tiers") as batch:
        batch.drop_column("enabled")
