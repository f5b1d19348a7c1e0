"""The StreamElements payments of a guild the bot has not made: waiting to be made, given up on
(and not queued again), or in doubt (ended uncertain, not settled by a person). Deleting the
guild's data (``python -m core guild remove``) deletes them with its JWT, so they are never
made: the command names each first, for the streamer to pay by hand on StreamElements."""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.payments.service import why_of
from core.features.payments.tables import payments_settlements
from core.features.points.se_payments import PAY
from core.outbox import store
from core.storage.tables import OUTBOX_SE_PAYMENTS, outbox

# What became of it so far, in the streamer's words.
STATES = {
    store.PENDING: "waiting to be made",
    store.FAILED: "given up on (it did not land)",
    store.UNCERTAIN: "in doubt (it may have landed: check {login}'s balance first)",
}


@dataclass(frozen=True)
class Unmade:
    login: str
    amount: int
    why: str  # what it came from: "heist #12 payout", "admin change (raid)"
    state: str  # :data:`STATES`, in words

    def line(self) -> str:
        return f"{self.login} {self.amount:+,} ({self.why}): {self.state}"


def unmade_in(conn: Connection, guild_id: int) -> list[Unmade]:
    """The guild's payments not made, in the order they were queued."""
    o = outbox.c
    settled = sa.exists().where(payments_settlements.c.outbox_id == o.id)
    again = outbox.alias("again")
    # store.again_key: "<key>:again" (a key too long for that, digested, is never this long)
    sent_again = sa.exists().where(
        again.c.guild_id == o.guild_id, again.c.effect_key == o.effect_key + ":again"
    )
    query = (
        sa.select(o.payload, o.state, o.summary)
        .where(o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
        .where(
            sa.or_(
                o.state == store.PENDING,
                sa.and_(o.state == store.FAILED, ~sent_again),
                sa.and_(o.state == store.UNCERTAIN, ~settled),
            )
        )
        .order_by(o.id)
    )
    found = []
    for row in conn.execute(query):
        payload = json.loads(row.payload)
        login = str(payload.get("username", "?"))
        state = STATES[row.state].format(login=login)
        why = why_of(payload, PAY, row.summary or "")
        found.append(Unmade(login, int(payload.get("amount", 0)), why, state))
    return found
