"""``python -m core guild remove --yes`` of a server connected to Kick and Twitch: it gives the
streamer's tokens back to the fakes over loopback and says so; a platform that cannot be reached,
or refuses, is named with where the streamer revokes the app, and the rows go all the same. On
SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.features.connections.tables import kick_connections, twitch_connections
from core.features.guild_forget import guild_tables
from core.features.guilds.service import GuildService
from core.security.secrets import TokenCipher
from core.storage.db import create_engine
from tests.conftest import TEST_FERNET_KEY
from tests.fakes import kick_server, twitch_server
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.connections import store_connection
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture

KICK_STREAMER = ("1001", "streamer")
TWITCH_STREAMER = ("141981764", "twitchdev")
REVOKE_IN = "the streamer may revoke the app in their {} settings."


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


def platforms_env(cli_env, database_url: str, kick: FakeKick, twitch: FakeTwitch) -> dict:  # noqa: F811
    """The command's settings: the database, and the apps of the fake Kick and Twitch."""
    cli_env.update(
        DATABASE_URL=database_url,
        FLASK_SECRET_KEY="guild-remove-test-secret-a-key-of-32-characters-or-more",
        TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
        KICK_CLIENT_ID=kick_server.CLIENT_ID,
        KICK_CLIENT_SECRET=kick_server.CLIENT_SECRET,
        KICK_OAUTH_BASE_URL=kick.url,
        KICK_API_BASE_URL=kick.url,
        KICK_PUSHER_ENABLED="false",
        TWITCH_CLIENT_ID=twitch_server.CLIENT_ID,
        TWITCH_CLIENT_SECRET=twitch_server.CLIENT_SECRET,
        TWITCH_OAUTH_BASE_URL=twitch.oauth_url,
        TWITCH_API_BASE_URL=twitch.helix_url,
    )
    return cli_env


@pytest.fixture
def tokens(env, kick, twitch) -> dict[str, tuple[str, str]]:
    """The server, connected to both platforms with tokens they issued, which the bot left.
    Each platform's (access, refresh) tokens."""
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
    GuildService(engine, lambda: datetime(2030, 6, 1, tzinfo=UTC)).mark_left(guild)
    engine.dispose()
    return issued


def _rows_left(env: dict[str, str]) -> list[str]:
    """The tables still holding a row of the server."""
    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as conn:
        left = [
            t.name
            for t in guild_tables()
            if conn.execute(sa.select(t).where(t.c.guild_id == int(GUILD))).first()
        ]
    engine.dispose()
    return left


def test_the_tokens_are_given_back_then_the_rows_go(env, kick, twitch, tokens):
    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "Kick: the streamer's tokens were revoked.",
        "Twitch: the streamer's tokens were revoked.",
    ]
    revoked = [(r.query["token"], r.query["token_hint_type"])
               for r in kick.requests_to("/oauth/revoke")]  # fmt: skip
    assert revoked == [([tokens["kick"][0]], ["access_token"]),
                       ([tokens["kick"][1]], ["refresh_token"])]  # fmt: skip
    assert [r.form["token"] for r in twitch.requests_to("/oauth2/revoke")] == list(tokens["twitch"])
    assert all(kick.tokens[token].revoked for token in tokens["kick"])
    assert all(twitch.tokens[token].revoked for token in tokens["twitch"])
    assert _rows_left(env) == []


def test_a_platform_down_or_refusing_is_named_and_the_rows_go_all_the_same(
    env, kick, twitch, tokens
):
    kick.stop()  # nothing listens on its port any more
    twitch.fail_next("/oauth2/revoke", 400, times=2)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [
        "Kick could not be reached to revoke the tokens: " + REVOKE_IN.format("Kick"),
        "Twitch did not take the tokens back: " + REVOKE_IN.format("Twitch"),
    ]
    assert "Traceback" not in result.stderr
    assert not any(twitch.tokens[token].revoked for token in tokens["twitch"])
    assert _rows_left(env) == []


def test_a_token_this_key_cannot_read_is_named_and_the_rows_go_all_the_same(
    env, kick, twitch, tokens
):
    """A TOKEN_ENCRYPTION_KEY changed since Twitch was connected: its tokens cannot be sent back,
    and the printout does not say they were revoked."""
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(sa.update(twitch_connections).values(access_token="not a sealed token"))
    engine.dispose()

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "Kick: the streamer's tokens were revoked.",
        "Twitch: a token this TOKEN_ENCRYPTION_KEY cannot read was not revoked: "
        + REVOKE_IN.format("Twitch"),
    ]
    assert [r.form["token"] for r in twitch.requests_to("/oauth2/revoke")] == [tokens["twitch"][1]]
    assert _rows_left(env) == []
