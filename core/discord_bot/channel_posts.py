"""A feature's posts in a guild's channel for them (heist results, slot calls, VIP notices).

Each poster names its ``kind`` of post and how an admin sets its channel (``fix``); looking the
channel up and posting there, with the log lines when that cannot be done, are the same for all.

A post that is tried again when its first try may have gone out (an answer slower than
``core/features/shard_posts.py`` waits for) carries a nonce (:func:`post_nonce`): discord.py
sends it with ``enforce_nonce``, and Discord then answers a second message of the bot with the
same nonce, within a few minutes, with the first one instead of posting it again.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import ClassVar

import discord

from core.discord_bot.common import PostableChannel, closed_thread, guild_channel, needed_here
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import NO_MENTIONS
from core.outbox import sending

log = logging.getLogger(__name__)

NONCE_LENGTH = 25  # Discord's limit for a message's nonce


def post_nonce(*identity: object) -> str:
    """The nonce of the post that ``identity`` names (its kind, guild and record), the same at
    every try: a digest, as the bot's nonces are unique across every channel it posts in."""
    text = ":".join(str(part) for part in identity)
    return hashlib.sha256(text.encode()).hexdigest()[:NONCE_LENGTH]


class ChannelPoster:
    kind: ClassVar[str]  # "heist": the channel's and the post's name in log lines
    fix: ClassVar[str]  # how an admin sets the channel: "set one with !heistset channel #channel"

    def __init__(self, gateway: DiscordGateway) -> None:
        self.gateway = gateway

    def channel(self, guild_id: int, channel_id: int, what: str) -> PostableChannel | None:
        """The guild's channel to post ``what`` in; None, with a log line, while Discord is off or
        when the bot cannot find it in that server (:meth:`lookup`)."""
        found = self.lookup(guild_id, channel_id, what)
        return None if isinstance(found, str) else found

    def lookup(self, guild_id: int, channel_id: int, what: str) -> PostableChannel | str:
        """The guild's channel to post ``what`` in, or why not in words (``not posted: ...``),
        with a log line. discord.py forgets a thread once it is archived, so such a thread is
        as unknown as a deleted channel: the words name both. Raises DiscordUnavailable while
        a configured bot is not connected, or Discord has the server unavailable."""
        client = self.gateway.client_for(guild_id)
        if client is None:
            log.info("Discord is off; %s not posted", what)
            return "not posted: the Discord bot is not running"
        channel = guild_channel(client, guild_id, channel_id)
        if channel is not None:
            return channel
        if client.get_guild(guild_id) is None:
            log.warning("guild %s: the bot is not in that server; %s not posted", guild_id, what)
            return "not posted: the bot is not in that Discord server"
        other = client.get_channel(channel_id)
        if isinstance(other, discord.abc.GuildChannel) and other.guild.id == guild_id:
            log.warning(
                "guild %s: %s channel %s is not a text channel or thread; %s not posted (%s)",
                *(guild_id, self.kind, channel_id, what, self.fix),
            )
            return f"not posted: the {self.kind} channel is not a text channel; {self.fix}"
        log.warning(
            "guild %s: %s channel %s not found in that server: deleted, another server's, or a "
            "thread that was archived (a message in it opens it again); %s not posted (%s)",
            *(guild_id, self.kind, channel_id, what, self.fix),
        )
        return (
            f"not posted: I can't find the {self.kind} channel: it was deleted, or it is a "
            f"thread that was archived. Open the thread again, or {self.fix}"
        )

    async def post(
        self,
        channel: PostableChannel,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> bool:
        """Post in ``channel``, mentioning no one; False, with a warning, when the bot may not
        post there (a permission, or a thread archived or locked since it was picked).
        ``nonce``: the same at each try of one post (:func:`post_nonce`). An outbox call that
        posts hears first that its post leaves (``core/outbox/sending.py``)."""
        refusal = await self.send(channel, content, embed=embed, view=view, nonce=nonce)
        return refusal is None

    async def send(
        self,
        channel: PostableChannel,
        content: str | None = None,
        *,
        embed: discord.Embed | None = None,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> str | None:
        """:meth:`post`, answering None when posted, else why not in words (``not posted:
        ...``, what to do)."""
        await sending.going_out()
        try:
            await channel.send(
                content, embed=embed, view=view, allowed_mentions=NO_MENTIONS, nonce=nonce
            )
        except discord.RateLimited as exc:  # longer than the bot waits: Discord created nothing
            raise self._turned_away(channel, exc.retry_after) from None
        except discord.HTTPException as exc:
            if exc.status == 429:  # Cloudflare's limit (no retry_after in the body): nothing made
                raise self._turned_away(channel, _header_seconds(exc)) from None
            state = closed_thread(exc)
            if state is not None:
                log.warning(
                    "guild %s: %s not posted in thread %s: it is %s (%s)",
                    channel.guild.id,
                    self.kind,
                    channel.id,
                    state,
                    self.fix,
                )
                return (
                    f"not posted: the {self.kind} thread is {state}. Open it again, or {self.fix}"
                )
            if not isinstance(exc, discord.Forbidden):
                raise
            needed = needed_here(channel, embeds=embed is not None)
            log.warning(
                "guild %s: no permission to post a %s in channel %s (it needs %s)",
                channel.guild.id,
                self.kind,
                channel.id,
                needed,
            )
            return f"not posted: I may not post in the {self.kind} channel; give me {needed} there"
        return None

    def _turned_away(self, channel: PostableChannel, seconds: float | None) -> sending.TurnedAway:
        """The error of a post Discord rate-limited and did not make, logged: an outbox call
        makes it again after ``seconds`` (``core/outbox/sending.py``)."""
        wait = "a while"
        if seconds is not None and math.isfinite(seconds) and seconds >= 0:
            wait = f"{math.ceil(seconds)} s"
        guild = getattr(channel, "guild", None)
        guild_id = getattr(channel, "guild_id", None) if guild is None else guild.id
        log.warning(
            "guild %s: Discord rate-limits the %s channel %s for %s; the %s is posted after that",
            *(guild_id, self.kind, channel.id, wait, self.kind),
        )
        return sending.TurnedAway(f"not posted yet: Discord asked to wait {wait}", seconds)


def _header_seconds(error: discord.HTTPException) -> float | None:
    """The ``Retry-After`` header of Discord's answer in seconds, when it is a number."""
    try:
        return float(error.response.headers.get("Retry-After", ""))
    except (AttributeError, TypeError, ValueError):
        return None
