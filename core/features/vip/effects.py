"""What every part of temporary VIP shares: the database, the clock, Twitch, the audit log and
the notices (chat and a Discord channel).

Twitch's VIP limit (10 additions and 10 removals per 10 s per channel) is kept below this, in
the Helix transport, counted across every bot process (``core/platforms/twitch/helix_limits.py``
and ``core/ratelimits/``). What is left here: a rate limit Twitch answers all the same (another
app on the channel, the streamer by hand) is waited out as Twitch asks and the change made
again, when the wait is short (Twitch's 10 s window, a few times); a longer one, or 429 after
429, is the caller's: an outbox call tries again after Twitch's wait, a moderator's command
says to try again, rather than hanging for as long as Twitch says."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine

from core.events import Platform
from core.features.chat_commands.notices import ChatNotices
from core.features.chat_commands.ports import ChatSender
from core.features.vip import repository
from core.features.vip.discord_calls import queue_notice
from core.features.vip.ports import TemporaryRoles, TwitchBusy, TwitchVipChannel, VipNotices
from core.features.vip.redemptions_repository import lock_event
from core.features.vip.repository import VipSettings
from core.outbox import deadline
from core.storage.db import transaction

log = logging.getLogger("core.features.vip")
T = TypeVar("T")

WAIT_OUT_SECONDS = 10.0  # Twitch's VIP window: a rate limit up to this long is waited out
WAIT_OUT_TIMES = 3  # ... this many times in one change at most


@dataclass
class VipEffects:
    engine: Engine
    clock: Callable[[], datetime]
    twitch: TwitchVipChannel
    notices: VipNotices | None
    sleep: Callable[[float], Awaitable[object]]
    roles: TemporaryRoles | None = None  # Kick's temporary Discord role
    kick_chat: Callable[[], ChatSender | None] = lambda: None
    # Whether the guild's Twitch connection needs the streamer to connect again (a blocking
    # read): Twitch is then not asked, and chat (which goes as the streamer) is not tried.
    needs_reauthorization: Callable[[int], bool] = lambda _guild_id: False
    # Lines said once per event in a channel several servers follow (Kick's VIP role lines, a
    # rule's grant or refusal on either platform: ``channel_lines.py``).
    chat_notices: ChatNotices | None = None

    async def in_transaction(self, work: Callable[[Connection], T]) -> T:
        """Run ``work(conn)`` in one transaction, in a worker thread (never on the loop)."""

        def run() -> T:
            with transaction(self.engine) as conn:
                return work(conn)

        return await asyncio.to_thread(run)

    async def is_twitch_marked(self, guild_id: int) -> bool:
        """Whether the guild's Twitch connection needs re-authorization now."""
        return await asyncio.to_thread(self.needs_reauthorization, guild_id)

    async def settings(self, guild_id: int) -> VipSettings:
        return await self.in_transaction(lambda conn: repository.get_settings(conn, guild_id))

    async def add_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        await self._waiting_out_rate_limits(
            lambda: self.twitch.add_vip(guild_id, broadcaster_id, user_id)
        )

    async def remove_vip(self, guild_id: int, broadcaster_id: str, user_id: str) -> None:
        await self._waiting_out_rate_limits(
            lambda: self.twitch.remove_vip(guild_id, broadcaster_id, user_id)
        )

    async def _waiting_out_rate_limits(self, call: Callable[[], Awaitable[None]]) -> None:
        """``call()``; a rate limit of up to ``WAIT_OUT_SECONDS`` is waited out and the call
        made again, ``WAIT_OUT_TIMES`` times at most and only within the outbox call's time
        (``deadline``). Raises what ``call`` raises otherwise: a busy Twitch that names no
        wait, a longer one (or no number), or again and again."""
        waited = 0
        while True:
            try:
                return await call()
            except TwitchBusy as busy:
                wait = busy.retry_after
                if wait is None or not 0 <= wait <= WAIT_OUT_SECONDS or waited >= WAIT_OUT_TIMES:
                    raise
                if not deadline.allows(wait):
                    raise
                await self.sleep(max(wait, 0.1))
                waited += 1

    async def notify(
        self,
        guild_id: int,
        broadcaster_id: str,
        settings: VipSettings,
        text: str,
        *,
        is_chat: bool | None = None,
        platform: Platform = Platform.TWITCH,
        once_per: str | None = None,
        is_grant: bool = False,
    ) -> None:
        """Say ``text`` in chat (``is_chat`` None: when chat notices are on) and queue it for the
        guild's VIP notice channel on Discord, when it has one. At most once: the effect it
        tells of is stored first. ``once_per``: the event it tells of, which every server
        following a Kick channel handles: its chat hears one line of it, the first queued, or
        a grant's (``is_grant``) in place of a refusal not said yet."""
        if settings.is_chat_notices if is_chat is None else is_chat:
            if platform is Platform.TWITCH:
                await self.twitch.send_chat(guild_id, broadcaster_id, text)
            elif once_per is not None and (notices := self.chat_notices) is not None:

                def settle(conn: Connection, notices: ChatNotices = notices) -> bool:
                    # The servers' lines of one event one at a time (channel_lines.py).
                    lock_event(conn, platform, broadcaster_id, once_per)
                    return notices.settle_event_line(
                        conn,
                        platform,
                        guild_id,
                        broadcaster_id,
                        f"vip:{once_per}",
                        text=text,
                        is_grant=is_grant,
                        is_settled=True,
                    )

                await self.in_transaction(settle)
            elif (sender := self.kick_chat()) is not None:
                await sender.send(guild_id=guild_id, broadcaster_user_id=broadcaster_id, text=text)
        if self.notices is not None and (channel_id := settings.notice_channel_id) is not None:
            # Queued for the Discord worker (``discord_calls.py``): never waited on here.
            now = self.clock()
            await self.in_transaction(
                lambda conn: queue_notice(conn, guild_id, channel_id, text, now)
            )
