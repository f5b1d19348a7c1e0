"""Disconnecting a streamer gives their tokens back and forgets them whatever the platform
answers: a Kick or Twitch that cannot be reached, or whose answer cannot be read, leaves no
connection behind (a token not taken back expires), and the log says so. On the fakes over
loopback, on the paths the Discord commands and the dashboard take."""

from __future__ import annotations

import asyncio
import logging

import pytest
import sqlalchemy as sa

from core.features.connections.channel_setup import Replaced
from core.features.connections.streamer_tokens import GivenBack
from core.features.connections.tables import kick_connections, twitch_connections
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_runtime import runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.support.connections import store_connection

GUILD = 4242
ADMIN = 777
# A 200 whose body says gzip and is not: httpx cannot read it (httpx.DecodingError).
UNREADABLE = {"status": 200, "body": "not gzip", "headers": {"Content-Encoding": "gzip"}}


@pytest.fixture
def kick():
    with FakeKick(username="streamer", user_id=1001) as fake:
        fake.add_channel("other", 2002)
        yield fake


@pytest.fixture
def kick_runtime(tmp_path, kick, migrated_database_url):
    runtime = runtime_on_fake_kick(
        kick, tmp_path / "data", Clock(), DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_kick_channel(GUILD, "streamer", "1001")
    tokens = (kick.issue_user_token(), kick.issue_refresh_token())
    store_connection(
        runtime.engine, runtime.cipher, kick_connections, GUILD, ("1001", "streamer"), tokens
    )
    yield runtime
    runtime.close()


@pytest.fixture
def twitch():
    with FakeTwitch() as fake:
        yield fake


@pytest.fixture
def twitch_runtime(tmp_path, twitch, migrated_database_url):
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", Clock(), DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", "141981764")
    tokens = (twitch.issue_user_token(), twitch.issue_refresh_token())
    store_connection(
        runtime.engine, runtime.cipher, twitch_connections, GUILD, ("141981764", "twitchdev"),
        tokens,
    )  # fmt: skip
    yield runtime
    runtime.close()


def connections(runtime, table: sa.Table) -> list[int]:  # type: ignore[no-untyped-def]
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(table.c.guild_id)).scalars())


@pytest.mark.parametrize(
    ("failure", "outcome", "logged"),
    [
        ("stopped", GivenBack.UNREACHABLE, "Kick could not be reached to take a token back"),
        ("unreadable", GivenBack.UNREACHABLE, "Kick could not be reached to take a token back"),
        ("503", GivenBack.UNREACHABLE, "Kick could not be reached to take a token back"),
        ("400", GivenBack.REFUSED, "Kick did not take a token back (400)"),
    ],
)
def test_a_kick_down_or_refusing_still_loses_the_connection(
    kick_runtime, kick, caplog, failure, outcome, logged
):
    caplog.set_level(logging.INFO, "core.features.connections")
    if failure == "stopped":
        kick.stop()  # nothing listens on its port any more
    elif failure == "unreadable":
        kick.fail_next("/oauth/revoke", times=2, **UNREADABLE)
    else:
        kick.fail_next("/oauth/revoke", int(failure), times=2)

    assert asyncio.run(kick_runtime.kick_connections.give_back(GUILD)) is outcome

    assert connections(kick_runtime, kick_connections) == []
    assert f"guild {GUILD}: {logged}" in caplog.text
    assert f"guild {GUILD}: Kick connection of streamer removed" in caplog.text
    assert asyncio.run(kick_runtime.kick_connections.give_back(GUILD)) is None


def test_setting_up_another_kick_channel_forgets_the_old_streamer_when_kicks_answer_is_unreadable(
    kick_runtime, kick, caplog
):
    """``!kick setup other`` (and the dashboard's form): the old streamer's grant goes."""
    caplog.set_level(logging.INFO, "core.features.connections")
    kick.fail_next("/oauth/revoke", times=2, **UNREADABLE)

    result = asyncio.run(kick_runtime.kick_setup.setup(GUILD, ADMIN, "other"))

    assert result.replaced == Replaced("streamer", GivenBack.UNREACHABLE)
    assert [r.query["token_hint_type"] for r in kick.requests_to("/oauth/revoke")] == [
        ["access_token"],
        ["refresh_token"],
    ]
    assert connections(kick_runtime, kick_connections) == []
    assert f"guild {GUILD}: Kick could not be reached to take a token back" in caplog.text
    assert f"guild {GUILD}: Kick connection of streamer removed" in caplog.text


def test_twitch_disconnect_forgets_the_connection_when_twitchs_answer_is_unreadable(
    twitch_runtime, twitch, caplog
):
    """``!twitch disconnect`` and the dashboard's Disconnect button."""
    caplog.set_level(logging.INFO, "core.features.connections")
    twitch.fail_next("/oauth2/revoke", times=20, **UNREADABLE)  # each is tried again

    assert (
        asyncio.run(twitch_runtime.twitch_setup.disconnect(GUILD)).given_back
        is GivenBack.UNREACHABLE
    )

    asked = {r.form["token"] for r in twitch.requests_to("/oauth2/revoke")}
    assert len(asked) == 2  # the access and the refresh token, each tried
    assert connections(twitch_runtime, twitch_connections) == []
    assert f"guild {GUILD}: Twitch could not be reached to take a token back" in caplog.text
    assert f"guild {GUILD}: Twitch connection of twitchdev removed" in caplog.text
