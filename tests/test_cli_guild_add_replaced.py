"""``python -m core guild add`` of another channel for a server whose streamer is connected: as
``!kick setup`` and ``!twitch setup`` of another channel do, the streamer of the channel before
is disconnected, their tokens given back to the fakes over loopback, and the command says so."""

from __future__ import annotations

import pytest

from core.features.connections.tables import kick_connections, twitch_connections
from core.security.secrets import TokenCipher
from core.storage.db import create_engine
from tests.conftest import TEST_FERNET_KEY
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.connections import store_connection
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture
from tests.test_cli_guild_remove_tokens import platforms_env

KICK_STREAMER = ("1001", "streamer")
TWITCH_STREAMER = ("141981764", "twitchdev")


@pytest.fixture
def kick():
    with FakeKick(user_id=1001, username="streamer") as fake:
        fake.add_channel("other", 8888)  # the channel the server follows next
        yield fake


@pytest.fixture
def twitch():
    with FakeTwitch() as fake:
        fake.add_channel("999999", "otherchannel")
        yield fake


@pytest.fixture
def env(cli_env, migrated_database_url, kick, twitch):  # noqa: F811
    return platforms_env(cli_env, migrated_database_url, kick, twitch)


@pytest.fixture
def tokens(env, kick, twitch) -> dict[str, tuple[str, str]]:
    """The server follows the streamers' channels and is connected as both of them."""
    added = cli(env, "guild", "add", GUILD, "--kick-channel", KICK_STREAMER[1],
                "--kick-broadcaster-id", KICK_STREAMER[0], "--twitch-channel",
                TWITCH_STREAMER[1], "--twitch-broadcaster-id", TWITCH_STREAMER[0])  # fmt: skip
    assert added.returncode == 0, added.stderr
    issued = {
        "kick": (kick.issue_user_token(), kick.issue_refresh_token()),
        "twitch": (twitch.issue_user_token(), twitch.issue_refresh_token()),
    }
    engine, cipher = create_engine(env["DATABASE_URL"]), TokenCipher(TEST_FERNET_KEY)
    guild = int(GUILD)
    store_connection(engine, cipher, kick_connections, guild, KICK_STREAMER, issued["kick"])
    store_connection(engine, cipher, twitch_connections, guild, TWITCH_STREAMER, issued["twitch"])
    engine.dispose()
    return issued


def _connected(env: dict[str, str]) -> dict[str, list[str]]:
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        found = {
            table.name: [row.broadcaster_user_id for row in conn.execute(table.select())]
            for table in (kick_connections, twitch_connections)
        }
    engine.dispose()
    return found


def test_another_kick_channel_disconnects_the_streamer_of_the_one_before(env, kick, tokens):
    result = cli(env, "guild", "add", GUILD, "--kick-channel", "other",
                 "--kick-broadcaster-id", "8888")  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert (
        "Kick: disconnected streamer, connected for the channel before. The streamer's tokens "
        "were given back to Kick and forgotten."
    ) in result.stdout
    assert all(kick.tokens[token].revoked for token in tokens["kick"])
    assert _connected(env) == {
        kick_connections.name: [],
        twitch_connections.name: [TWITCH_STREAMER[0]],  # Twitch was not touched
    }


def test_another_twitch_channel_disconnects_the_streamer_of_the_one_before(env, twitch, tokens):
    result = cli(env, "guild", "add", GUILD, "--twitch-channel", "otherchannel",
                 "--twitch-broadcaster-id", "999999")  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Twitch: disconnected twitchdev, connected for the channel before." in result.stdout
    assert all(twitch.tokens[token].revoked for token in tokens["twitch"])
    assert _connected(env)[twitch_connections.name] == []


def test_the_same_channels_again_keep_their_streamers(env, kick, twitch, tokens):
    result = cli(env, "guild", "add", GUILD, "--kick-channel", KICK_STREAMER[1],
                 "--kick-broadcaster-id", KICK_STREAMER[0], "--twitch-channel",
                 TWITCH_STREAMER[1], "--twitch-broadcaster-id", TWITCH_STREAMER[0])  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "disconnected" not in result.stdout
    assert not any(kick.tokens[token].revoked for token in tokens["kick"])
    assert _connected(env) == {
        kick_connections.name: [KICK_STREAMER[0]],
        twitch_connections.name: [TWITCH_STREAMER[0]],
    }
