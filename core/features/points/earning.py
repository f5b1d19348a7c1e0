"""Earning points: by watching (credited with the watchtime tick, a bonus rate for
subscribers) and by chatting (points per message, capped per viewer per hour; commands and
repeats earn nothing). Earnings accrue per viewer and are posted to the ledger once per window,
so a crowd adds one ledger row per viewer per window, not per tick (docs/points.md).

Idempotent: the guild's earnings clock moves from one tick to the next with a compare-and-set in
the same transaction as the credits, so a tick run twice (a restart, two processes) credits once,
and a posting's ledger rows are unique by window and viewer. After each tick every guild earns
with ``earn_many``: a few statements per batch of 500 guilds (``accrual_batch``).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from core.bus.dispatch import handles_across_guilds, handles_many
from core.events import ChatMessageSent, Platform, utc
from core.features.chat_bots import ChatBots
from core.features.chat_commands.parsing import command_line, parse_command
from core.features.guild_batches import work_in_batches
from core.features.points import accrual, accrual_batch
from core.features.points.ports import Subscribers
from core.features.points.rates import Rates, read_rates, read_rates_many
from core.features.watchtime import repository as watchtime
from core.features.watchtime import ticks_repository
from core.features.watchtime.repository import TickState

log = logging.getLogger(__name__)
ONE_SECOND = timedelta(seconds=1)
EARN_BATCH = 500  # guilds earned in one transaction


@dataclass(frozen=True)
class EarnResult:
    guild_id: int
    present: int = 0
    seconds: int = 0
    posted_viewers: int = 0
    posted_points: int = 0


@dataclass(frozen=True)
class _Claim:
    """A guild whose earnings clock moves from ``previous`` to its latest tick, ``now``."""

    guild_id: int
    previous: datetime | None
    now: datetime
    tick: TickState
    rates: Rates

    @property
    def watching(self) -> bool:
        """Whether the tick credited a crowd this earns for (not a first tick, tracking on)."""
        return self.previous is not None and self.tick.tracking_enabled

    @property
    def seconds(self) -> int:
        """What the tick credited, no more: a tick this step missed earns nothing here, rather
        than the present crowd earning it."""
        if not self.watching:
            return 0
        elapsed = (utc(self.now) - utc(self.previous)) // ONE_SECOND  # type: ignore[arg-type]
        return min(elapsed, self.tick.last_tick_seconds)

    @property
    def current_window(self) -> datetime:
        return accrual.window_start(self.now, self.rates.post_minutes, self.guild_id)

    def accrues(self) -> tuple[datetime, int, int]:
        """What each present viewer accrues: in the window the interval started in, the
        point-seconds of a viewer and those of a subscriber."""
        started = accrual.window_start(
            self.previous,  # type: ignore[arg-type]
            self.rates.post_minutes,
            self.guild_id,
        )
        seconds = self.seconds
        return started, seconds * self.rates.watch_rate, seconds * self.rates.sub_rate


class LeftUnearned(Exception):
    """Guilds whose points for their latest tick failed (each logged as it failed)."""

    def __init__(self, guild_ids: list[int]) -> None:
        shown = ", ".join(str(g) for g in guild_ids[:10]) + (", ..." if len(guild_ids) > 10 else "")
        super().__init__(f"{len(guild_ids)} guild(s) earned nothing for their tick: {shown}")
        self.guild_ids = guild_ids


def chat_digest(content: str) -> str:
    """The same message typed again (any case or spacing) has the same digest."""
    normal = " ".join(content.casefold().split())
    return hashlib.blake2b(normal.encode(), digest_size=16).hexdigest()


class PointsEarning:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        subscribers: Subscribers,
        active_window: timedelta,
        guild_ids: Callable[[], Iterable[int]],
        chat_bots: ChatBots | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.subscribers = subscribers
        self.active_window = active_window
        self.guild_ids = guild_ids
        self.chat_bots = chat_bots or ChatBots()  # whose chat earns nothing

    def earn_all(self) -> list[EarnResult]:
        """After each watchtime tick: every guild's earnings for it, many guilds at once.
        Raises :class:`LeftUnearned` once the others are done if a guild failed, so the
        scheduler runs this again before the next tick (done guilds then do nothing)."""
        guild_ids = list(dict.fromkeys(self.guild_ids()))
        results = self.earn_many(guild_ids)
        failed = set(guild_ids) - {result.guild_id for result in results}
        if failed:
            raise LeftUnearned(sorted(failed))
        return results

    def earn_many(self, guild_ids: Sequence[int]) -> list[EarnResult]:
        """``earn`` for many guilds: a few statements and one transaction per batch of
        ``EARN_BATCH`` guilds (``accrual_batch``), each guild's clock still moved by its own
        compare-and-set. A batch that fails is done again guild by guild, so one guild's failure
        is its own (logged, and left out of the results) and never costs the others their
        points."""
        return work_in_batches(
            list(dict.fromkeys(guild_ids)),
            EARN_BATCH,
            self._earn_batch,
            self.earn,
            log=log,
            batch_failed="a batch of %d guilds' points failed; earning them one by one",
            guild_failed="guild %s: points for watching failed",
        )

    def _earn_batch(self, batch: list[int]) -> list[EarnResult]:
        with self.engine.begin() as conn:
            claims = self._claim(conn, batch)
            watching = [claim for claim in claims.values() if claim.watching]
            credits = []
            for claim in watching:
                window, units, sub_units = claim.accrues()
                credits.append(
                    accrual_batch.TickCredit(claim.guild_id, claim.now, window, units, sub_units)
                )
            subscribed = self._subscribers_of(conn, {c.guild_id: c.now for c in watching})
            present = accrual_batch.accrue_tick_crowds(conn, credits, subscribed)
            posted = accrual_batch.post_closed_windows_many(
                conn, {g: claim.current_window for g, claim in claims.items()}
            )
        return [
            EarnResult(g, present.get(g, 0), claims[g].seconds, posted[g].viewers, posted[g].points)
            if g in claims
            else EarnResult(g)
            for g in batch
        ]

    def _claim(self, conn: Connection, batch: list[int]) -> dict[int, _Claim]:
        """The guilds whose earnings clock this transaction moves to their latest tick, and
        what they earn at; the others earn nothing now (never ticked, earned for this tick
        already, or another process moved the clock first)."""
        ticks = ticks_repository.tick_states_of(conn, batch)
        ticked = [g for g in batch if ticks[g].last_tick_at is not None]
        clocks = accrual_batch.clocks_of(conn, ticked)
        due = [
            _Claim(
                g,
                clocks[g].earned_until,
                ticks[g].last_tick_at,
                ticks[g],  # type: ignore[arg-type]
                clocks[g].rates,
            )
            for g in ticked
        ]
        due = [c for c in due if c.previous is None or utc(c.now) > utc(c.previous)]
        moved = accrual_batch.advance_many(
            conn, [(c.guild_id, c.previous, c.now) for c in due if c.previous is not None]
        )
        # A guild's first earning only starts its clock (and posts what chat accrued).
        moved |= {
            c.guild_id
            for c in due
            if c.previous is None and accrual.advance(conn, c.guild_id, None, c.now)
        }
        return {c.guild_id: c for c in due if c.guild_id in moved}

    def _subscribers_of(
        self, conn: Connection, ticks: dict[int, datetime]
    ) -> set[tuple[int, str, str]]:
        """The subscribers to credit at their rate among the crowds of ``{guild: tick}``, as
        ``(guild, platform, user id)``: every subscriber of the guilds when the port answers for
        whole guilds (no crowd leaves the database), else those of each crowd, read here and
        asked of the port for many guilds at once or guild by guild. Unknown: none (logged)."""
        if not ticks:
            return set()
        try:
            whole = getattr(self.subscribers, "subscribers_in", None)
            if whole is not None:
                return set(whole(conn, sorted(ticks)))
            crowds = ticks_repository.credited_at_many(conn, ticks)
            many = getattr(self.subscribers, "subscribed_many", None)
            if many is None:
                return {
                    (g, platform, user_id)
                    for g, crowd in crowds.items()
                    for platform, user_id in self._subscribed(conn, g, crowd)
                }
            keys = [(g, p, u) for g, crowd in crowds.items() for p, u in crowd]
            return set(many(conn, keys)) if keys else set()
        except Exception:
            log.warning(
                "guilds %s: subscribers unknown; base rate this tick", sorted(ticks), exc_info=True
            )
            return set()

    def earn(self, guild_id: int) -> EarnResult:
        """Credit the guild's present viewers for its latest watchtime tick, and post the
        windows that closed. Running it again for the same tick changes nothing.

        The one-guild path, on the per-guild repository functions: ``earn_many`` falls back on it
        when a batch fails, and tests hold ``earn_many`` to it (tests/features/points/
        test_earn_many.py), so the two stay one behaviour written twice on purpose."""
        with self.engine.begin() as conn:
            tick = watchtime.get_tick_state(conn, guild_id)
            now = tick.last_tick_at
            if now is None:
                return EarnResult(guild_id)
            previous = accrual.earned_until(conn, guild_id)
            if previous is not None and utc(now) <= utc(previous):
                return EarnResult(guild_id)
            if not accrual.advance(conn, guild_id, previous, now):
                return EarnResult(guild_id)
            rates = read_rates(conn, guild_id)
            seconds = 0
            present: list[tuple[str, str]] = []
            if previous is not None and tick.tracking_enabled:
                # What the tick credited, no more: its crowd and its seconds (a tick this
                # step missed earns nothing here, rather than the present crowd earning it).
                elapsed = (utc(now) - utc(previous)) // ONE_SECOND
                seconds = min(elapsed, tick.last_tick_seconds)
                streamers = accrual.streamers_of(conn, guild_id)
                credited = watchtime.credited_at(conn, guild_id, now)
                present = [viewer for viewer in credited if viewer not in streamers]
            if seconds > 0 and present:
                # The interval up to this tick belongs to the window it started in.
                started = accrual.window_start(previous, rates.post_minutes, guild_id)  # type: ignore[arg-type]
                subscribed = self._subscribed(conn, guild_id, present)
                units = [
                    (
                        platform,
                        user_id,
                        seconds
                        * (
                            rates.sub_rate
                            if (platform, user_id) in subscribed
                            else rates.watch_rate
                        ),
                    )
                    for platform, user_id in present
                ]
                accrual.accrue_watching(conn, guild_id, started, units)
            current = accrual.window_start(now, rates.post_minutes, guild_id)
            posted = accrual.post_closed_windows(conn, guild_id, current)
        return EarnResult(guild_id, len(present), seconds, posted.viewers, posted.points)

    def _subscribed(
        self, conn: Connection, guild_id: int, present: list[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, user_id in present:
            by_platform[platform].append(user_id)
        found: set[tuple[str, str]] = set()
        for platform, user_ids in by_platform.items():
            try:
                subs = self.subscribers.subscribed(conn, guild_id, Platform(platform), user_ids)
            except Exception:
                log.warning(
                    "guild %s: subscribers unknown; base rate this tick", guild_id, exc_info=True
                )
                continue
            found.update((platform, user_id) for user_id in subs)
        return found

    @handles_across_guilds("record_chats_across")
    @handles_many("record_chats")
    def record_chat(self, guild_id: int, event: ChatMessageSent) -> None:
        """A chat message may earn points: not a command, not a repeat, within the hour's cap."""
        self.record_chats(guild_id, [event])

    def record_chats(self, guild_id: int, events: list[ChatMessageSent]) -> None:
        """Count many chat messages, in order, in one transaction (the rates read once).
        Idempotent per message: one not after the viewer's last counted message counts nothing,
        nor one an hour older than the guild's latest tick (``accrual.earned_until_many``)."""
        self.record_chats_across([(guild_id, event) for event in events])

    def record_chats_across(self, chats: list[tuple[int, ChatMessageSent]]) -> None:
        """``record_chats`` for the messages of many guilds (a channel many guilds follow), in
        one transaction: every guild's rates in one read, then each guild's messages in order.
        Guilds go in id order and each guild's viewers in key order, so two processes doing
        this at once lock rows in the same order and never deadlock."""
        by_guild: dict[int, list[ChatMessageSent]] = defaultdict(list)
        person_here = self.chat_bots.person_here
        for guild_id, event in chats:
            if person_here(event) and _may_earn(event):
                by_guild[guild_id].append(event)
        if not by_guild:
            return
        with self.engine.begin() as conn:
            rates_of = read_rates_many(conn, list(by_guild))
            clocks = accrual.earned_until_many(conn, list(by_guild))
            streams = ticks_repository.streams_of(conn, list(by_guild))
            for guild_id in sorted(by_guild):
                rates = rates_of[guild_id]
                if rates.chat_points <= 0 or rates.chat_cap <= 0:
                    continue
                until = clocks.get(guild_id)
                since = None if until is None else until - accrual.QUIET
                chats = [
                    accrual.Chat(
                        str(event.platform),
                        event.viewer.platform_user_id,  # type: ignore[arg-type]
                        event.occurred_at,
                        chat_digest(event.content.strip()),
                    )
                    for event in by_guild[guild_id]
                    if (since is None or utc(event.occurred_at) >= since)
                    and _said_live(streams, guild_id, event)
                ]
                if not chats:
                    continue
                accrual.count_chats(
                    conn,
                    guild_id,
                    chats,
                    points=rates.chat_points,
                    cap=rates.chat_cap,
                    window_minutes=rates.post_minutes,
                    earned_until=until,
                )


def _said_live(
    streams: dict[tuple[int, str, str], ticks_repository.StreamState],
    guild_id: int,
    event: ChatMessageSent,
) -> bool:
    """Whether the message was said while its channel was live (chat between streams earns
    nothing, as it counts for no watchtime); a channel whose state was never seen counts as
    live, as for watchtime."""
    state = streams.get((guild_id, str(event.platform), event.broadcaster_user_id))
    return state is None or state.live_at(event.occurred_at)


def _may_earn(event: ChatMessageSent) -> bool:
    """Not a command (as the router reads one: a Twitch reply's, a full-width bang's), not
    empty, not the streamer paying themselves. (A chat bot's message, or one typed in another
    channel of a Twitch Shared Chat, is left out before: ``ChatBots.person_here``.)"""
    user_id = event.viewer.platform_user_id
    text = event.content.strip()
    if user_id is None or not text or text.startswith("!"):
        return False
    if parse_command(command_line(event)) is not None:
        return False
    return user_id != event.broadcaster_user_id
