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
from typing import ClassVar

import discord

from core.discord_bot.common import PostableChannel, closed_thread, guild_channel, needed_to_post
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
        when it is not a text channel of that server. Raises DiscordUnavailable while a
        configured bot is not connected, or Discord has the server unavailable."""
        client = self.gateway.client_for(guild_id)
        if client is None:
            log.info("Discord is off; %s not posted", what)
            return None
        channel = guild_channel(client, guild_id, channel_id)
        if channel is None:
            log.warning(
                "guild %s: %s channel %s is not a text channel of that server; %s not posted (%s)",
                guild_id,
                self.kind,
                channel_id,
                what,
                self.fix,
            )
        return channel

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
        await sending.going_out()
        try:
            await channel.send(
                content, embed=embed, view=view, allowed_mentions=NO_MENTIONS, nonce=nonce
            )
        except discord.HTTPException as exc:
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
                return False
            if not isinstance(exc, discord.Forbidden):
                raise
            log.warning(
                "guild %s: no permission to post a %s in channel %s (it needs %s)",
                channel.guild.id,
                self.kind,
                channel.id,
                needed_to_post(channel, embeds=embed is not None),
            )
            return False
        return True
