"""Every change of a guild's VIP list (or its audit log) tells the dashboard's live pages."""

from __future__ import annotations

from core.features.live.changes import watch_commits
from tests.features.vip.doubles import GUILD


async def test_grant_extend_revoke_each_mark_the_vip_topic(vip, engine):
    told: list[set] = []
    watch_commits(engine, lambda changes: told.append(set(changes)))
    vip.twitch.users["viewer1"] = "9001"
    await vip.service.manual.grant(GUILD, 900, "viewer1", 5)
    await vip.service.manual.extend(GUILD, 900, "viewer1", 5)
    await vip.service.list_vips(GUILD)  # a read tells nothing
    await vip.service.manual.revoke(GUILD, 900, "viewer1")
    assert told == [{(GUILD, "vip")}] * 3
