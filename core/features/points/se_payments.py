"""A StreamElements-points guild's game payments go through the outbox (issue 26): a settlement
queues one call per participant in the game's own transaction (:func:`queue_payment`), and the
``streamelements`` worker makes them, each guild's in a lane of its own, so a guild whose
StreamElements hangs or refuses its JWT holds only its own payments.

StreamElements' points change is a blind delta with no idempotency key: a call whose fate is
unknown (a timeout, a 5xx after the change, a worker killed mid-call) ends ``uncertain`` and is
never sent again (a person checks the balance); one that surely did not land (refused
connection, 429) is retried with backoff. A rejected JWT is retried for hours, so a streamer who
pastes a new one gets the payments through; one given up on by then surely did not land either,
and a new JWT for the channel it is owed on queues it again (:func:`resend_given_up`), also
once a switch back to the ledger forgot the channel. A guild that went
back to our own ledger still has its waiting payments made (:mod:`.se_leaving`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.points.tables import points_se_holds, points_settings
from core.outbox import store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused, Retry, Uncertain
from core.platforms.streamelements.api import (
    StreamElementsPoints,
    StreamElementsRefused,
    StreamElementsUncertain,
    StreamElementsUnreachable,
    checked_username,
)
from core.storage.tables import OUTBOX_SE_PAYMENTS, outbox

SERVICE = "streamelements"
PAY = "points.se-pay"
ATTEMPTS = 16  # with backoff up to an hour, about eight hours of tries
FIRST_BACKOFF_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 3600.0
BACK_ON_LEDGER = "not sent: the server keeps its points in StreamKeeper again"
# How far back a new JWT sends again the payments given up: as long as the outbox keeps them.
RESEND_WITHIN = timedelta(days=30)
JWT_REFUSED = (
    "StreamElements refused the JWT ({message}); paid once a valid one is set with "
    "!points backend streamelements"
)


@dataclass(frozen=True)
class Settlement:
    """One participant's outcome: the hold to close and the net change to send."""

    username: str
    hold_ref: str
    net: int
    pay_ref: str


def payment_key(guild_id: int, source: str, ref: str) -> str:
    return f"{PAY}:{guild_id}:{source}:{ref}"[:255]


def queue_payment(
    conn: Connection,
    guild_id: int,
    login: str,
    amount: int,
    source: str,
    ref: str,
    now: datetime,
    **record: object,
) -> bool:
    """Queue a net change of ``amount`` for ``login``, in the caller's transaction; False when
    this payment (``source``, ``ref``) was queued before, so a settlement retried pays once.
    ``record`` is kept with it (an admin's id and reason), and so is the guild's channel now
    (``channel``: the one it is owed on, should it be given up and sent again)."""
    s = points_settings.c
    channel = conn.execute(
        sa.select(s.se_channel_id).where(s.guild_id == guild_id)
    ).scalar_one_or_none()
    payload = {**record, "username": login, "amount": amount, "source": source, "ref": ref}
    if channel is not None:
        payload["channel"] = channel
    key = payment_key(guild_id, source, ref)
    why = "an admin's change" if source == "admin" else f"the {source}"
    points = f"{abs(amount):,} StreamElements points"
    change = f"give {login} {points}" if amount >= 0 else f"take {points} from {login}"
    summary = f"{change} ({why})"
    return store.enqueue(conn, Effect(SERVICE, PAY, guild_id, key, payload, summary), now)


def queued_before(conn: Connection, guild_id: int, source: str, ref: str) -> tuple[str, int] | None:
    """The login and amount of this payment (``source``, ``ref``) when it is in the outbox
    already, in any state; else None."""
    key = payment_key(guild_id, source, ref)
    found = conn.execute(sa.select(outbox.c.payload).where(outbox.c.effect_key == key)).first()
    if found is None:
        return None
    payload = json.loads(found.payload)
    return str(payload["username"]), int(payload["amount"])


def settle_in(
    conn: Connection, guild_id: int, source: str, outcomes: Sequence[Settlement], now: datetime
) -> int:
    """Record the payments of a game and close its holds, in the caller's transaction; how
    many payments were new (``SeWallet.settle``)."""
    h = points_se_holds.c
    added = 0
    for outcome in outcomes:
        login = checked_username(outcome.username)
        if outcome.net != 0:
            added += queue_payment(conn, guild_id, login, outcome.net, source, outcome.pay_ref, now)
        conn.execute(
            sa.update(points_se_holds)
            .where(
                h.guild_id == guild_id,
                h.source == source,
                h.source_ref == outcome.hold_ref[:255],
                h.settled_at.is_(None),
            )
            .values(settled_at=now)
        )
    return added


