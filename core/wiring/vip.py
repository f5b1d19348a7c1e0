"""Temporary VIP: the service on Twitch's Helix (``core/platforms/twitch/vip_channel.py``, as the
guild's connected streamer) and Kick's temporary Discord role, its event handlers and the
expiry job."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from core.discord_bot.vip.outbound import DiscordTemporaryRoles, DiscordVipNotices
from core.events import (
    Cheered,
    KicksGifted,
    Platform,
    RewardRedeemed,
    Subscribed,
    SubscriptionsGifted,
    VipAdded,
    VipRemoved,
)
from core.features.connections.twitch.service import STREAMER_CONNECTED
from core.features.vip import redemption_outbox
from core.features.vip.paused_rewards import paused_line
from core.features.vip.reconnection import counts_of
from core.features.vip.service import VipService
from core.outbox.worker import OutboxWorker
from core.platforms.twitch.vip_channel import HelixVipChannel
from core.storage import hooks
from core.storage.db import transaction

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

log = logging.getLogger(__name__)
EXPIRY_INTERVAL_SECONDS = 60.0
HELIX_CALL_SECONDS = 60.0  # a redemption's calls, waits for Twitch's VIP window included
DRAIN_INTERVAL_SECONDS = 600.0


def install(rt: Assembly) -> None:

    channel = HelixVipChannel(
        rt.twitch.helix,  # paced on the process's windows: Twitch's VIP limit, every process
        # The guild's streamer token, refreshed first when it expires soon (core/wiring/twitch.py).
        lambda: rt.twitch_connections.access_token,
        lambda: rt.queued_chat_sender_for(Platform.TWITCH),  # through the chat outbox
        # Helix calls as the streamer: a 401 refreshes the token and tries once more.
        lambda: rt.twitch_connections.call_as_streamer,
        # A refund's one try with the token held, after a 401 marked the connection.
        lambda: rt.twitch_connections.call_with_held_token,
    )

    def broadcaster_of(guild_id: int) -> str | None:
        tracked = rt.guilds.twitch_channel_of(guild_id)
        return None if tracked is None else tracked.broadcaster_user_id

    rt.vip = VipService(
        rt.engine,
        rt.clock,
        channel,
        broadcaster_of,
        notices=DiscordVipNotices(rt.discord),
        roles=DiscordTemporaryRoles(rt.discord),
        kick_chat=lambda: rt.queued_chat_sender_for(Platform.KICK),
        chat_notices=rt.chat_notices,
        process_name=rt.process_name,
        # Twitch is not asked, and chat not tried, while the streamer must connect again.
        needs_reauthorization=lambda guild_id: (
            rt.twitch_connections.status(guild_id).needs_reauthorization
        ),
        granted_scopes=lambda guild_id: _granted(rt, guild_id),
        left_guilds=rt.guilds.left_guild_ids,
    )
    # The streamer's consent (the sign-in's callback, in whichever process serves it) queues,
    # in its transaction, the catch-up of what waited for it (core/features/vip/reconnection.py).
    hooks.listen(rt.engine, STREAMER_CONNECTED, rt.vip.reconnection.queue)

    def vip_counts(guild_id: int) -> tuple[int, int, int]:
        with transaction(rt.engine) as conn:
            counts = counts_of(conn, guild_id)
        return counts.waiting, counts.untold, counts.broken

    rt.twitch_setup.vip_counts = vip_counts  # for !twitch status, !health and the dashboard

    async def pause_rewards(guild_id: int, broadcaster_id: str) -> str | None:
        paused = await rt.vip.reconnection.paused.pause(guild_id, broadcaster_id)
        return paused_line(paused)

    # !twitch disconnect pauses the server's VIP rewards first (core/features/vip/paused_rewards.py)
    rt.twitch_setup.pause_rewards = pause_rewards
    rt.handle(RewardRedeemed, rt.vip.queued.handle)  # Twitch: VIP, through the outbox
    helix_calls = OutboxWorker(
        rt.engine,
        redemption_outbox.SERVICE,
        rt.vip.helix_kinds(),
        rt.clock,
        timeout_seconds=HELIX_CALL_SECONDS,
        max_attempts=20,
    )
    rt.call_through(helix_calls)
    rt.handle(RewardRedeemed, rt.vip.kick_roles.handle)  # Kick: a temporary Discord role
    # Kick's role and the VIP channel's notices are the Discord worker's to make.
    rt.discord_calls.kinds.update(rt.vip.discord_kinds())
    # The other rules: subs, gifts, cheers and KICKs (rule_grants.py), through the same workers.
    for earning in (Subscribed, SubscriptionsGifted, Cheered, KicksGifted):
        rt.handle(earning, rt.vip.rule_grants.handle)
    rt.handle(VipAdded, rt.vip.expiry.handle_vip_added)
    rt.handle(VipRemoved, rt.vip.expiry.handle_vip_removed)

    async def expire() -> None:
        run = await rt.vip.expiry.expire_due()
        if run.queued:
            log.info("temporary VIPs: %d expired, their removal queued", run.queued)

    # Runs at start (catching up on what expired while the bot was down), then every minute.
    rt.scheduler.every("expiring temporary VIPs", lambda: EXPIRY_INTERVAL_SECONDS, expire)
    # Redemptions made while the bot was down stay UNFULFILLED on Twitch: read them at start,
    # then now and then (each is handled once, however it arrives).
    rt.scheduler.every(
        "reading missed VIP redemptions", lambda: DRAIN_INTERVAL_SECONDS, rt.vip.drain_missed
    )
    # A rule's grant (sub, gift, cheer, KICKs) has no Twitch queue to read back: the ones the
    # workers gave up on are queued again, as long after as the missed redemptions are read.
    rt.scheduler.every(
        "retaking given-up VIP rule grants",
        lambda: DRAIN_INTERVAL_SECONDS,
        rt.vip.rule_grants.retake_given_up,
    )
    rt.on_shutdown(channel.aclose)


def _granted(rt: Assembly, guild_id: int) -> tuple[str, ...] | None:
    """The Twitch scopes the guild's streamer granted; None while not connected."""
    status = rt.twitch_connections.status(guild_id)
    return status.scopes if status.is_connected else None
