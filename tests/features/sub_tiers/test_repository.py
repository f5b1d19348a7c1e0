"""The record under concurrent sightings of one viewer, on both backends: decided one after the
other, so the newest sighting wins whatever order the transactions commit in."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from core.features.sub_tiers.records import SubTier
from core.features.sub_tiers.service import SubTierService
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
