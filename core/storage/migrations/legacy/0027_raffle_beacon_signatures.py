"""drand signatures checked offline: a period records the chain its round comes from (its hash,
drand scheme id and public key), and a draw the signature of its round (and, on a chained scheme,
the previous round's signature, which the signed message includes).

Revision ID: 0027
Revises: 0026
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("raffle_periods") as batch:
        batch.add_column(sa.Column("beacon_chain_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("beacon_scheme", sa.String(64), nullable=True))
        batch.add_column(sa.Column("beacon_public_key", sa.String(192), nullable=True))
    with op.batch_alter_table("raffle_draws") as batch:
        batch.add_column(sa.Column("beacon_signature", sa.String(192), nullable=True))
        batch.add_column(sa.Column("beacon_previous_signature", sa.String(192), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("raffle_draws") as batch:
        batch.drop_column("beacon_previous_signature")
        batch.drop_column("beacon_signature")
    with op.batch_alter_table("raffle_periods") as batch:
        batch.drop_column("beacon_public_key")
        batch.drop_column("beacon_scheme")
        batch.drop_column("beacon_chain_hash")
