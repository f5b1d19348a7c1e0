"""Subscription tiers: fed from every subscription event, looked up on Twitch on a miss.

:meth:`SubTierService.handle_subscribed` and :meth:`handle_gifted` record what each event says
(see :mod:`core.features.sub_tiers.records` for the rule between sources). A game that meets a
Twitch viewer wearing a subscriber badge but without a record calls :meth:`request_lookup`: it
returns at once, and :meth:`run_lookups` (a scheduled job) asks Helix for everyone queued, at
most 100 ids per call, per guild, and records the answers with source ``helix``. A viewer Helix
says is not subscribed is not asked about again for :data:`NOT_SUBSCRIBED_MEMORY`. When Helix
cannot answer, the badge's version is recorded as a hint (source ``badge``, never Prime), and the
guild's lookups wait (:data:`UNAVAILABLE_PAUSE` after a refusal; :data:`BUSY_PAUSE` when Twitch
was only busy or down, and then the same viewers are asked again). A hint ends as soon as Helix
answers that the viewer is not subscribed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import (
    ID_MAX,
    Platform,
    Subscribed,
    SubscriptionEnded,
    SubscriptionsGifted,
    Viewer,
    utc,
)
from core.features.linking.repository import find_link_by_discord_user
from core.features.sub_tiers import repository
from core.features.sub_tiers.ports import (
    KnownSubscription,
    LookupBusy,
    LookupUnavailable,
    SubscriptionLookup,
)
from core.features.sub_tiers.records import (
    BADGE,
    HELIX,
    SubTier,
    add_month,
    tier_label,
    tier_of,
    tier_of_badge,
)
from core.features.sub_tiers.tables import sub_tiers
from core.features.viewers.in_guild import CHATTED, event_viewer_id, ids_seen_in
from core.features.viewers.repository import remember_viewers, usernames_of
from core.features.viewers.search import name_query
from core.storage.db import transaction

log = logging.getLogger(__name__)

# A server's viewers named by name: who chatted or watched there, or has a tier record there.
SUB_VIEWERS = (*CHATTED, sub_tiers)

# How long a Helix answer or a badge hint counts: Helix says "subscribed now", not until when,
# so a viewer is asked again after a day (one call for up to 100 viewers).
HELIX_VALID_FOR = timedelta(days=1)
BADGE_VALID_FOR = timedelta(hours=12)
NOT_SUBSCRIBED_MEMORY = timedelta(minutes=30)
LOOKUP_BATCH = 100  # user ids per Get Broadcaster Subscriptions call (Helix's limit)
BUSY_PAUSE = timedelta(minutes=1)  # after Twitch failed to answer, before asking again
UNAVAILABLE_PAUSE = timedelta(minutes=5)  # after a refusal (not connected, scope missing)
MAX_QUEUED = 10_000  # viewers waiting for a lookup, across guilds; more are dropped (logged)

__all__ = ["KnownViewer", "SubTier", "SubTierService", "tier_label"]


@dataclass(frozen=True)
class KnownViewer:
    platform: Platform
    username: str
    sub: SubTier | None


class SubTierService:
    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        lookup: SubscriptionLookup | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.lookup = lookup
        self._lock = threading.Lock()
        # guild -> user id -> the subscriber badge's version (None when not given)
        self._queued: dict[int, dict[str, str | None]] = {}
        self._not_subscribed: dict[tuple[int, str], datetime] = {}
        self._paused: dict[int, datetime] = {}  # guild -> no lookup before (Twitch was busy)

    def _now(self) -> datetime:
        return utc(self.clock())

    # --- reading --------------------------------------------------------------------------

    def tiers_of(self, guild_id: int, platform: str, user_ids: Iterable[str]) -> dict[str, SubTier]:
        """The unexpired records of ``user_ids``, by user id (viewers without one are absent)."""
        with self.engine.connect() as conn:
            return repository.tiers_of(conn, guild_id, str(platform), user_ids, self._now())

    def tier_of(self, guild_id: int, platform: str, user_id: str) -> SubTier | None:
        return self.tiers_of(guild_id, platform, [user_id]).get(user_id)

    def find_by_name(
        self, guild_id: int, platform: str, name: str
    ) -> list[tuple[str, SubTier | None]]:
        """``(user id, record or None)`` per viewer of ``platform`` currently called ``name``
        and seen in this guild (``SUB_VIEWERS``): one known only in another server is nobody
        here."""
        with self.engine.connect() as conn:
            ids = ids_seen_in(conn, guild_id, Platform(platform), name, SUB_VIEWERS)
            found = repository.tiers_of(conn, guild_id, str(platform), ids, self._now())
        return [(user_id, found.get(user_id)) for user_id in ids]

    def for_member(self, guild_id: int, discord_user_id: int) -> list[KnownViewer]:
        """What is known of a member's linked accounts (Kick, Twitch), each by its name of now
        (a viewer renamed since linking); empty when none."""
        found = []
        with self.engine.connect() as conn:
            for platform in Platform:
                link = find_link_by_discord_user(conn, platform, discord_user_id)
                if link is None:
                    continue
                user_id = link.platform_user_id
                records = repository.tiers_of(conn, guild_id, str(platform), [user_id], self._now())
                names = usernames_of(conn, [(str(platform), user_id)])
                name = names.get(f"{platform}:{user_id}", link.username)
                found.append(KnownViewer(platform, name, records.get(user_id)))
        return found

    def for_name(self, guild_id: int, name: str) -> list[KnownViewer]:
        """What is known of every Kick and Twitch viewer currently called ``name`` (``kick:name``
        or ``twitch:name``: on that platform only, as :func:`name_query` reads it)."""
        query = name_query(name)
        if query is None:
            return []
        return [
            KnownViewer(platform, query.name, sub)
            for platform in query.platforms
            for _user_id, sub in self.find_by_name(guild_id, platform, query.name)
        ]

    # --- recording from events ------------------------------------------------------------

    def record(self, guild_id: int, sighting: SubTier) -> SubTier | None:
        """Record one sighting (see :func:`~core.features.sub_tiers.records.merge`); the record
        as it now stands."""
        with transaction(self.engine) as conn:
            return repository.record(conn, guild_id, sighting, self._now())

    def handle_subscribed(self, guild_id: int, event: Subscribed) -> None:
        """A new sub, a renewal, or a gift recipient (Twitch's ``channel.subscribe`` with
        ``is_gift``): a month from the event, or until the platform's own expiry."""
        if event.platform == Platform.KICK:
            tier: str | None = "1"  # Kick has no tiers
            kind = "gifted" if event.is_gift else "renewal" if event.is_renewal else "new"
            source = f"kick:{kind}"
        else:
            tier = tier_of(event.tier)
            source = _twitch_source(event)
        if tier is None:
            log.info("guild %s: sub event %s without a tier", guild_id, event.key)
            return
        self._record_viewers(
            guild_id, event, [event.viewer], tier, source, event.is_prime, event.expires_at
        )

    def handle_gifted(self, guild_id: int, event: SubscriptionsGifted) -> None:
        """Gifted subs that name their recipients (Kick's; Twitch names them one by one in
        ``channel.subscribe``, handled above)."""
        if not event.giftees:
            return
        if event.platform == Platform.KICK:
            tier, source = "1", "kick:gifted"
        else:
            tier, source = tier_of(event.tier), "twitch:gift"
        if tier is None:
            return
        self._record_viewers(guild_id, event, event.giftees, tier, source, False, event.expires_at)

    def handle_ended(self, guild_id: int, event: SubscriptionEnded) -> None:
        """A subscription ended (Twitch's ``channel.subscription.end``): the viewer's record
        stops counting from then, so no game gives a bonus for it. A record a source made after
        the end (a resub told first) stays; a redelivered end changes nothing. The end is kept,
        so a subscription event sent before it and delivered after it changes nothing."""
        user_id = event.viewer.platform_user_id
        if user_id is None:
            return
        ended_at = min(utc(event.occurred_at), self._now())
        with transaction(self.engine) as conn:
            ended = repository.end_record(conn, guild_id, str(event.platform), user_id, ended_at)
            if not ended:  # nothing to end yet: keep the end for a subscribe told late
                tier = tier_of(event.tier) or "1"
                source = f"{event.platform}:end"
                kept = SubTier(
                    str(event.platform), user_id, tier, False, source, ended_at, ended_at,
                    ended_at=ended_at,
                )  # fmt: skip
                repository.remember_end(conn, guild_id, kept)
        if ended:
            log.info("guild %s: %s's subscription ended; tier record closed", guild_id, user_id)

    def _record_viewers(
        self,
        guild_id: int,
        event: Subscribed | SubscriptionsGifted,
        viewers: Iterable[Viewer],
        tier: str,
        source: str,
        is_prime: bool,
        expires_at: datetime | None,
    ) -> None:
        seen_at = utc(event.occurred_at)
        until = utc(expires_at) if expires_at is not None and expires_at > seen_at else None
        now = self._now()
        viewers = list(viewers)
        with transaction(self.engine) as conn:
            remember_viewers(conn, event.platform, viewers, seen_at)  # for !tier <name>
            for viewer in viewers:
                user_id = viewer.platform_user_id
                if user_id is None:  # Kick's Pusher names some viewers without their id
                    user_id = event_viewer_id(
                        conn, guild_id, event.platform, viewer.username, SUB_VIEWERS
                    )
                    if user_id is None:
                        continue
                sighting = SubTier(
                    platform=str(event.platform),
                    platform_user_id=user_id,
                    tier=tier,
                    is_prime=is_prime and tier == "1",
                    source=source,
                    seen_at=seen_at,
                    expires_at=until or add_month(seen_at),
                )
                repository.record(conn, guild_id, sighting, now)

    # --- lookups on a miss ----------------------------------------------------------------

    def request_lookup(
        self,
        guild_id: int,
        platform: str,
        user_ids_with_sub_badge: Iterable[str] | Mapping[str, str | None],
    ) -> None:
        """Queue Twitch viewers who wear a subscriber badge for a Helix lookup; returns at once.

        Give a mapping ``user id -> badge version`` to have the badge recorded as a hint when
        Helix cannot answer. Viewers with a record, or whom Helix lately said were not
        subscribed, are not asked about (checked by :meth:`run_lookups`). Kick has no lookup."""
        if str(platform) != Platform.TWITCH:
            return
        if isinstance(user_ids_with_sub_badge, Mapping):
            pairs = [(str(k), v) for k, v in user_ids_with_sub_badge.items()]
        else:
            pairs = [(str(user_id), None) for user_id in user_ids_with_sub_badge]
        # Twitch user ids are numbers: anything else would only get Helix's 400
        badges = {k: v for k, v in pairs if k.isascii() and k.isdigit() and len(k) <= ID_MAX}
        with self._lock:
            queued = self._queued.setdefault(guild_id, {})
            total = sum(len(q) for q in self._queued.values())
            for user_id, version in badges.items():
                if user_id not in queued and total >= MAX_QUEUED:
                    log.warning("guild %s: tier lookup queue full; %s not asked", guild_id, user_id)
                    continue
                total += user_id not in queued
                queued[user_id] = version if version is not None else queued.get(user_id)

    def pending_lookups(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queued.values())

    async def run_lookups(self) -> None:
        """Ask Helix about everyone queued: per guild, up to 100 ids per call."""
        now = self._now()
        with self._lock:
            waiting = {g for g, until in self._paused.items() if until > now}
            queued = {g: q for g, q in self._queued.items() if g not in waiting}
            self._queued = {g: q for g, q in self._queued.items() if g in waiting}
        for guild_id, badges in queued.items():
            try:
                await self._look_up(guild_id, badges)
            except Exception:
                log.exception("guild %s: tier lookup failed", guild_id)

    async def _look_up(self, guild_id: int, badges: dict[str, str | None]) -> None:
        now = self._now()
        with self._lock:
            self._not_subscribed = {k: v for k, v in self._not_subscribed.items() if v > now}
            wanted = [u for u in badges if (guild_id, u) not in self._not_subscribed]
        known = await asyncio.to_thread(self.tiers_of, guild_id, Platform.TWITCH, wanted)
        # a badge hint is a guess: Helix is asked again whenever it may answer
        wanted = [u for u in wanted if u not in known or known[u].source == BADGE]
        if not wanted:
            return
        if self.lookup is None:
            await asyncio.to_thread(self._record_badges, guild_id, wanted, badges)
            return
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            try:
                answers = await self.lookup.subscriptions(guild_id, batch)
            except LookupUnavailable as exc:
                log.info("guild %s: no tier lookup (%s); badges as hints", guild_id, exc)
                await asyncio.to_thread(self._record_badges, guild_id, wanted[start:], badges)
                with self._lock:
                    self._paused[guild_id] = self._now() + UNAVAILABLE_PAUSE
                return
            except LookupBusy as exc:
                log.info("guild %s: tier lookup postponed (%s)", guild_id, exc)
                rest = wanted[start:]
                await asyncio.to_thread(self._record_badges, guild_id, rest, badges)
                with self._lock:
                    self._paused[guild_id] = self._now() + BUSY_PAUSE
                self.request_lookup(guild_id, Platform.TWITCH, {u: badges.get(u) for u in rest})
                return
            await asyncio.to_thread(self._record_answers, guild_id, batch, answers)

    def _record_answers(
        self, guild_id: int, asked: list[str], answers: Mapping[str, KnownSubscription]
    ) -> None:
        now = self._now()
        with transaction(self.engine) as conn:
            for user_id in asked:
                answer = answers.get(user_id)
                tier = tier_of(answer.tier) if answer is not None else None
                if tier is None:
                    # not subscribed: a badge hint recorded while Helix could not answer ends
                    repository.end_badge_hint(conn, guild_id, str(Platform.TWITCH), user_id, now)
                    with self._lock:
                        self._not_subscribed[(guild_id, user_id)] = now + NOT_SUBSCRIBED_MEMORY
                    continue
                sighting = SubTier(
                    str(Platform.TWITCH), user_id, tier, False, HELIX, now, now + HELIX_VALID_FOR
                )
                repository.record(conn, guild_id, sighting, now)

    def _record_badges(
        self, guild_id: int, user_ids: list[str], badges: Mapping[str, str | None]
    ) -> None:
        now = self._now()
        with transaction(self.engine) as conn:
            for user_id in user_ids:
                tier = tier_of_badge(badges.get(user_id))
                if tier is None:
                    continue
                sighting = SubTier(
                    str(Platform.TWITCH), user_id, tier, False, BADGE, now, now + BADGE_VALID_FOR
                )
                repository.record(conn, guild_id, sighting, now)

    def forget_expired(self) -> int:
        """Delete records that stopped counting a week ago or more."""
        with transaction(self.engine) as conn:
            return repository.forget_expired(conn, self._now() - timedelta(days=7))


def _twitch_source(event: Subscribed) -> str:
    if event.source_type == "channel.chat.notification":
        return "twitch:chat.notification"
    if event.is_gift:
        return "twitch:gift"
    return f"twitch:{event.source_type or 'channel.subscribe'}"
