"""What the bot says in a channel's chat on its own: that it is online for the channel when the
channel goes live, and that VIP handling paused or resumed (``!vip reward pause|resume``).

Each notice is a chat line queued in the outbox (``queued.queue_line``) under a key that names
the occasion, so it is said once per occasion whoever queues it how often: a webhook and Pusher
telling one stream start, a redelivered event, two bot processes. A coming online is keyed by
the channel and the stream's start (the platform's ``started_at``, which every source of one
start carries), not by guild: a channel several Discord servers follow hears it once, queued by
the server that speaks in its chat (``answering.py``). A VIP pause or resume is keyed by the
guild, the reward and the moment its state changed. A VIP line told of an event every server
following the channel handles (a Kick redemption) is keyed by the channel and the event: said
once, in the words of the first server to queue it; where the servers may decide it apart (one
refuses a VIP rule's grant that another makes), the grant's line is the one said
(``event_lines.py``).

A start told late says nothing: one older than the latest start stored for the guild's channel
(a newer stream began) or than its stored end (Twitch delivered a stream's ``stream.online``
after its ``stream.offline``), the rule the live state itself follows (``watch_streams``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from core.bus.dispatch import handles_across_guilds
from core.events import Platform, StreamStarted, utc
from core.features.chat_commands.event_lines import settle_event_line
from core.features.chat_commands.queued import queue_line
from core.features.chat_commands.text import chat_safe
from core.features.watchtime import repository as watchtime_repository

log = logging.getLogger(__name__)

CHAT_LIMIT = 500  # Kick's and Twitch's chat take 500 characters a message
SHOWN_COMMANDS = ("watchtime", "tickets", "call", "join", "heist", "tier", "link")


def online_text(command_names: list[str]) -> str:
    """ "StreamKeeper is online for this stream: !watchtime, !call, ..." with the commands this
    bot has (the most useful first), within one chat message."""
    names = [name for name in SHOWN_COMMANDS if name in command_names]
    text = "StreamKeeper is online for this stream."
    if names:
        text += " Try " + ", ".join(f"!{name}" for name in names) + "."
    return text[:CHAT_LIMIT]


def channel_line_key(platform: Platform, broadcaster_user_id: str, occasion: str) -> str:
    """The outbox key of a channel's one line of ``occasion``, whichever server queues it."""
    return f"notice:line:{platform}:{broadcaster_user_id[:64]}:{occasion[:150]}"


def vip_text(is_paused: bool, reward_title: str | None) -> str:
    title = chat_safe(reward_title or "") or "the VIP reward"
    if is_paused:
        return f"VIP redemptions are paused for now: {title} cannot be redeemed."
    return f"VIP redemptions are back on: redeem {title} for a while as VIP."


class ChatNotices:
    """``can_talk(platform)``: whether the bot can say anything in that platform's chat now (no
    line is queued otherwise); ``command_names()``: the chat commands it answers;
    ``answering(platform, broadcaster_user_id, via_chatroom_id)``: the guild that speaks in a
    channel's chat (``answering.py``; None: the first guild to queue the notice)."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        can_talk: Callable[[Platform], bool],
        command_names: Callable[[], list[str]],
        answering: Callable[[Platform, str, int | None], int | None] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.can_talk = can_talk
        self.command_names = command_names
        self.answering = answering

    @handles_across_guilds("handle_streams_started")
    def handle_stream_started(self, guild_id: int, event: StreamStarted) -> None:
        """The channel went live: say once that the bot is online for it."""
        self.handle_streams_started([(guild_id, event)])

    def handle_streams_started(self, started: list[tuple[int, StreamStarted]]) -> None:
        """``handle_stream_started`` for many guilds (a channel many guilds follow) in one
        transaction, in guild order."""
        said = [(g, e) for g, e in started if self.can_talk(e.platform) and self._speaks(g, e)]
        if not said:
            return
        text = online_text(self.command_names())
        now = utc(self.clock())
        queued = []
        with self.engine.begin() as conn:
            for guild_id, event in sorted(said, key=lambda pair: pair[0]):
                if watchtime_repository.is_start_told_late(
                    conn,
                    guild_id,
                    event.platform,
                    event.broadcaster_user_id,
                    utc(event.occurred_at),
                ):
                    log.info(
                        "guild %s: %s channel %s went live at %s, before its latest start or "
                        "end: no online notice",
                        guild_id,
                        event.platform,
                        event.broadcaster_user_id,
                        utc(event.occurred_at).isoformat(),
                    )
                    continue
                at = utc(event.occurred_at).strftime("%Y%m%dT%H%M%S")
                channel = event.broadcaster_user_id
                # The channel's one chat hears it once, however many guilds follow it.
                key = f"notice:online:{event.platform}:{channel}:{at}"
                if queue_line(conn, event.platform, guild_id, channel, text, key, now):
                    queued.append((guild_id, event.platform))
        for guild_id, platform in queued:
            log.info("guild %s: said in %s chat that the bot is online", guild_id, platform)

    def _speaks(self, guild_id: int, event: StreamStarted) -> bool:
        if self.answering is None:
            return True
        chosen = self.answering(event.platform, event.broadcaster_user_id, event.via_chatroom_id)
        return chosen is None or chosen == guild_id

    def queue_channel_line(
        self,
        conn: Connection,
        platform: Platform,
        guild_id: int,
        broadcaster_user_id: str,
        text: str,
        occasion: str,
    ) -> bool:
        """In the caller's transaction: say ``text`` in the channel's chat once per
        ``occasion`` (an event's key), however many servers following the channel queue it.
        False when nothing was queued (said already, or the bot cannot talk there)."""
        if not self.can_talk(platform):
            return False
        key = channel_line_key(platform, broadcaster_user_id, occasion)
        now = utc(self.clock())
        return queue_line(conn, platform, guild_id, broadcaster_user_id, text, key, now)

    def settle_event_line(
        self,
        conn: Connection,
        platform: Platform,
        guild_id: int,
        broadcaster_user_id: str,
        occasion: str,
        *,
        text: str | None,
        is_grant: bool,
        is_settled: bool,
    ) -> bool:
        """:meth:`queue_channel_line` for an event the servers following the channel may
        decide differently: one line, the grant's when any granted, a refusal held until
        ``is_settled`` (``event_lines.py``). False when nothing was queued."""
        if not self.can_talk(platform):
            return False
        return settle_event_line(
            conn,
            platform,
            guild_id,
            broadcaster_user_id,
            channel_line_key(platform, broadcaster_user_id, occasion),
            utc(self.clock()),
            text=text,
            is_grant=is_grant,
            is_settled=is_settled,
        )

    def queue_vip_state(
        self,
        conn: Connection,
        guild_id: int,
        broadcaster_user_id: str,
        reward_id: str,
        *,
        is_paused: bool,
        reward_title: str | None,
        changed_at: datetime,
    ) -> bool:
        """In the caller's transaction (the one that records the change): say in Twitch chat
        that VIP redemptions paused or resumed. False when nothing was queued."""
        if not self.can_talk(Platform.TWITCH):
            return False
        state = "paused" if is_paused else "resumed"
        at = utc(changed_at).strftime("%Y%m%dT%H%M%S")
        key = f"notice:vip:{Platform.TWITCH}:{guild_id}:{reward_id[:64]}:{state}:{at}"
        text = vip_text(is_paused, reward_title)
        return queue_line(
            conn, Platform.TWITCH, guild_id, broadcaster_user_id, text, key, utc(self.clock())
        )
