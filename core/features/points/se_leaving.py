"""A guild that goes back to our own ledger while StreamElements payments wait for the
``streamelements`` worker (a heist's winners and losers, an admin's change).

Those points were owed on StreamElements when the game settled (its stakes were never taken
here), so the payments are still made there, on the channel they were queued for, each once:
the channel and JWT are kept for them, and for a payment in doubt until a person settles it
(their "pay again" is made there too), and forgotten once none waits or is in doubt (right
after its last one ends, or at the worker's hourly pruning). Nothing new goes to StreamElements
meanwhile: games and admins see the ledger (``SeWallet.account_of``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.payments.tables import payments_settlements
from core.features.points.se_payments import PAY, prune_settled
from core.features.points.tables import points_settings
from core.outbox import store
from core.storage.tables import OUTBOX_SE_PAYMENTS, outbox

LEDGER = "ledger"


def _waiting(guild_id: sa.ColumnElement[int] | int) -> sa.ScalarSelect[int]:
    o = outbox.c
    return (
        sa.select(sa.func.count())
        .select_from(outbox)
        .where(o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
        .where(o.state == store.PENDING)
        .scalar_subquery()
    )


def _in_doubt(guild_id: sa.ColumnElement[int] | int) -> sa.Exists:
    """Whether a payment of the guild ended uncertain and nobody settled it yet: an admin may
    still send it again (``core/features/payments``), with this JWT."""
    o = outbox.c
    settled = sa.exists().where(payments_settlements.c.outbox_id == o.id)
    return (
        sa.exists()
        .where(o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
        .where(o.state == store.UNCERTAIN, ~settled)
    )


def is_kept_for_payments(conn: Connection, guild_id: int) -> bool:
    """Whether the guild's JWT is still needed: a payment waits, or one is in doubt."""
    query = sa.select(sa.or_(_waiting(guild_id) > 0, _in_doubt(guild_id)))
    return bool(conn.execute(query).scalar_one())


def in_doubt_count(conn: Connection, guild_id: int) -> int:
    """How many of the guild's payments are in doubt and not settled."""
    o = outbox.c
    settled = sa.exists().where(payments_settlements.c.outbox_id == o.id)
    query = (
        sa.select(sa.func.count())
        .select_from(outbox)
        .where(o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
        .where(o.state == store.UNCERTAIN, ~settled)
    )
    return int(conn.execute(query).scalar_one())


def waiting_count(conn: Connection, guild_id: int) -> int:
    """How many of the guild's payments wait to be made."""
    return int(conn.execute(sa.select(_waiting(guild_id))).scalar_one())


def forget_paid_out(conn: Connection, guild_id: int | None = None, *, in_flight: int = 0) -> int:
    """Forget the channel and JWT of guilds back on the ledger whose payments are all made
    and none in doubt (``guild_id``: that guild only; ``in_flight``: its payments still counted
    as waiting that have just ended, the worker not having recorded them yet); how many
    guilds."""
    s = points_settings.c
    query = (
        sa.update(points_settings)
        .where(s.backend == LEDGER, s.se_jwt.is_not(None))
        .where(_waiting(s.guild_id) <= in_flight, ~_in_doubt(s.guild_id))
        .values(se_channel_id=None, se_jwt=None)
    )
    if guild_id is not None:
        query = query.where(s.guild_id == guild_id)
    return conn.execute(query).rowcount


def prune_ended(conn: Connection, before: datetime) -> int:
    """The ``streamelements`` worker's pruning: holds settled before ``before``
    (:func:`prune_settled`), and the JWTs kept for payments now all made."""
    return prune_settled(conn, before) + forget_paid_out(conn)
