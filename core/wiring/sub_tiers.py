"""Subscription tiers: the record fed from every subscription event, ``!tier`` in chat, and the
Helix lookup job for badge-wearing Twitch viewers without a record
(``core/features/sub_tiers/helix_lookup.py``)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from core.events import Subscribed, SubscriptionEnded, SubscriptionsGifted
from core.features.sub_tiers.chat import SubTierChat
from core.features.sub_tiers.helix_lookup import HelixSubscriptionLookup
from core.features.sub_tiers.service import SubTierService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)
LOOKUP_INTERVAL_SECONDS = 2.0
CLEANUP_INTERVAL_SECONDS = 6 * 3600.0


def install(rt: Assembly) -> None:

    def broadcaster_of(guild_id: int) -> str | None:
        tracked = rt.guilds.twitch_channel_of(guild_id)
        return None if tracked is None else tracked.broadcaster_user_id

    lookup = HelixSubscriptionLookup(
        rt.twitch.helix,
        lambda: rt.twitch_connections.call_as_streamer,
        broadcaster_of,
    )
    rt.sub_tier_lookup = lookup
    rt.sub_tiers = SubTierService(rt.engine, rt.clock, lookup)
    rt.handle(Subscribed, rt.sub_tiers.handle_subscribed)
    rt.handle(SubscriptionsGifted, rt.sub_tiers.handle_gifted)
    rt.handle(SubscriptionEnded, rt.sub_tiers.handle_ended)
    rt.sub_tier_chat = SubTierChat(rt.sub_tiers)
    for command in rt.sub_tier_chat.commands():
        rt.chat_commands.add(command)

    # Each process looks up whom its own chat queued (in its memory): in every process.
    rt.scheduler.every(
        "looking up subscription tiers",
        lambda: LOOKUP_INTERVAL_SECONDS,
        rt.sub_tiers.run_lookups,
        everywhere=True,
    )

    async def forget_expired() -> None:
        await asyncio.to_thread(rt.sub_tiers.forget_expired)

    rt.scheduler.every(
        "forgetting expired subscription tiers", lambda: CLEANUP_INTERVAL_SECONDS, forget_expired
    )
    rt.on_shutdown(lookup.aclose)
