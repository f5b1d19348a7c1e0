"""Raffle announcements in a guild's announcement channel."""

from __future__ import annotations

import logging

import discord

from core.discord_bot.channel_posts import ChannelPoster, post_nonce
from core.discord_bot.common import closed_thread, needed_here, needed_to_post
from core.discord_bot.raffle import announcements as render_raffle
from core.discord_bot.render import NO_MENTIONS
from core.features.raffle.ports import DrawAnnouncement, PeriodAnnouncement

log = logging.getLogger(__name__)

REASON_CHARS = 200  # of Discord's error message, in what a moderator reads


class DiscordRaffleAnnouncer(ChannelPoster):
    """Implements :class:`core.features.raffle.ports.RaffleAnnouncer`.

    With Discord off, the announcement is skipped with a log line. A channel the bot cannot
    find or may not post in (a thread archived or locked since it was picked too), or a channel
    of another server (a shared ``RAFFLE_ANNOUNCEMENT_CHANNEL_ID``, an id typed into
    ``!raffleset``), is a refusal for good: logged, and answered in words for a moderator (what
    to give, which channel to set). While a configured bot is not connected, or the guild is
    unavailable (a Discord outage: the bot knows none of its channels then),
    ``DiscordUnavailable`` propagates and the raffle posts it later.
    """

    kind = "raffle announcement"
    fix = "set one with !raffleset channel #channel"

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> str | None:
        text = render_raffle.opened_announcement(period)
        nonce = post_nonce("raffle opened", period.guild_id, period.period_id)
        return await self._post(period.guild_id, channel_id, text, NO_MENTIONS, nonce)

    async def period_closed(self, channel_id: int, period: PeriodAnnouncement) -> str | None:
        text = render_raffle.closed_announcement(period)
        nonce = post_nonce("raffle closed", period.guild_id, period.period_id)
        return await self._post(period.guild_id, channel_id, text, NO_MENTIONS, nonce)

    async def draw_completed(self, channel_id: int, draw: DrawAnnouncement) -> str | None:
        # Each part has its own nonce, the same at every try: a try after a part went out
        # posts the rest, not that part again.
        gone = _left_the_server(self.gateway.client_for(draw.guild_id), channel_id, draw)
        mentions = render_raffle.winner_mentions(draw, gone)
        for part, text in enumerate(render_raffle.draw_messages(draw, gone)):
            identity = (draw.guild_id, draw.draw_id) + ((part,) if part else ())
            nonce = post_nonce("raffle draw", *identity)
            refused = await self._post(draw.guild_id, channel_id, text, mentions, nonce)
            if refused is not None:
                return refused
        return None

    async def _post(
        self,
        guild_id: int,
        channel_id: int,
        text: str,
        mentions: discord.AllowedMentions,
        nonce: str,
    ) -> str | None:
        """Post ``text``; None when posted (or Discord is off), else why it cannot be, in words
        (``not posted: ...``). ``nonce`` names the announcement, so one posted again after an
        answer that came too late is still one message (core/discord_bot/channel_posts.py)."""
        if self.gateway.client_for(guild_id) is None:
            log.info("Discord is off; raffle announcement for channel %s skipped", channel_id)
            return None
        channel = self.lookup(guild_id, channel_id, "a raffle announcement")
        if isinstance(channel, str):
            return channel
        try:
            await channel.send(text, allowed_mentions=mentions, nonce=nonce)
        except discord.HTTPException as exc:
            state = closed_thread(exc)
            if state is not None:
                log.warning("raffle announcement thread %s is %s; skipped", channel_id, state)
                return (
                    f"not posted: the {self.kind} thread is {state}. Open it again, or {self.fix}"
                )
            if not isinstance(exc, discord.Forbidden):
                return _refused_for_good(exc, channel_id, self.kind, self.fix)
            log.warning(
                "no permission to post raffle announcements in channel %s (it needs %s)",
                channel_id,
                needed_to_post(channel, embeds=False),
            )
            needed = needed_here(channel, embeds=False)
            return f"not posted: I may not post in the {self.kind} channel; give me {needed} there"
        return None


def _refused_for_good(exc: discord.HTTPException, channel_id: int, kind: str, fix: str) -> str:
    """Discord's answer that no later try changes (a 4xx but a rate limit: the channel gone
    while the bot's cache held it, a request it will never take) in words, logged; anything
    else (a 429 of Cloudflare's, a 5xx) is raised: the announcement waits for the next round."""
    if not 400 <= exc.status < 500 or exc.status == 429:
        raise exc
    answer = f"{exc.status} {(exc.text or type(exc).__name__)[:REASON_CHARS]}"
    log.warning("raffle announcement in channel %s refused by Discord: %s", channel_id, answer)
    if exc.status == 404:
        return (
            f"not posted: Discord no longer knows the {kind} channel ({answer}): it was "
            f"deleted. {fix[:1].upper()}{fix[1:]}"
        )
    return f"not posted: Discord refused it ({answer})"


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
