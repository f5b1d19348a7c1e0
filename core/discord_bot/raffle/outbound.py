"""Raffle announcements in a guild's announcement channel."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.channel_posts import post_nonce
from core.discord_bot.common import closed_thread, needed_to_post
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.raffle import announcements as render_raffle
from core.discord_bot.render import NO_MENTIONS
from core.features.raffle.ports import DrawAnnouncement, PeriodAnnouncement

log = logging.getLogger(__name__)


class DiscordRaffleAnnouncer:
    """Implements :class:`core.features.raffle.ports.RaffleAnnouncer`.

    With Discord off, a channel the bot cannot see or may not post in (a thread archived or
    locked since it was picked too), or a channel of another server (a shared
    ``RAFFLE_ANNOUNCEMENT_CHANNEL_ID``, an id typed into ``!raffleset``), the announcement is
    skipped with a log line; while a configured bot is not connected, or the guild is
    unavailable (a Discord outage: the bot knows none of its channels then), ``DiscordUnavailable``
    propagates and the raffle posts it later.
    """

    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> None:
        text = render_raffle.opened_announcement(period)
        nonce = post_nonce("raffle opened", period.guild_id, period.period_id)
        await self._post(period.guild_id, channel_id, text, NO_MENTIONS, nonce)

    async def period_closed(self, channel_id: int, period: PeriodAnnouncement) -> None:
        text = render_raffle.closed_announcement(period)
        nonce = post_nonce("raffle closed", period.guild_id, period.period_id)
        await self._post(period.guild_id, channel_id, text, NO_MENTIONS, nonce)

    async def draw_completed(self, channel_id: int, draw: DrawAnnouncement) -> None:
        # Each part has its own nonce, the same at every try: a try after a part went out
        # posts the rest, not that part again.
        gone = _left_the_server(self.gateway.client_for(draw.guild_id), channel_id, draw)
        mentions = render_raffle.winner_mentions(draw, gone)
        for part, text in enumerate(render_raffle.draw_messages(draw, gone)):
            identity = (draw.guild_id, draw.draw_id) + ((part,) if part else ())
            nonce = post_nonce("raffle draw", *identity)
            await self._post(draw.guild_id, channel_id, text, mentions, nonce)

    async def _post(
        self,
        guild_id: int,
        channel_id: int,
        text: str,
        mentions: discord.AllowedMentions,
        nonce: str,
    ) -> None:
        """Post ``text``; ``nonce`` names the announcement, so one posted again after an answer
        that came too late is still one message (core/discord_bot/channel_posts.py)."""
        client = self.gateway.client_for(guild_id)
        if client is None:
            log.info("Discord is off; raffle announcement for channel %s skipped", channel_id)
            return
        channel = client.get_channel(channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("raffle announcement channel %s is not a channel I can see", channel_id)
            return
        if getattr(getattr(channel, "guild", None), "id", None) != guild_id:
            log.warning(
                "raffle announcement channel %s is not in guild %s; skipped", channel_id, guild_id
            )
            return
        try:
            await channel.send(text, allowed_mentions=mentions, nonce=nonce)
        except discord.HTTPException as exc:
            state = closed_thread(exc)
            if state is not None:
                log.warning("raffle announcement thread %s is %s; skipped", channel_id, state)
            elif isinstance(exc, discord.Forbidden):
                log.warning(
                    "no permission to post raffle announcements in channel %s (it needs %s)",
                    channel_id,
                    needed_to_post(channel, embeds=False),
                )
            else:
                raise


def _left_the_server(
    client: discord.Client | None, channel_id: int, draw: DrawAnnouncement
) -> frozenset[int]:
    """The winners' Discord ids no longer members of the channel's server: said so, not
    mentioned. Known only once Discord has sent the server's whole member list (``chunked``);
    before that, nobody is taken to have left."""
    channel = client.get_channel(channel_id) if client is not None else None
    guild = getattr(channel, "guild", None)
    if not isinstance(guild, discord.Guild) or guild.id != draw.guild_id or not guild.chunked:
        return frozenset()
    ids = {w.discord_user_id for w in draw.winners if w.discord_user_id is not None}
    return frozenset(i for i in ids if guild.get_member(i) is None)