def owed_in(
    conn: Connection, guild_ids: Sequence[int], login: str, since: datetime | None = None
) -> int:
    """What the viewer's payments queued in these guilds (those on one StreamElements channel)
    and not made yet will take from their StreamElements balance (a lost stake, an admin's
    removal): StreamElements still counts those points as theirs, so a stake or another removal
    must not count them again. With ``since`` (when their balance was read), also what payments
    made (or maybe made) from then on took: the balance read may not show it, and the payment
    no longer waits."""
    o = outbox.c
    # Each part a search of ix_outbox_se_payments_by_guild (an OR of the two is not, on SQLite).
    of_guild = (o.guild_id.in_(list(guild_ids)), sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
    queued: sa.Select | sa.CompoundSelect = sa.select(o.payload).where(
        *of_guild, o.state == store.PENDING
    )
    if since is not None:
        made = o.state.in_((store.DONE, store.UNCERTAIN)) & (o.finished_at >= since)
        queued = sa.union_all(queued, sa.select(o.payload).where(*of_guild, made))
    amounts = (json.loads(payload) for payload in conn.execute(queued).scalars())
    return sum(-p["amount"] for p in amounts if p.get("username") == login and p["amount"] < 0)


def resend_given_up(
    conn: Connection, guild_id: int, channel: str, now: datetime, *, was_on: str | None
) -> int:
    """Queue again, once each, the guild's payments given up on (StreamElements refused its JWT
    or could not be reached for all their tries) since :data:`RESEND_WITHIN` that are owed on
    ``channel``, the one the guild now keeps its points in (``was_on``: the one it kept them
    in before; None when a switch back to the ledger forgot it). None of them landed, so each
    is made once under ``<its key>:again``. A payment says the channel it was queued for; one
    queued before payments said it is taken as ``was_on``'s. How many were queued."""
    if was_on not in (None, channel):  # another channel's were not sent on a switch away
        return 0
    o = outbox.c
    given_up = conn.execute(
        sa.select(o.effect_key, o.payload, o.summary)
        .where(o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY)
        .where(o.state == store.FAILED, o.created_at >= now - RESEND_WITHIN)
        .order_by(o.id)
    )
    queued = 0
    for row in given_up:
        payload = json.loads(row.payload)
        if payload.get("channel", was_on) != channel:
            continue
        effect = Effect(
            SERVICE, PAY, guild_id, store.again_key(row.effect_key), payload, row.summary or ""
        )
        queued += store.enqueue(conn, effect, now)
    return queued


def waiting_in(conn: Connection, guild_id: int) -> bool:
    """Whether a payment of the guild waits to be made (it goes to the guild's channel then)."""
    o = outbox.c
    query = sa.select(o.id).where(
        o.guild_id == guild_id, sa.text(OUTBOX_SE_PAYMENTS), o.kind == PAY, o.state == store.PENDING
    )
    return conn.execute(query.limit(1)).first() is not None


class SePayments:
    """The ``streamelements`` worker's kind: one points change per queued payment."""

    def __init__(
        self,
        account_of: Callable[[int], Any],
        client: StreamElementsPoints,
        ended: Callable[[int], None] | None = None,
    ) -> None:
        self.account_of = account_of  # guild id -> SeAccount | None (payments_account_of)
        self.client = client
        self.ended = ended  # told of each payment that ended (SeWallet.forget_when_paid)

    def kinds(self) -> dict[str, Kind]:
        # Its client says when the change leaves: a failure before is tried again.
        return {PAY: Kind(self.pay, idempotent=False, says_when_sent=True)}

    async def pay(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        outcome = await self._pay(guild_id, payload)
        # One in doubt keeps the JWT (a person may send it again): the pruning forgets it later.
        if self.ended is not None and not isinstance(outcome, Retry | Uncertain):
            await asyncio.to_thread(self.ended, guild_id)
        return outcome

    async def _pay(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        account = await asyncio.to_thread(self.account_of, guild_id)
        if account is None:
            return Refused(BACK_ON_LEDGER)
        username, amount = str(payload["username"]), int(payload["amount"])
        try:
            balance = await self.client.add(account.channel_id, account.jwt, username, amount)
        except StreamElementsUncertain as exc:
            return Uncertain(f"may or may not be applied ({exc.message}): check it by hand")
        except StreamElementsUnreachable as exc:
            return Retry(exc.message)
        except StreamElementsRefused as exc:
            if exc.status in (401, 403):
                return Retry(JWT_REFUSED.format(message=exc.message))
            return Refused(exc.message)
        return Done(f"{amount:+,} to {username}: {balance:,} now")


def prune_settled(conn: Connection, before: datetime) -> int:
    """Forget holds settled before ``before`` (their game is over, its payments are outbox
    calls of their own); how many. The ``streamelements`` worker runs it with the outbox's own
    pruning, so a settled stake goes 30 days after its game ended."""
    h = points_se_holds.c
    return conn.execute(
        sa.delete(points_se_holds).where(h.settled_at.is_not(None), h.settled_at < before)
    ).rowcount
