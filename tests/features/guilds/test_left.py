"""A guild the bot was removed from, as every process sees it: stored (a new process, as after a
restart, sees it), read by each process at most :data:`ROUTE_CACHE_SECONDS` late (the dispatcher
asks per batch of events), at once by the process that recorded it; only that guild."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.events import Platform
from core.features.guilds.service import ROUTE_CACHE_SECONDS, GuildService
from tests.support.clock import Clock, Ticker

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD, OTHER_GUILD = 111_111_111_111_111_111, 222_222_222_222_222_222
BROADCASTER = "1001"


@pytest.fixture
def ticks() -> Ticker:
    return Ticker()


def process(engine, ticks: Ticker) -> GuildService:
    """One process's GuildService (its own cache), on the shared database."""
    return GuildService(engine, Clock(T0), ticks)


def test_another_process_sees_a_removal_and_a_return_within_the_cache_time(engine, ticks):
    bot, other = process(engine, ticks), process(engine, ticks)
    for guild_id in (GUILD, OTHER_GUILD):
        bot.set_kick_channel(guild_id, "streamer", BROADCASTER)  # both follow one channel
    assert other.left_guild_ids() == set()  # read and cached

    bot.mark_left(GUILD)

    assert bot.left_guild_ids() == {GUILD}  # the process that saw it: at once
    assert bot.guilds_served(Platform.KICK, BROADCASTER) == [OTHER_GUILD]
    assert bot.guilds_tracking(Platform.KICK, BROADCASTER) == [GUILD, OTHER_GUILD]
    ticks.advance(ROUTE_CACHE_SECONDS)
    assert other.left_guild_ids() == {GUILD}

    bot.mark_back(GUILD)
    assert bot.guilds_served(Platform.KICK, BROADCASTER) == [GUILD, OTHER_GUILD]
    ticks.advance(ROUTE_CACHE_SECONDS)
    assert other.left_guild_ids() == set()


def test_a_removal_is_stored_so_a_restarted_process_keeps_it(engine, ticks):
    process(engine, ticks).set_kick_channel(GUILD, "streamer", BROADCASTER)
    process(engine, ticks).mark_left(GUILD)

    restarted = process(engine, ticks)

    assert restarted.left_guild_ids() == {GUILD}
    assert restarted.left_at(GUILD) == T0
    assert restarted.show(GUILD).left_at == T0


def test_a_removal_from_a_guild_never_set_up_stores_nothing(engine, ticks):
    guilds = process(engine, ticks)

    guilds.mark_left(GUILD)

    assert guilds.left_guild_ids() == set()
    with pytest.raises(LookupError):
        guilds.show(GUILD)
