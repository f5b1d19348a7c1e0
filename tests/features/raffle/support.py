"""Helpers for the raffle tests: a settable clock, a recording announcer, watchtime and links."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.events import Platform, SubscriptionsGifted, Viewer
from core.features.linking.repository import AccountLink, save_link
from core.features.raffle.beacons.relays import HttpBeacon
from core.features.raffle.draws.fairness import SNAPSHOT_VERSION
from core.features.raffle.ports import DrawAnnouncement, PeriodAnnouncement
from core.features.raffle.service import RaffleService
from core.features.raffle.views import TicketsView
from core.features.viewers.repository import remember_viewers
from core.features.watchtime.tables import watchtime
from core.storage.db import insert_for
from tests.support.clock import Clock

GUILD = 1001
CHANNEL = 2002
START = datetime(2026, 3, 1, tzinfo=UTC)
# The deployment's secret the admins' pseudonyms are keyed by (given to the service as it is,
# not read as a setting: the committed proof fixtures were made with it).
ACTOR_SECRET = "test-link-secret"
# FLASK_SECRET_KEY of a command line run beside such a service (a setting takes 32 characters or
# more); a period keeps the key it closed with, so the names it published stay the same.
SETTING_SECRET = "test-link-secret-a-key-of-32-characters-or-more"


@dataclass
class RecordingAnnouncer:
    opened: list[PeriodAnnouncement] = field(default_factory=list)
    closed: list[PeriodAnnouncement] = field(default_factory=list)
    draws: list[tuple[int, DrawAnnouncement]] = field(default_factory=list)
    failing: bool = False

    async def period_opened(self, channel_id: int, period: PeriodAnnouncement) -> None:
        self._maybe_fail()
        self.opened.append(period)

    async def period_closed(self, channel_id: int, period: PeriodAnnouncement) -> None:
        self._maybe_fail()
        self.closed.append(period)

    async def draw_completed(self, channel_id: int, draw: DrawAnnouncement) -> None:
        self._maybe_fail()
        self.draws.append((channel_id, draw))

    def _maybe_fail(self) -> None:
        if self.failing:
            raise RuntimeError("the Discord bot is not connected yet")


def seeds(prefix: str = "seed"):
    """Deterministic seeds: sha256("<prefix>:<n>") for n = 0, 1, 2, ..."""
    counter = iter(range(10**9))
    return lambda: hashlib.sha256(f"{prefix}:{next(counter)}".encode()).hexdigest()


def make_service(
    engine: Engine,
    clock: Clock,
    beacon_url: str | None = None,
    announcer: RecordingAnnouncer | None = None,
    *,
    auto_draw: bool = False,
    snapshot_version: int = SNAPSHOT_VERSION,
    proof_base_url: str | None = None,
) -> RaffleService:
    return RaffleService(
        engine,
        RaffleSettings(auto_draw=auto_draw, announcement_channel_id=CHANNEL),
        clock,
        actor_secret=ACTOR_SECRET,
        snapshot_version=snapshot_version,
        beacon=HttpBeacon(beacon_url) if beacon_url else None,
        announcer=announcer,
        new_seed=seeds(),
        proof_base_url=proof_base_url,
    )


def set_watchtime(engine: Engine, user_id: str, seconds: int, guild_id: int = GUILD) -> None:
    with engine.begin() as conn:
        stmt = insert_for(conn, watchtime).values(
            guild_id=guild_id, platform="kick", platform_user_id=user_id, seconds=seconds
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=list(watchtime.primary_key.columns),
                set_={"seconds": stmt.excluded.seconds},
            )
        )


def add_viewer(
    engine: Engine,
    user_id: str,
    username: str,
    discord_id: int | None = None,
    platform: Platform = Platform.KICK,
) -> None:
    """A viewer we have seen (on Kick unless told), linked to ``discord_id`` when given."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        remember_viewers(conn, platform, [Viewer(user_id, username)], now)
        if discord_id is not None:
            save_link(conn, AccountLink(platform, user_id, discord_id, username, now), GUILD)


def gift(
    event_id: str,
    gifter: Viewer | None,
    giftees: tuple[str, ...],
    at: datetime,
    *,
    with_ids: bool = True,
) -> SubscriptionsGifted:
    return SubscriptionsGifted(
        platform=Platform.KICK,
        event_id=event_id,
        broadcaster_user_id="555",
        occurred_at=at,
        gifter=gifter,
        giftees=tuple(Viewer(f"id-{name}" if with_ids else None, name) for name in giftees),
        count=len(giftees),
    )


def ledger_count(engine: Engine) -> int:
    from core.features.raffle.tables import raffle_ledger

    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(raffle_ledger)).scalar_one()


def tickets_of(raffle: RaffleService, member_id: int, guild_id: int = GUILD) -> TicketsView:
    """The member's one linked account's tickets (``!tickets`` shows each account's)."""
    [view] = raffle.views.tickets_of(guild_id, member_id)
    return view
