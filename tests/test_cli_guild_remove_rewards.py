"""``python -m core guild remove`` of a server whose VIP rules made channel-point rewards on the
streamer's Twitch channel: with ``--yes`` they are deleted at the fake Twitch over loopback, as
the streamer, before the streamer's tokens are given back (their waiting redemptions refunded
first), except one another server following the channel still uses; Twitch down or refusing
leaves the rows going all the same and a line naming what the streamer must delete by hand.
Without ``--yes`` the line says what would go. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.connections.connection_rows import NEEDS_REAUTH
from core.features.connections.tables import twitch_connections
from core.features.vip import repository, rules_repository
from core.features.vip.rules_repository import REWARD, VipRule
from core.features.vip.tables import vip_rules
from core.storage.db import create_engine
from tests.fakes import twitch_server
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.loopback_only import NOBODY
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture
from tests.test_cli_guild_remove_subscriptions import OTHER, _connect, _left
from tests.test_cli_guild_remove_tokens import TWITCH_STREAMER, _rows_left, platforms_env

NOW = datetime(2030, 5, 1, tzinfo=UTC)
DAY, WEEK, SHARED = "VIP for a day", "VIP for a week", "VIP (both servers)"
TO_DO = (
    "The streamer should refund what waits in Twitch's reward queue and delete them in their "
    "Twitch dashboard (Channel Points > Manage Rewards): no bot will after this removal, and "
    "until then viewers spend points on them for nothing."
)


@pytest.fixture
def kick():
    with FakeKick(user_id=1001, username="streamer") as fake:
        yield fake


@pytest.fixture
def twitch():
    with FakeTwitch() as fake:
        yield fake


@pytest.fixture
def env(cli_env, migrated_database_url, kick, twitch):  # noqa: F811
    return platforms_env(cli_env, migrated_database_url, kick, twitch)


def _reward(twitch: FakeTwitch, title: str) -> str:
    """A reward StreamKeeper's app made on the streamer's channel (only it may delete it)."""
    return twitch.add_reward(TWITCH_STREAMER[0], title, 5000, client_id=twitch_server.CLIENT_ID)


def _rule(env, guild: str, reward_id: str, title: str) -> None:  # type: ignore[no-untyped-def]
    rule = VipRule(0, int(guild), Platform.TWITCH, REWARD, 24, NOW, reward_id=reward_id,
                   reward_title=title, reward_cost=5000)  # fmt: skip
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        rules_repository.add_rule(conn, rule)
    engine.dispose()


def _setup_reward(env, guild: str, reward_id: str, title: str) -> None:  # type: ignore[no-untyped-def]
    """The server's VIP reward from before rules (``!vip setup`` of an earlier version)."""
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        changes = {"reward_id": reward_id, "reward_title": title, "reward_cost": 5000}
        repository.save_settings(conn, int(guild), changes, NOW)
    engine.dispose()


def _titles(twitch: FakeTwitch) -> list[str]:
    return sorted(reward["title"] for reward in twitch.rewards.values())


def _rules_of(env, guild: str) -> list[str]:  # type: ignore[no-untyped-def]
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        query = sa.select(vip_rules.c.reward_title).where(vip_rules.c.guild_id == int(guild))
        titles = sorted(conn.execute(query).scalars())
    engine.dispose()
    return titles


def _rule_id(env, guild: str) -> str:  # type: ignore[no-untyped-def]
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        query = sa.select(vip_rules.c.id).where(vip_rules.c.guild_id == int(guild))
        rule_id = conn.execute(query).scalar_one()
    engine.dispose()
    return str(rule_id)


def test_the_servers_vip_rewards_are_deleted_on_twitch_with_the_server(env, kick, twitch):
    _connect(env, kick, twitch, GUILD)
    day, week = _reward(twitch, DAY), _reward(twitch, WEEK)
    _rule(env, GUILD, day, DAY)
    _setup_reward(env, GUILD, week, WEEK)
    waiting = twitch.add_redemption(day, "5555")
    twitch.add_reward(TWITCH_STREAMER[0], "Hydrate", 100)  # the streamer's own, on twitch.tv
    _left(env, GUILD)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert (
        f"Twitch VIP rewards: 2 deleted ('{DAY}', '{WEEK}'), 1 waiting redemption refunded."
        in result.stdout.splitlines()
    )
    assert _titles(twitch) == ["Hydrate"]
    assert twitch.redemptions[waiting]["status"] == "CANCELED"  # the viewer has their points
    assert all(t.revoked for t in twitch.tokens.values() if t.token_type == "user")
    assert _rows_left(env) == []


