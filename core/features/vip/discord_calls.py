"""Temporary VIP's calls to Discord go through the outbox (issue 26), made by the ``discord``
worker of the process connected to the guild's shard: a notice in the guild's VIP channel
(queued by :meth:`VipEffects.notify`, whichever worker or job decided it), a Kick
redemption's temporary role (the bus handler only queues the redemption; the worker gives the
role and records the outcome, :class:`KickRoleRedemptions`), and taking an expired Kick grant's
role off (``removal_calls.py``).

A notice has no idempotency key at Discord: one whose fate is unknown ends ``uncertain`` and is
not posted again. A Kick redemption is kept exactly once by its ``vip_redemptions`` row and
giving a role twice is harmless, so that call is simply made again after a failure.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from core.events import RewardRedeemed, event_from_dict, event_to_dict
from core.features.vip import texts
from core.features.vip.ports import VipNotices
from core.features.vip.removal_calls import KICK_EXPIRED
from core.outbox import DISCORD, store
from core.outbox.store import Effect
from core.outbox.worker import Done, Kind, Outcome, Refused

NOTICE = "vip.notice"
KICK_ROLE = "vip.kick-role"


def queue_notice(
    conn: Connection, guild_id: int, channel_id: int, text: str, now: datetime
) -> None:
    payload = {"channel_id": channel_id, "text": text}
    key = f"{NOTICE}:{guild_id}:{uuid.uuid4().hex}"  # each notice is decided once, by its caller
    summary = f"post in the VIP channel: {text}"
    store.enqueue(conn, Effect(DISCORD, NOTICE, guild_id, key, payload, summary), now)


def queue_kick_redemption(
    conn: Connection, guild_id: int, event: RewardRedeemed, now: datetime
) -> None:
    key = f"{KICK_ROLE}:{guild_id}:{event.event_id}"
    who, why = texts.redeeming(event)
    summary = f"give {who} the VIP role {why}"
    effect = Effect(DISCORD, KICK_ROLE, guild_id, key, event_to_dict(event), summary)
    store.enqueue(conn, effect, now)


def kinds(notices: VipNotices | None, kick_roles: Any, expiry: Any) -> dict[str, Kind]:
    """``kick_roles``: the :class:`KickRoleRedemptions` that makes a queued redemption;
    ``expiry``: the :class:`VipExpiry` that takes an expired grant's role off."""

    async def notice(guild_id: int, payload: dict[str, Any]) -> Outcome:
        if notices is None:
            return Done("not posted: Discord is not set up")
        refusal = await notices.post_notice(
            guild_id, int(payload["channel_id"]), str(payload["text"])
        )
        return Done("posted") if refusal is None else Refused(refusal)

    async def kick_role(guild_id: int, payload: dict[str, Any]) -> Outcome:
        event = event_from_dict(payload)
        if not isinstance(event, RewardRedeemed):
            return Done("not a redemption")
        await kick_roles.process(guild_id, event)
        return Done()

    async def role_expired(guild_id: int, payload: dict[str, Any]) -> Outcome:
        return await expiry.remove_expired(guild_id, int(payload["grant_id"]))  # type: ignore[no-any-return]

    return {
        NOTICE: Kind(notice, idempotent=False, says_when_sent=True),  # its poster says when
        KICK_ROLE: Kind(kick_role),
        KICK_EXPIRED: Kind(role_expired),  # removing a role twice is harmless
    }
