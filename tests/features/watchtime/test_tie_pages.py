"""Paging through a board of ties shows every viewer once: a Kick and a Twitch account may
share a user id, so the order among equals names the platform too."""

from __future__ import annotations

import sqlalchemy as sa

from core.config import WatchtimeSettings
from core.features.watchtime.service import WatchtimeService
from core.features.watchtime.tables import watchtime
from tests.features.watchtime.test_service import GUILD, T0
from tests.support.clock import Clock


def test_pages_of_equal_watchtime_on_both_platforms_show_everyone_once(engine):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime),
            [
                {
                    "guild_id": GUILD,
                    "platform": platform,
                    "platform_user_id": str(n),
                    "seconds": 600,
                    "last_seen": T0,
                }
                for n in range(150)
                for platform in ("twitch", "kick")
            ],
        )
    service = WatchtimeService(engine, WatchtimeSettings(), Clock(T0))
    seen = [
        (str(r.entry.platform), r.entry.platform_user_id)
        for offset in range(0, 300, 7)
        for r in service.leaderboard(GUILD, 7, offset)
    ]
    assert len(seen) == 300
    assert len(set(seen)) == 300
