"""Guilds: which Discord server follows which Kick channel, and the routing built on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.guilds import service as guild_service
from core.features.guilds.repository import TrackedChannel
from core.features.guilds.service import GuildService, GuildView, InvalidGuildInput
from tests.support.clock import Clock

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
BROADCASTER = "123456789"
OTHER_BROADCASTER = "987654321"
GUILD = 111_111_111_111_111_111
OTHER_GUILD = 222_222_222_222_222_222
THIRD_GUILD = 333_333_333_333_333_333


@pytest.fixture
def guilds(engine) -> GuildService:
    return GuildService(engine, Clock(T0))


def kick(guild_id: int, slug: str, broadcaster: str = BROADCASTER) -> TrackedChannel:
    return TrackedChannel(guild_id, Platform.KICK, slug, broadcaster)


@pytest.mark.parametrize(
    ("guild_id", "slug", "broadcaster", "problem"),
    [
        pytest.param(GUILD, "", BROADCASTER, "'' is not a Kick channel name", id="empty-slug"),
        pytest.param(GUILD, "   ", BROADCASTER, "'' is not a Kick channel name", id="blank-slug"),
        pytest.param(
            GUILD, "my channel", BROADCASTER, "'my channel' is not a Kick", id="slug-with-space"
        ),
        pytest.param(GUILD, "a" * 26, BROADCASTER, "at most 25", id="slug-of-26-chars"),
        pytest.param(GUILD, "kanał", BROADCASTER, "'kanał' is not a Kick", id="non-ascii-slug"),
        pytest.param(GUILD, "xqc", "abc", "'abc' is not a Kick user id", id="letters-as-user-id"),
        pytest.param(GUILD, "xqc", "", "'' is not a Kick user id", id="empty-user-id"),
        pytest.param(GUILD, "xqc", "12 34", "'12 34' is not a Kick user id", id="user-id-space"),
        pytest.param(GUILD, "xqc", "-5", "'-5' is not a Kick user id", id="negative-user-id"),
        pytest.param(GUILD, "xqc", "1" * 21, "is not a Kick user id", id="user-id-21-digits"),
        pytest.param(0, "xqc", BROADCASTER, "0 is not a Discord server id", id="guild-zero"),
        pytest.param(
            -42, "xqc", BROADCASTER, "-42 is not a Discord server id", id="negative-guild"
        ),
        pytest.param(
            2**63, "xqc", BROADCASTER, "is not a Discord server id", id="guild-over-64-bit"
        ),
    ],
)
def test_set_kick_channel_rejects_bad_input_with_a_reason(
    sqlite_engine, guild_id, slug, broadcaster, problem
):
    guilds = GuildService(sqlite_engine, Clock(T0))

    with pytest.raises(InvalidGuildInput) as rejected:
        guilds.set_kick_channel(guild_id, slug, broadcaster)

    assert problem in str(rejected.value)
    assert isinstance(rejected.value, ValueError)
    assert guilds.guild_ids() == []  # nothing was stored


@pytest.mark.parametrize(
    ("slug", "broadcaster", "stored_slug", "stored_broadcaster"),
    [
        pytest.param("xqc", BROADCASTER, "xqc", BROADCASTER, id="plain"),
        pytest.param("  MyChannel ", f" {BROADCASTER} ", "mychannel", BROADCASTER, id="trimmed"),
        pytest.param("A-b_C9", BROADCASTER, "a-b_c9", BROADCASTER, id="dash-underscore-digit"),
        pytest.param("a" * 25, "1" * 20, "a" * 25, "1" * 20, id="longest"),
    ],
)
def test_set_kick_channel_accepts_and_lowercases_valid_input(
    sqlite_engine, slug, broadcaster, stored_slug, stored_broadcaster
):
    guilds = GuildService(sqlite_engine, Clock(T0))

    view = guilds.set_kick_channel(GUILD, slug, broadcaster)

    assert view == GuildView(GUILD, (kick(GUILD, stored_slug, stored_broadcaster),))


def test_set_kick_channel_stores_the_guild_and_replaces_its_previous_channel(guilds):
    largest_id = 2**63 - 1  # Discord ids fill a signed 64-bit integer on both backends
    first = guilds.set_kick_channel(GUILD, "FirstChannel", BROADCASTER)
    assert first == GuildView(GUILD, (kick(GUILD, "firstchannel"),))

    second = guilds.set_kick_channel(GUILD, "second", OTHER_BROADCASTER)
    guilds.set_kick_channel(largest_id, "big", BROADCASTER)

    assert second == GuildView(GUILD, (kick(GUILD, "second", OTHER_BROADCASTER),))
    assert guilds.show(GUILD) == second
    assert guilds.show(largest_id) == GuildView(largest_id, (kick(largest_id, "big"),))
    assert guilds.guild_ids() == [GUILD, largest_id]
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == [largest_id]
    assert guilds.guilds_tracking(Platform.KICK, OTHER_BROADCASTER) == [GUILD]


def test_show_raises_lookup_error_for_a_guild_nobody_set_up(guilds):
    guilds.set_kick_channel(GUILD, "xqc", BROADCASTER)

    with pytest.raises(LookupError, match=str(OTHER_GUILD)):
        guilds.show(OTHER_GUILD)


def test_a_guild_added_without_a_channel_shows_no_channels(guilds):
    guilds.ensure_guild(OTHER_GUILD, name="Friends")
    guilds.ensure_guild(OTHER_GUILD)  # again, without a name: harmless

    assert guilds.show(OTHER_GUILD) == GuildView(OTHER_GUILD, ())
    assert guilds.guild_ids() == [OTHER_GUILD]
    with pytest.raises(InvalidGuildInput):
        guilds.ensure_guild(0)


def test_guilds_tracking_returns_every_guild_following_a_broadcaster(guilds):
    guilds.set_kick_channel(THIRD_GUILD, "xqc", BROADCASTER)
    guilds.set_kick_channel(GUILD, "xqc", BROADCASTER)
    guilds.set_kick_channel(OTHER_GUILD, "other", OTHER_BROADCASTER)

    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == [GUILD, THIRD_GUILD]
    assert guilds.guilds_tracking(Platform.KICK, OTHER_BROADCASTER) == [OTHER_GUILD]
    assert guilds.guilds_tracking(Platform.KICK, "555") == []
    assert guilds.guilds_tracking(Platform.TWITCH, BROADCASTER) == []  # same id, other platform


def test_set_kick_channel_invalidates_the_route_cache_in_the_same_process(guilds):
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == []  # now cached

    guilds.set_kick_channel(GUILD, "xqc", BROADCASTER)
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == [GUILD]

    guilds.set_kick_channel(GUILD, "other", OTHER_BROADCASTER)  # the guild moves on
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == []
    assert guilds.guilds_tracking(Platform.KICK, OTHER_BROADCASTER) == [GUILD]


def test_routes_are_cached_for_a_few_seconds_then_read_again(sqlite_engine, monkeypatch):
    seconds = [1000.0]
    monkeypatch.setattr(guild_service.time, "monotonic", lambda: seconds[0])
    statements: list[str] = []
    sa.event.listen(
        sqlite_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    here = GuildService(sqlite_engine, Clock(T0))
    elsewhere = GuildService(sqlite_engine, Clock(T0))  # another process: its own cache

    assert here.guilds_tracking(Platform.KICK, BROADCASTER) == []
    elsewhere.set_kick_channel(GUILD, "xqc", BROADCASTER)
    statements.clear()

    seconds[0] += guild_service.ROUTE_CACHE_SECONDS - 0.5
    assert here.guilds_tracking(Platform.KICK, BROADCASTER) == []  # from the cache
    assert statements == []

    seconds[0] += 0.5
    assert here.guilds_tracking(Platform.KICK, BROADCASTER) == [GUILD]
    assert [s for s in statements if "guild_channels" in s] == statements[-1:]


def test_an_event_read_from_a_chatroom_routes_only_to_the_guilds_that_chose_it(guilds):
    guilds.set_kick_channel(GUILD, "xqc", BROADCASTER, chatroom_id=11)
    guilds.set_kick_channel(OTHER_GUILD, "xqc", BROADCASTER, chatroom_id=99)
    guilds.set_kick_channel(THIRD_GUILD, "xqc", BROADCASTER)

    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER) == [
        GUILD,
        OTHER_GUILD,
        THIRD_GUILD,
    ]
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER, 11) == [GUILD]
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER, 99) == [OTHER_GUILD]
    assert guilds.guilds_tracking(Platform.KICK, BROADCASTER, 12345) == []
