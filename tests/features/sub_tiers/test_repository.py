"""The record under concurrent sightings of one viewer, on both backends: decided one after the
other, so the newest sighting wins whatever order the transactions commit in. Ending a badge
hint ends only the hint."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import Engine

from core.features.sub_tiers import repository
from core.features.sub_tiers.records import SubTier
from core.features.sub_tiers.service import SubTierService
from core.storage.db import transaction
from tests.features.sub_tiers.conftest import GUILD, T0


def test_concurrent_sightings_leave_the_newest(tiers: SubTierService) -> None:
    sightings = [
        SubTier(
            "twitch",
            "42",
            ("1", "2", "3")[n % 3],
            False,
            "twitch:channel.subscription.message",
            T0 + timedelta(seconds=n),
            T0 + timedelta(days=30),
        )
        for n in range(12)
    ]
    newest = sightings[-1]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda s: tiers.record(GUILD, s), reversed(sightings)))

    sub = tiers.tier_of(GUILD, "twitch", "42")
    assert sub is not None
    assert (sub.tier, sub.seen_at) == (newest.tier, newest.seen_at)


def test_ending_badge_hints_leaves_records_from_real_sources(
    engine: Engine, tiers: SubTierService
) -> None:
    until = T0 + timedelta(hours=12)
    tiers.record(GUILD, SubTier("twitch", "1", "3", False, "badge", T0, until))
    tiers.record(GUILD, SubTier("twitch", "2", "2", False, "twitch:channel.subscribe", T0, until))
    tiers.record(GUILD, SubTier("twitch", "3", "1", False, "helix", T0, until))
    tiers.record(GUILD + 1, SubTier("twitch", "1", "3", False, "badge", T0, until))

    later = T0 + timedelta(minutes=5)
    with transaction(engine) as conn:
        ended = [repository.end_badge_hint(conn, GUILD, "twitch", u, later) for u in "1234"]
        again = repository.end_badge_hint(conn, GUILD, "twitch", "1", later)
    assert ended == [True, False, False, False]
    assert not again

    with engine.connect() as conn:
        here = repository.tiers_of(conn, GUILD, "twitch", "123", later)
        there = repository.tiers_of(conn, GUILD + 1, "twitch", "1", later)
    assert {u: sub.source for u, sub in here.items()} == {
        "2": "twitch:channel.subscribe",
        "3": "helix",
    }
    assert set(there) == {"1"}  # another guild's hint stays
