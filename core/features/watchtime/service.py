"""Watchtime: viewers who chat while the stream is live gain the time between ticks.

A viewer is *present* in a tick when they sent a chat message within the active window and the
channel is live (a channel whose state was never seen counts as live). Each tick credits every
present viewer with the whole seconds elapsed since the guild's previous tick, capped at the
active window: presence vouches for at most that long, so a bot that was down for an hour does
not hand out an hour. The first tick a guild ever has only sets its clock. While tracking is off
ticks credit nothing, and turning it back on restarts the clock at that moment, so no part of the
time it was off is credited.

Presence and the tick clock are stored, so a restart in the middle of a stream loses nothing.
Chat handling is idempotent by construction (presence keeps the latest time), and ticks advance
the clock with a compare-and-set, so two processes never credit the same interval twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.bus.dispatch import handles_across_guilds, handles_many
from core.config import WatchtimeSettings
from core.events import ChatMessageSent, Platform, StreamEnded, StreamStarted, utc
from core.features.chat_bots import ChatBots
from core.features.guild_batches import work_in_batches
from core.features.linking.repository import AccountLink, discord_users_of, links_of_member
from core.features.viewers.repository import find_viewer_ids_by_username, remember_sightings
from core.features.viewers.search import NameQuery, name_query
from core.features.watchtime import history, repository, ticks_repository
from core.features.watchtime import standings_repository as standings
from core.features.watchtime.repository import Presence
from core.features.watchtime.standings_repository import (
    AccountWatchtime,
    RankedWatchtime,
    WatchtimeRow,
)
from core.storage.timeouts import is_lock_timeout

log = logging.getLogger(__name__)
ONE_SECOND = timedelta(seconds=1)
TICK_BATCH = 500  # guilds ticked in one transaction
HELD_RETRY_SECONDS = 0.25  # a guild whose clock another transaction holds is tried this often
HELD_RETRY_LIMIT_SECONDS = 10.0  # ... for at most this long (half an interval when shorter)


@dataclass(frozen=True)
class TickResult:
    guild_id: int
    credited_viewers: int
    seconds_each: int
    duration_seconds: float


@dataclass(frozen=True)
class TrackingStatus:
    enabled: bool
    present_viewers: int
    last_tick_at: datetime | None
    interval_seconds: int
    active_window_minutes: int


class WatchtimeService:
    def __init__(
        self,
        engine: Engine,
        settings: WatchtimeSettings,
        clock: Callable[[], datetime],
        on_tick: Callable[[TickResult], None] | None = None,
        chat_bots: ChatBots | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.on_tick = on_tick
        self.chat_bots = chat_bots or ChatBots()  # whose chat is no presence

    @property
    def active_window(self) -> timedelta:
        return timedelta(minutes=self.settings.active_window_minutes)

    # --- event handlers ------------------------------------------------------------------

    @handles_across_guilds("record_chats_across")
    @handles_many("record_chats")
    def record_chat(self, guild_id: int, event: ChatMessageSent) -> None:
        self.record_chats(guild_id, [event])

    def record_chats(self, guild_id: int, events: list[ChatMessageSent]) -> None:
        """Remember the chatters' names and mark them present, for many messages in one
        transaction (two statements). Idempotent: the latest time wins, in any order."""
        self.record_chats_across([(guild_id, event) for event in events])

    def record_chats_across(self, chats: list[tuple[int, ChatMessageSent]]) -> None:
        """``record_chats`` for the messages of many guilds at once (a channel that many guilds
        follow: each message is every one of theirs), in one transaction: each chatter's name
        once, and every guild's presence in one statement, its rows in key order (so two
        processes doing this at once lock them in the same order and never deadlock)."""
        # Presence is kept by user id; every chat source gives one. A chat bot's message, and
        # another channel's that a Twitch Shared Chat shows here, is no presence here.
        person_here = self.chat_bots.person_here
        chats = [
            (g, e) for g, e in chats if e.viewer.platform_user_id is not None and person_here(e)
        ]
        if not chats:
            return
        sightings = {
            (e.platform, e.viewer.platform_user_id, e.viewer.username, e.occurred_at): e
            for _, e in chats
        }
        seen = sorted(
            (
                Presence(
                    guild_id,
                    e.platform,
                    e.broadcaster_user_id,
                    e.viewer.platform_user_id,  # type: ignore[arg-type]
                    e.occurred_at,
                )
                for guild_id, e in chats
            ),
            key=lambda p: (p.guild_id, str(p.platform), p.platform_user_id, p.broadcaster_user_id),
        )
        with self.engine.begin() as conn:
            remember_sightings(
                conn, ((e.platform, e.viewer, e.occurred_at) for e in sightings.values())
            )
            repository.mark_present_many(conn, seen, self.active_window)

    @handles_across_guilds("record_stream_states_across")
    def record_stream_state(self, guild_id: int, event: StreamStarted | StreamEnded) -> None:
        self.record_stream_states_across([(guild_id, event)])

    def record_stream_states_across(
        self, changes: list[tuple[int, StreamStarted | StreamEnded]]
    ) -> None:
        """Store live/offline for many guilds' channels in one transaction (a channel many
        guilds follow), in key order; the latest change wins, in any order."""
        ordered = sorted(
            changes, key=lambda c: (c[0], str(c[1].platform), c[1].broadcaster_user_id)
        )
        with self.engine.begin() as conn:
            stored = [
                repository.set_stream_state(
                    conn,
                    g,
                    e.platform,
                    e.broadcaster_user_id,
                    isinstance(e, StreamStarted),
                    e.occurred_at,
                )
                for g, e in ordered
            ]
        for (guild_id, event), changed in zip(ordered, stored, strict=True):
            state = "live" if isinstance(event, StreamStarted) else "offline"
            done = "stored" if changed else "ignored (a copy, or older than the state stored)"
            channel = event.broadcaster_user_id
            log.info("guild %s: channel %s %s: %s", guild_id, channel, state, done)

    # --- ticks ---------------------------------------------------------------------------

    def tick(self, guild_id: int, now: datetime | None = None) -> TickResult:
        """Credit the guild's present viewers for the time since its previous tick."""
        started = time.perf_counter()
        now = utc(now or self.clock()).replace(microsecond=0)
        credited = seconds = 0
        with self.engine.begin() as conn:
            state = repository.get_tick_state(conn, guild_id)
            previous = state.last_tick_at
            if previous is not None and now <= previous:
                return TickResult(guild_id, 0, 0, time.perf_counter() - started)
            window_seconds = self.active_window // ONE_SECOND
            elapsed = 0 if previous is None else (now - previous) // ONE_SECOND
            seconds = min(elapsed, window_seconds) if state.tracking_enabled else 0
            if not repository.advance_tick(conn, guild_id, previous, now, seconds):
                seconds = 0  # another process ticked this guild for this instant
            else:
                since = now - self.active_window
                if seconds > 0:
                    credited = repository.credit_present_viewers(
                        conn, guild_id, since, seconds, now
                    )
                    history.record(conn, {guild_id: credited}, seconds, now)
                repository.forget_presence_before(conn, guild_id, since)
        result = TickResult(guild_id, credited, seconds, time.perf_counter() - started)
        if self.on_tick is not None:
            self.on_tick(result)
        return result

    def tick_many(self, guild_ids: Sequence[int], now: datetime | None = None) -> list[TickResult]:
        """``tick`` for many guilds at one instant: a few statements per batch of
        ``TICK_BATCH`` guilds (``ticks_repository``), each guild's clock still moved by its own
        compare-and-set. A batch that fails is done again guild by guild, so one guild's
        failure is its own (logged); one that met a lock timeout is first tried again at once.

        A guild whose clock another transaction holds (its tick under way in another process,
        or a killed process's transaction PostgreSQL has not ended yet) is left out of its
        batch without waiting, so it holds up no other guild, and tried again every
        ``HELD_RETRY_SECONDS`` for up to ``held_retry_seconds``; one still held then is ticked
        at the next instant, which credits the time since its last tick."""
        at = utc(now or self.clock()).replace(microsecond=0)
        held: list[int] = []
        results = self._tick_batches(guild_ids, at, held)
        deadline = time.monotonic() + self.held_retry_seconds
        while held and time.monotonic() < deadline:
            time.sleep(HELD_RETRY_SECONDS)
            again, held = held, []
            results += self._tick_batches(again, at, held)
        if held:
            log.warning(
                "the watchtime clocks of %d guild(s) are held by another transaction; "
                "their next tick credits this one's time",
                len(held),
            )
        return results

    @property
    def held_retry_seconds(self) -> float:
        """How long a tick tries a held guild again: never into the next instant's tick."""
        return min(HELD_RETRY_LIMIT_SECONDS, self.settings.interval_seconds / 2)

    def _tick_batches(
        self, guild_ids: Sequence[int], at: datetime, held: list[int]
    ) -> list[TickResult]:
        def batch(ids: list[int]) -> list[TickResult]:
            try:
                return self._tick_batch(ids, at, held)
            except sa.exc.OperationalError as exc:
                if not is_lock_timeout(exc):
                    raise
                log.info("a batch of %d ticks met a lock timeout; trying it again", len(ids))
                return self._tick_batch(ids, at, held)

        return work_in_batches(
            guild_ids,
            TICK_BATCH,
            batch,
            lambda guild_id: self.tick(guild_id, at),
            log=log,
            batch_failed="a batch of %d ticks failed; ticking them one by one",
            guild_failed="guild %s: the watchtime tick failed",
        )

    def _tick_batch(self, batch: list[int], now: datetime, held: list[int]) -> list[TickResult]:
        """The batch's ticks in one transaction; the guilds whose clocks another transaction
        holds are added to ``held``, untouched."""
        started = time.perf_counter()
        window = self.active_window // ONE_SECOND
        since = now - self.active_window
        with self.engine.begin() as conn:
            clocks = ticks_repository.clocks_of(conn, batch, skip_held=True)
            skipped = [g for g in batch if g not in clocks]
            batch = list(clocks)
            moves = [
                (
                    g,
                    c.last_tick_at,
                    min((now - c.last_tick_at) // ONE_SECOND, window) if c.tracking_enabled else 0,
                )
                for g, c in clocks.items()
                if c.last_tick_at is not None and now > c.last_tick_at
            ]
            moved = ticks_repository.advance_many(conn, moves, now)
            # A guild's first tick only starts its clock, as tick() does.
            started_clocks = [
                g
                for g, c in clocks.items()
                if c.last_tick_at is None and repository.advance_tick(conn, g, None, now, 0)
            ]
            seconds_of = {g: seconds for g, _, seconds in moves if g in moved}
            credited: dict[int, int] = {}
            for seconds in set(seconds_of.values()):
                group = [g for g, s in seconds_of.items() if s == seconds]
                crowds = ticks_repository.credit_many(conn, group, since, seconds, now)
                history.record(conn, crowds, seconds, now)
                credited.update(crowds)
            ticks_repository.forget_presence_many(conn, [*moved, *started_clocks], since)
        held.extend(skipped)
        each = (time.perf_counter() - started) / max(len(batch), 1)
        results = [TickResult(g, credited.get(g, 0), seconds_of.get(g, 0), each) for g in batch]
        if self.on_tick is not None:
            for result in results:
                self.on_tick(result)
        return results

    # --- settings --------------------------------------------------------------------------

    def set_tracking(self, guild_id: int, enabled: bool) -> TrackingStatus:
        now = utc(self.clock()).replace(microsecond=0)
        with self.engine.begin() as conn:
            was_enabled = repository.get_tick_state(conn, guild_id).tracking_enabled
            repository.set_tracking(conn, guild_id, enabled)
            if enabled and not was_enabled:
                # The next tick must not credit the part of its interval that tracking was off.
                repository.restart_clock(conn, guild_id, now)
        return self.tracking_status(guild_id)

    def tracking_status(self, guild_id: int) -> TrackingStatus:
        now = utc(self.clock())
        with self.engine.connect() as conn:
            state = repository.get_tick_state(conn, guild_id)
            present = repository.count_present_viewers(conn, guild_id, now - self.active_window)
        return TrackingStatus(
            enabled=state.tracking_enabled,
            present_viewers=present if state.tracking_enabled else 0,
            last_tick_at=state.last_tick_at,
            interval_seconds=self.settings.interval_seconds,
            active_window_minutes=self.settings.active_window_minutes,
        )

    # --- views -----------------------------------------------------------------------------

    def leaderboard(self, guild_id: int, limit: int = 10, offset: int = 0) -> list[RankedWatchtime]:
        with self.engine.connect() as conn:
            return standings.list_ranked_viewers(conn, guild_id, limit, offset, self.chat_bots)

    def count_viewers(self, guild_id: int) -> int:
        with self.engine.connect() as conn:
            return standings.count_viewers(conn, guild_id, self.chat_bots)

    def find_by_username(
        self, guild_id: int, username: str, platform: Platform = Platform.KICK
    ) -> RankedWatchtime | None:
        """The viewer's watchtime in this guild and rank (ties share the rank: ``standings``)."""
        with self.engine.connect() as conn:
            for user_id in find_viewer_ids_by_username(conn, platform, username):
                row = standings.get_viewer(conn, guild_id, platform, user_id)
                if row is not None:
                    return standings.ranked(conn, guild_id, row, self.chat_bots)
        return None

    def find_all_by_username(self, guild_id: int, username: str) -> list[RankedWatchtime]:
        """The viewers of this name with watchtime here, one per platform (Kick, then Twitch):
        a name may be taken on both, by the same person or by two."""
        query = name_query(username)
        return [] if query is None else self.viewers_named(guild_id, query)

    def viewers_named(self, guild_id: int, query: NameQuery) -> list[RankedWatchtime]:
        """The viewers ``query`` names with watchtime here, each with their rank, on the
        platforms it names (Kick, then Twitch)."""
        found = (self.find_by_username(guild_id, query.name, p) for p in query.platforms)
        return [ranked for ranked in found if ranked is not None]

    def linked_members(self, rows: Iterable[WatchtimeRow]) -> dict[str, int]:
        """The Discord members linked to these rows' accounts, by ``"<platform>:<user id>"``
        (a Kick and a Twitch account may share a user id and belong to different members)."""
        pairs = [(str(row.platform), row.platform_user_id) for row in rows]
        if not pairs:
            return {}
        with self.engine.connect() as conn:
            return discord_users_of(conn, pairs)

    def accounts_of_member(self, discord_user_id: int) -> list[AccountLink]:
        """The member's linked accounts, Kick's then Twitch's (none, one or both)."""
        with self.engine.connect() as conn:
            return links_of_member(conn, discord_user_id)

    def find_by_user_id(
        self, guild_id: int, platform_user_id: str, platform: Platform = Platform.KICK
    ) -> RankedWatchtime | None:
        """The viewer's watchtime in this guild and rank (ties share the rank: ``standings``)."""
        with self.engine.connect() as conn:
            row = standings.get_viewer(conn, guild_id, platform, platform_user_id)
            return None if row is None else standings.ranked(conn, guild_id, row, self.chat_bots)

    def ranked_of_accounts(self, accounts: Sequence[tuple[str, str]]) -> list[AccountWatchtime]:
        """These viewers' watchtime and rank in every guild where they have some."""
        with self.engine.connect() as conn:
            return standings.list_ranked_of_accounts(conn, accounts, self.chat_bots)

    def tick_lag(self, guild_id: int) -> timedelta | None:
        """How long ago the guild's last tick ran; None before its first tick."""
        with self.engine.connect() as conn:
            last = repository.get_tick_state(conn, guild_id).last_tick_at
        return None if last is None else utc(self.clock()) - last

    def export(self, guild_id: int) -> list[WatchtimeRow]:
        with self.engine.connect() as conn:
            return standings.list_all_viewers(conn, guild_id)

    # --- history, for the dashboard's charts ---------------------------------------------------

    def hours(self, guild_id: int, since: datetime) -> list[history.Hour]:
        """The guild's hours since ``since`` that credited anyone, oldest first."""
        with self.engine.connect() as conn:
            return history.hours(conn, guild_id, since)

    def forget_old_hours(self) -> int:
        with self.engine.begin() as conn:
            return history.forget_before(conn, utc(self.clock()) - history.HOURS_KEPT)
