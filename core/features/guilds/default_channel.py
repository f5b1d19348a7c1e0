"""``KICK_CHANNEL`` with ``DISCORD_GUILD_ID``: a single-server operator's guild follows that Kick
channel from the start, without any command.

At every start the bot makes sure the guild follows the channel: nothing happens when it already
does (no request to Kick); otherwise the channel's ids are looked up (Kick's API with the app
token, or Kick's site) and the guild's Kick channel is set, replacing one set earlier with
``!kick setup`` or ``python -m core guild add``: the setting is what the operator declared (a
streamer connected for the channel before is disconnected, as ``!kick setup`` of another channel
does). When Kick cannot be asked, the step tries again every few minutes until it succeeds or the
bot stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.features.guilds.service import GuildService, InvalidGuildInput

log = logging.getLogger(__name__)
RETRY_SECONDS = 300.0


@dataclass(frozen=True)
class FoundChannel:
    """What Kick says about a channel slug."""

    slug: str
    broadcaster_user_id: str
    channel_id: int | None = None  # Kick's internal ids, for the Pusher socket only
    chatroom_id: int | None = None


class ChannelLookupFailed(Exception):
    """Kick could not be asked now (try later); the message says why."""


# The slug's ids, None when Kick has no such channel; ChannelLookupFailed when Kick can't tell.
FindChannel = Callable[[str], Awaitable[FoundChannel | None]]
# ``(guild_id, broadcaster_user_id)``: disconnect the guild's streamer when they are another
# broadcaster; says whom, and what Kick did with their tokens (None: nobody was disconnected).
ReleaseOther = Callable[[int, str], Awaitable[str | None]]


class DefaultChannel:
    def __init__(
        self,
        guilds: GuildService,
        guild_id: int | None,
        slug: str | None,
        find_channel: FindChannel,
        *,
        release_other: ReleaseOther | None = None,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        self.guilds = guilds
        self.guild_id = guild_id
        self.slug = slug.strip().lstrip("@").lower() if slug else None
        self.find_channel = find_channel
        self.release_other = release_other
        self.retry_seconds = retry_seconds

    async def ensure(self) -> str:
        """Make the guild follow the channel. Returns what happened: ``off`` (not configured),
        ``already`` (nothing to do), ``followed``, ``unknown`` (Kick has no such channel),
        ``invalid`` (a setting that cannot be right) or ``retry`` (Kick could not be asked)."""
        if self.guild_id is None or self.slug is None:
            return "off"
        current = await asyncio.to_thread(self.guilds.kick_channel_of, self.guild_id)
        if current is not None and current.channel_slug == self.slug:
            return "already"
        try:
            found = await self.find_channel(self.slug)
        except ChannelLookupFailed as exc:
            log.warning(
                "KICK_CHANNEL %s: could not look it up (%s); trying again in %d minutes",
                self.slug,
                exc,
                self.retry_seconds // 60,
            )
            return "retry"
        if found is None:
            log.error("KICK_CHANNEL %s: Kick has no channel of that name; check it", self.slug)
            return "unknown"
        try:
            await asyncio.to_thread(
                self.guilds.set_kick_channel,
                self.guild_id,
                found.slug or self.slug,
                found.broadcaster_user_id,
                channel_id=found.channel_id,
                chatroom_id=found.chatroom_id,
            )
        except InvalidGuildInput as exc:
            log.error("KICK_CHANNEL %s / DISCORD_GUILD_ID: %s", self.slug, exc)
            return "invalid"
        if self.release_other is not None:
            released = await self.release_other(self.guild_id, found.broadcaster_user_id)
            if released is not None:
                log.warning(
                    "guild %s: disconnected the Kick account connected for the channel before: %s",
                    self.guild_id,
                    released,
                )
        if current is not None:
            log.warning(
                "guild %s followed Kick channel %s; it follows %s now, as KICK_CHANNEL says",
                self.guild_id,
                current.channel_slug,
                self.slug,
            )
        else:
            log.info("guild %s follows Kick channel %s (KICK_CHANNEL)", self.guild_id, self.slug)
        return "followed"

    async def run(self, stop: asyncio.Event) -> None:
        """``ensure``, again every few minutes while Kick could not be asked."""
        while not stop.is_set():
            try:
                outcome = await self.ensure()
            except Exception:
                log.exception("KICK_CHANNEL %s: setting it up failed", self.slug)
                outcome = "retry"
            if outcome != "retry":
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.retry_seconds)
