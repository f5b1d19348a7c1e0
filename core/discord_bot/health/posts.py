"""!health's lines for the channels this server's posts go to: whether the bot can post there
as those posts need (slot calls, heist results and link log entries are embeds, which Discord
refuses without Embed Links; raffle announcements and VIP notices are plain messages). A
channel that lost a permission, a thread locked since, or a channel set only by an environment
setting (``SLOT_CALLS_CHANNEL_ID``, ``RAFFLE_ANNOUNCEMENT_CHANNEL_ID``, never checked when set)
shows here before its posts are refused one by one."""

from __future__ import annotations

from dataclasses import dataclass

import discord

from core.discord_bot.common import PostableChannel, post_refusal
from core.discord_bot.services import BotServices
from core.health import Check, unless_down, unread


@dataclass(frozen=True)
class PostsChannel:
    name: str  # the check's name: "slot call channel"
    channel_id: int
    embeds: bool  # the posts there are embeds
    fix: str  # "set another with !slotcalls channel #channel"


VIP_FIX = "set another with !vip set channel #channel"


def posts_channels(services: BotServices, guild_id: int) -> list[PostsChannel | str]:
    """The channels this server's posts go to, for the features that post and have one set
    (VIP's notices aside: the cog reads its settings on the loop); a check's name alone when
    its setting could not be read (the database is down). Reads the database: call it off the
    event loop."""
    found: list[PostsChannel | str] = []

    def add(name: str, read, embeds: bool, fix: str) -> None:  # type: ignore[no-untyped-def]
        channel_id = unless_down(read)
        if channel_id is False:
            return
        if channel_id is None:
            found.append(name)
        elif channel_id:
            found.append(PostsChannel(name, channel_id, embeds, fix))

    if (raffle := services.raffle) is not None:
        add(
            "raffle channel",
            lambda: raffle.periods.rates(guild_id).announcement_channel_id or 0,
            False,
            "set another with !raffleset channel #channel",
        )
    if (slot_calls := services.slot_calls) is not None:

        def slot_channel() -> int | bool:
            status = slot_calls.status(guild_id)
            return status.settings.enabled and (status.channel_id or 0)

        add("slot call channel", slot_channel, True, "set another with !slotcalls channel #channel")
    if (heist := services.heist) is not None:
        add(
            "heist channel",
            lambda: heist.rules(guild_id).channel_id or 0,
            True,
            "set another with !heistset channel #channel",
        )
    if (linking := services.linking) is not None:
        add(
            "link log channel",
            lambda: linking.settings(guild_id).log_channel_id or 0,
            True,
            "turn the log on in another channel with !linklogs on",
        )
    return found


def posts_channel_check(guild: discord.Guild, posts: PostsChannel | str) -> Check:
    """One line: the channel by mention and whether the bot may post its posts there, or what
    to give or do (as the commands that set it word a refusal)."""
    if isinstance(posts, str):
        return unread(posts)
    channel = guild.get_channel_or_thread(posts.channel_id)
    fix = posts.fix[0].upper() + posts.fix[1:]
    if channel is None:
        detail = f"I can't find it ({posts.channel_id}): deleted, or a thread that was archived"
        return Check(posts.name, False, f"{detail}. {fix}")
    if not isinstance(channel, PostableChannel):
        return Check(posts.name, False, f"{channel.mention} is not a text channel. {fix}")
    refusal = post_refusal(channel, guild.me, embeds=posts.embeds)
    if refusal is not None:
        return Check(posts.name, False, f"{refusal} Or {posts.fix}")
    return Check(posts.name, True, f"{channel.mention}: I can post there")
