"""The Discord calls that follow a link attempt or an unlink, as the outbox holds them: one call
per event and guild (``queued.py`` makes them), queued in the caller's transaction.

Apart from ``queued.py`` so that ``effects.py`` queues the call of a ``!unlink`` in the
transaction that removes the link, without importing the effects' runner.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy.engine import Connection

from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked, Platform, Viewer
from core.events.codec import event_to_dict
from core.features.linking.repository import AccountLink
from core.outbox import DISCORD, store
from core.outbox.store import Effect

LinkEvent = AccountLinked | AccountLinkFailed | AccountUnlinked

KINDS: dict[type[LinkEvent], str] = {
    AccountLinked: "linking.linked",
    AccountLinkFailed: "linking.failed",
    AccountUnlinked: "linking.unlinked",
}
JOINED = "linking.joined"
UNLINKED_ELSEWHERE = "linking.unlinked_elsewhere"
FORGOTTEN = "linking.forgotten"


def enqueue(conn: Connection, guild_id: int, event: LinkEvent, now: datetime) -> bool:
    """Queue what follows ``event`` on Discord, in ``conn``'s transaction; False when it was
    queued before (a redelivered event)."""
    kind = KINDS[type(event)]
    payload = {"event": event_to_dict(event)}
    key = f"{kind}:{guild_id}:{event.key}"
    return store.enqueue(conn, Effect(DISCORD, kind, guild_id, key, payload, summary(event)), now)


def enqueue_unlinked(
    conn: Connection,
    guild_id: int,
    removed: AccountLink,
    *,
    discord_user_id: int,
    actor_id: int,
    platform: Platform,
    now: datetime,
) -> None:
    """Queue what follows the removal of ``removed`` (the linked role taken back, the watchtime
    roles, the link log), in the transaction that removed it: ``!unlink`` and the dashboard's
    unlink alike, so neither a Discord error nor a restart leaves the role behind."""
    event = AccountUnlinked(
        platform=platform,
        event_id=uuid.uuid4().hex,
        occurred_at=now,
        guild_id=guild_id,
        discord_user_id=discord_user_id,
        actor_id=actor_id,
        viewer=Viewer(removed.platform_user_id, removed.username),
    )
    enqueue(conn, guild_id, event, now)


def enqueue_joined(
    conn: Connection, guild_id: int, discord_user_id: int, joined_at: datetime, now: datetime
) -> bool:
    """Queue the linked role and the watchtime roles of a linked member who came back to the
    server, in ``conn``'s transaction; False when this join was queued before."""
    key = f"{JOINED}:{guild_id}:{discord_user_id}:{joined_at.isoformat()}"
    payload = {"discord_user_id": str(discord_user_id)}
    what = "give the linked roles back to a linked member who rejoined"
    return store.enqueue(conn, Effect(DISCORD, JOINED, guild_id, key, payload, what), now)


def enqueue_unlinked_elsewhere(
    conn: Connection, guild_id: int, discord_user_id: int, now: datetime
) -> None:
    """Queue, in the transaction that removed a member's link in another guild, this guild's
    part of it: its linked role taken back once no link remains, and the watchtime roles."""
    key = f"{UNLINKED_ELSEWHERE}:{guild_id}:{discord_user_id}:{uuid.uuid4().hex}"
    payload = {"discord_user_id": str(discord_user_id)}
    what = "take the linked role off a member whose link was removed in another server"
    store.enqueue(conn, Effect(DISCORD, UNLINKED_ELSEWHERE, guild_id, key, payload, what), now)


def enqueue_forgotten(
    conn: Connection,
    guild_id: int,
    discord_user_id: int,
    role_ids: Collection[int],
    now: datetime,
) -> bool:
    """Queue, in the transaction of a privacy forget that deleted the member's links (and their
    watchtime, Shuffle account...), this guild's part: its linked role taken back once no link
    remains, the watchtime roles brought up to date, and ``role_ids`` (roles the forgotten
    data gave, such as the Shuffle verified role) taken off. False when this forget queued it
    before (the same moment: a forget done again queues its own)."""
    key = f"{FORGOTTEN}:{guild_id}:{discord_user_id}:{now.isoformat()}"
    payload = {
        "discord_user_id": str(discord_user_id),
        "role_ids": [str(role_id) for role_id in sorted(set(role_ids))],
    }
    what = "take the roles it gave off a member whose data was forgotten"
    return store.enqueue(conn, Effect(DISCORD, FORGOTTEN, guild_id, key, payload, what), now)


def summary(event: LinkEvent) -> str:
    """What the call does, for a streamer's list of what the bot could not do (names, not
    Discord ids: the member is the one who linked the account)."""
    platform = str(event.platform).capitalize()
    if isinstance(event, AccountLinkFailed):
        tried = f" the {platform} account {event.viewer.username!r}" if event.viewer else ""
        return f"tell the member who tried to link{tried} why it failed"
    account = f"{platform} account {event.viewer.username!r}"
    if isinstance(event, AccountUnlinked):
        return f"take the linked roles off the member who unlinked the {account}"
    return f"DM the member who linked the {account} and give them the linked roles"
