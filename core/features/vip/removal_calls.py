"""An expired grant's removal is an outbox call (issue 26): the expiry job queues it, and the
worker of the platform's service makes it (:meth:`VipExpiry.remove_expired`): a Twitch VIP by the
Twitch Helix worker, a Kick grant's Discord role by the Discord worker of the guild's shard.

Each try has its own key (a failed one notes ``removal_tried_at``), so a later expiry run
queues the grant again, taking its turn; while a try is queued, queueing it again does nothing.
A removal that keeps failing (Twitch refuses it, the role is above the bot's) is tried again
after 1, 2, 4 ... minutes, at most every half hour (:func:`retry_wait`), not every minute for
ever.
Removing a VIP or a role twice is harmless ("not a VIP" counts as done), so a call made again
after a worker died is simply made again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.vip.repository import Grant
from core.outbox import DISCORD, store
from core.outbox.store import Effect

HELIX = "twitch-helix"  # the Twitch Helix worker's service (redemptions too)
RETRY_FIRST, RETRY_MOST = timedelta(minutes=1), timedelta(minutes=30)
TWITCH_EXPIRED = "vip.twitch-expired"
KICK_EXPIRED = "vip.kick-role-expired"


def queue_removal(conn: Connection, grant: Grant, now: datetime) -> bool:
    """Queue one try at removing an expired grant; False when it is queued already."""
    service, kind = (
        (DISCORD, KICK_EXPIRED) if grant.platform is Platform.KICK else (HELIX, TWITCH_EXPIRED)
    )
    tried = grant.removal_tried_at.isoformat() if grant.removal_tried_at else "first"
    key = f"{kind}:{grant.guild_id}:{grant.id}:{tried}"
    what = (
        f"take the VIP role off {grant.username} (their Kick VIP time is up)"
        if grant.platform is Platform.KICK
        else f"remove {grant.username} as a VIP on Twitch (their VIP time is up)"
    )
    effect = Effect(service, kind, grant.guild_id, key, {"grant_id": grant.id}, what)
    return store.enqueue(conn, effect, now)


def retry_wait(grant: Grant) -> timedelta:
    """How long after its last failed try a grant's removal is tried again: a minute after the
    first failure, twice as long after each further one, at most half an hour."""
    doublings = min(max(grant.removal_failures - 1, 0), 5)
    return min(RETRY_FIRST * 2**doublings, RETRY_MOST)


def is_due(grant: Grant, now: datetime) -> bool:
    """Whether an expired grant's removal is to be queued now: never tried, or its wait over."""
    return grant.removal_tried_at is None or grant.removal_tried_at + retry_wait(grant) <= now
