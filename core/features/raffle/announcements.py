"""Raffle announcements: an outbox in the database that Discord empties when it can.

A period's opening and closing and a completed draw are flagged as not announced in the
transaction that makes them; posting clears the flag, so a post Discord cannot take now (the
bot not connected yet) waits for the next call, and a restart loses none. One Discord refuses
for good (a permission, the channel gone, a thread locked) is not tried again: it is listed
under "What the bot could not do" with the fix (:func:`record_refused_post`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.config import RaffleSettings
from core.features.linking.repository import discord_users_of
from core.features.raffle import ledger_repository
from core.features.raffle.draws import fairness, frozen_ranges
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.repository import Draw
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.ports import (
    DrawAnnouncement,
    PeriodAnnouncement,
    RaffleAnnouncer,
    WinnerAnnouncement,
)
from core.features.raffle.rates import read_rates
from core.features.shard_posts import ShardPosts, record_refused_post
from core.features.viewers.repository import usernames_of

log = logging.getLogger(__name__)

# An announcement to post: its announcer method, channel (None: none set), payload, and how
# to mark it posted.
_Notice = tuple[str, int | None, Any, Callable[[], None]]


class RaffleAnnouncements:
    def __init__(
        self, engine: Engine, settings: RaffleSettings, clock: Callable[[], datetime]
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock

    async def post_pending(self, announcer: RaffleAnnouncer, posts: ShardPosts) -> None:
        """Post the announcements not posted yet of the guilds ``posts`` reaches (this
        process's Discord client's); what Discord refuses, or does not answer in time, waits
        for the next call with the guild's later announcements (they keep their order)."""
        notices = await asyncio.to_thread(self._pending_notices)

        async def post(notice: _Notice) -> None:
            kind, channel_id, payload, _mark = notice
            if channel_id is None:
                return
            refused = await getattr(announcer, kind)(channel_id, payload)
            if refused is not None:
                key, summary = _named(kind, payload)
                await asyncio.to_thread(
                    record_refused_post,
                    *(self.engine, payload.guild_id, "raffle-announcement", key, summary),
                    *(refused, self.clock()),
                )

        async def mark(notice: _Notice) -> None:
            await asyncio.to_thread(notice[3])

        def waits(notice: _Notice, exc: Exception) -> None:
            log.warning("raffle announcement waits: %r", exc)

        # Each guild's in order; one waiting out its channel's rate limit holds up no other.
        await posts.per_guild(notices, lambda notice: notice[2].guild_id, post, mark, waits)

    def _pending_notices(self) -> list[_Notice]:
        notices: list[_Notice] = []
        with self.engine.connect() as conn:
            periods = periods_repository.list_unannounced_periods(conn)
            draws = draws_repository.list_unannounced_draws(conn)
            for period, what in periods:
                rates = read_rates(conn, period.guild_id, self.settings)
                payload = PeriodAnnouncement(
                    guild_id=period.guild_id,
                    period_id=period.id,
                    starts_at=period.starts_at,
                    ends_at=period.ends_at,
                    time_zone=rates.time_zone,
                    commitment=period.commitment,
                    beacon_round=period.beacon_round,
                    snapshot_hash=period.snapshot_hash,
                )
                notices.append(
                    (
                        f"period_{what}",
                        rates.announcement_channel_id,
                        payload,
                        lambda p=period.id, w=what: self._mark(
                            periods_repository.mark_announced, p, w
                        ),
                    )
                )
            for draw in draws:
                rates = read_rates(conn, draw.guild_id, self.settings)
                notices.append(
                    (
                        "draw_completed",
                        rates.announcement_channel_id,
                        self._draw_announcement(conn, draw),
                        lambda d=draw.id: self._mark(draws_repository.mark_draw_announced, d),
                    )
                )
        return notices

    def _mark(self, mark: Callable[..., None], *args: Any) -> None:
        with self.engine.begin() as conn:
            mark(conn, *args)

    def _draw_announcement(self, conn: Connection, draw: Draw) -> DrawAnnouncement:
        """The draw's winners and the tickets in its draw: those of the participants its
        period's close froze (an exclusion since then changes neither)."""
        period = periods_repository.find_period_by_id(conn, draw.period_id, with_eligible=False)
        assert period is not None  # noqa: S101 (a draw's period is never deleted)
        total = ledger_repository.sum_tickets(
            conn, draw.guild_id, draw.period_id, frozen=frozen_ranges.is_frozen(conn, period)
        )
        keys = [(str(w.platform), w.platform_user_id) for w in draw.winners]
        names = usernames_of(conn, keys)
        links = discord_users_of(conn, keys)
        winners = []
        for w in draw.winners:
            key = fairness.participant_key(str(w.platform), w.platform_user_id)
            tickets = ledger_repository.get_balance(
                conn, draw.guild_id, draw.period_id, w.platform, w.platform_user_id
            )
            winners.append(
                WinnerAnnouncement(names.get(key), links.get(key), tickets, str(w.platform))
            )
        return DrawAnnouncement(
            guild_id=draw.guild_id,
            period_id=draw.period_id,
            draw_id=draw.id,
            prize=draw.prize,
            winners=tuple(winners),
            total_tickets=total,
            forced=draw.forced,
            reroll_of=draw.reroll_of,
            reason=draw.reason,
        )


def _named(kind: str, payload: Any) -> tuple[str, str]:
    """The key of an announcement's refusal (one per announcement) and what it was, in the
    streamer's words."""
    if kind == "draw_completed":
        return (
            f"raffle:draw:{payload.draw_id}:discord",
            f"announce draw #{payload.draw_id}'s winners",
        )
    what = kind.removeprefix("period_")  # opened, closed
    return (
        f"raffle:period:{payload.period_id}:{what}:discord",
        f"announce that raffle period #{payload.period_id} {what}",
    )
