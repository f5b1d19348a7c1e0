"""StreamElements payments move to the outbox (issue 26): each row of ``points_se_outbox`` becomes
a call of the ``streamelements`` service with the same meaning, and the old table goes.

pending -> pending (sent by the worker); sending -> pending marked in flight, so the worker ends
it uncertain rather than pay twice (the process that was sending it died); sent -> done with the
balance StreamElements answered; uncertain -> uncertain. Keys are those the settlement queues
now (``features/points/se_payments.payment_key``), so a settlement retried after the upgrade
still pays once.

Revision ID: 0025
Revises: 0024
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

SERVICE, PAY = "streamelements", "points.se-pay"
IN_FLIGHT = "(the call was being made)"  # core/outbox/store.py's marker of a call under way
_TIME = sa.DateTime(timezone=True)

old = sa.table(
    "points_se_outbox",
    sa.column("id", sa.BigInteger),
    sa.column("guild_id", sa.BigInteger),
    sa.column("username", sa.String),
    sa.column("amount", sa.BigInteger),
    sa.column("source", sa.String),
    sa.column("source_ref", sa.String),
    sa.column("state", sa.String),
    sa.column("new_balance", sa.BigInteger),
    sa.column("created_at", _TIME),
    sa.column("sent_at", _TIME),
)
outbox = sa.table(
    "outbox",
    sa.column("service", sa.String),
    sa.column("kind", sa.String),
    sa.column("guild_id", sa.BigInteger),
    sa.column("effect_key", sa.String),
    sa.column("payload", sa.Text),
    sa.column("state", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("result", sa.Text),
    sa.column("next_attempt_at", _TIME),
    sa.column("created_at", _TIME),
    sa.column("finished_at", _TIME),
)


def _call(row: sa.Row) -> dict:
    payload = {"username": row.username, "amount": row.amount, "source": row.source,
               "ref": row.source_ref}
    call = {
        "service": SERVICE,
        "kind": PAY,
        "guild_id": row.guild_id,
        "effect_key": f"{PAY}:{row.guild_id}:{row.source}:{row.source_ref}"[:255],
        "payload": json.dumps(payload, separators=(",", ":"), sort_keys=True),
        "state": "pending",
        "attempts": 0,
        "result": None,
        "next_attempt_at": row.created_at,
        "created_at": row.created_at,
        "finished_at": None,
    }
    if row.state == "sending":
        call.update(attempts=1, result=IN_FLIGHT)
    elif row.state == "sent":
        balance = "" if row.new_balance is None else f": {row.new_balance:,} now"
        done = {"state": "done", "result": f"{row.amount:+,} to {row.username}{balance}"}
        call.update(attempts=1, finished_at=row.sent_at or row.created_at, **done)
    elif row.state == "uncertain":
        reason = "may or may not be applied (moved from the old payments table): check it by hand"
        call.update(state="uncertain", attempts=1, result=reason,
                    finished_at=row.sent_at or row.created_at)
    return call


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(old).order_by(old.c.id)).all()
    if rows:
        bind.execute(sa.insert(outbox), [_call(row) for row in rows])
    op.drop_table("points_se_outbox")


def downgrade() -> None:
    op.create_table(
        "points_se_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("new_balance", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_se_outbox")),
        sa.UniqueConstraint(
            "guild_id", "source", "source_ref",
            name=op.f("uq_points_se_outbox_guild_id_source_source_ref"),
        ),
    )
    op.create_index(op.f("ix_points_se_outbox_state"), "points_se_outbox", ["state"])