def test_a_reward_another_server_following_the_channel_uses_stays(env, kick, twitch):
    _connect(env, kick, twitch, GUILD)
    _connect(env, kick, twitch, OTHER)
    day, shared = _reward(twitch, DAY), _reward(twitch, SHARED)
    _rule(env, GUILD, day, DAY)
    _rule(env, GUILD, shared, SHARED)
    _rule(env, OTHER, shared, SHARED)  # as an earlier version let two servers name one reward
    _left(env, GUILD)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert (
        f"Twitch VIP rewards: 1 deleted ('{DAY}'); 1 kept because another server following "
        f"the channel uses it ('{SHARED}')."
    ) in result.stdout.splitlines()
    assert _titles(twitch) == [SHARED]
    assert _rules_of(env, OTHER) == [SHARED]
    assert _rows_left(env) == []


def test_a_reward_whose_deletion_was_still_queued_goes_too(env, kick, twitch):
    """A rule removed while the bot was stopped (or Twitch busy): the removal of the server
    would delete the queued call with its rows, and the reward would stay on Twitch."""
    _connect(env, kick, twitch, GUILD)
    _rule(env, GUILD, _reward(twitch, DAY), DAY)
    removed = cli(env, "vip", "rule", "remove", "--guild", GUILD, _rule_id(env, GUILD))
    assert removed.returncode == 0, removed.stderr  # its reward's deletion queued, not made
    assert _titles(twitch) == [DAY]
    _left(env, GUILD)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert f"Twitch VIP rewards: 1 deleted ('{DAY}')." in result.stdout.splitlines()
    assert _titles(twitch) == []
    assert _rows_left(env) == []


@pytest.mark.parametrize(
    ("down", "why"),
    [
        ("unreachable", "Twitch could not be reached"),
        ("failing", "Twitch could not be reached"),
        ("grant gone", "the server's Twitch connection no longer works"),
    ],
)
def test_rewards_twitch_does_not_delete_are_named_for_the_streamer_and_the_rows_go(
    env, kick, twitch, down, why
):
    _connect(env, kick, twitch, GUILD)
    day, week = _reward(twitch, DAY), _reward(twitch, WEEK)
    _rule(env, GUILD, day, DAY)
    _rule(env, GUILD, week, WEEK)
    _left(env, GUILD)
    if down == "unreachable":
        env["TWITCH_API_BASE_URL"] = NOBODY
    elif down == "failing":
        for path in ("/helix/channel_points/custom_rewards",
                     "/helix/channel_points/custom_rewards/redemptions"):  # fmt: skip
            twitch.fail_next(path, 500, times=50)
    else:  # the streamer disconnected StreamKeeper on twitch.tv: the hourly check marked it
        engine = create_engine(env["DATABASE_URL"])
        with engine.begin() as conn:
            conn.execute(sa.update(twitch_connections).values(status=NEEDS_REAUTH))
        engine.dispose()

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (
        f"Twitch VIP rewards: 2 not deleted ('{DAY}', '{WEEK}'): {why}. " + TO_DO
    ) in result.stdout.splitlines()
    assert _titles(twitch) == sorted([DAY, WEEK])
    assert _rows_left(env) == []


def test_a_dry_run_says_which_rewards_would_go_and_asks_twitch_nothing(env, kick, twitch):
    _connect(env, kick, twitch, GUILD)
    _connect(env, kick, twitch, OTHER)
    day, shared = _reward(twitch, DAY), _reward(twitch, SHARED)
    _rule(env, GUILD, day, DAY)
    _rule(env, GUILD, shared, SHARED)
    _rule(env, OTHER, shared, SHARED)
    _left(env, GUILD)
    asked_before = len(twitch.requests)

    result = cli(env, "guild", "remove", GUILD)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        f"Twitch VIP rewards: 1 would be deleted ('{DAY}'); 1 would be kept because another "
        f"server following the channel uses it ('{SHARED}')."
    ) in lines
    assert lines[-1] == "Nothing was deleted; run again with --yes to delete."
    assert len(twitch.requests) == asked_before
    assert _titles(twitch) == sorted([DAY, SHARED])
    assert _rules_of(env, GUILD) == sorted([DAY, SHARED])
