"""``python -m core guild remove --yes`` of a server connected to Kick and Twitch deletes the
channels' event subscriptions at the fakes over loopback (Kick's webhooks, Twitch's EventSub)
and says so; they stay while another server needs them (on Kick one that follows the channel,
on Twitch one connected as its streamer); a platform that cannot be reached is named with what
happens to them, and the rows go all the same. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa

from core.features.connections.connection_rows import NEEDS_REAUTH
from core.features.connections.tables import kick_connections, twitch_connections
from core.features.guilds.service import GuildService
from core.security.secrets import TokenCipher
from core.storage.db import create_engine
from tests.conftest import TEST_FERNET_KEY
from tests.fakes import twitch_server
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.connections import store_connection
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture
from tests.test_cli_guild_remove_tokens import (
    KICK_STREAMER,
    TWITCH_STREAMER,
    _rows_left,
    platforms_env,
)

OTHER = "223456789012345678"
PUBLIC_URL = "https://bot.example.org"  # only named in the subscriptions: nothing calls it
CALLBACK = f"{PUBLIC_URL}/webhooks/twitch"
ANOTHER_KICK_CHANNEL = 2002  # a channel of another streamer, whose subscriptions stay
ANOTHER_TWITCH_CHANNEL = "99999"


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
    """Twitch's EventSub by webhooks (a public HTTPS address and a secret), Kick's webhooks."""
    env = platforms_env(cli_env, migrated_database_url, kick, twitch)
    env.update(OAUTH_BASE_URL=PUBLIC_URL, TWITCH_EVENTSUB_SECRET="eventsub-secret-for-tests")
    return env


def _connect(env, kick, twitch, guild: str) -> None:  # type: ignore[no-untyped-def]
    """The server follows the streamer's channels and is connected as them."""
    added = cli(env, "guild", "add", guild, "--kick-channel", KICK_STREAMER[1],
                "--kick-broadcaster-id", KICK_STREAMER[0], "--twitch-channel",
                TWITCH_STREAMER[1], "--twitch-broadcaster-id", TWITCH_STREAMER[0])  # fmt: skip
    assert added.returncode == 0, added.stderr
    engine, cipher = create_engine(env["DATABASE_URL"]), TokenCipher(TEST_FERNET_KEY)
    kick_tokens = (kick.issue_user_token(), kick.issue_refresh_token())
    twitch_tokens = (twitch.issue_user_token(), twitch.issue_refresh_token())
    store_connection(engine, cipher, kick_connections, int(guild), KICK_STREAMER, kick_tokens)
    store_connection(engine, cipher, twitch_connections, int(guild), TWITCH_STREAMER, twitch_tokens)
    engine.dispose()


def _left(env, guild: str) -> None:  # type: ignore[no-untyped-def]
    engine = create_engine(env["DATABASE_URL"])
    GuildService(engine, lambda: datetime(2030, 6, 1, tzinfo=UTC)).mark_left(int(guild))
    engine.dispose()


def _subscribe(kick: FakeKick, twitch: FakeTwitch) -> None:
    """The subscriptions the upkeep makes, made at the fakes: the streamer's channel's and
    another channel's, on each platform."""
    events = [{"name": name, "version": 1}
              for name in ("chat.message.sent", "livestream.status.updated")]  # fmt: skip
    app = {"Authorization": f"Bearer {kick.issue_app_token()}"}
    for broadcaster in (int(KICK_STREAMER[0]), ANOTHER_KICK_CHANNEL):
        body = {"broadcaster_user_id": broadcaster, "events": events, "method": "webhook"}
        made = httpx.post(f"{kick.url}/public/v1/events/subscriptions", json=body, headers=app)
        assert made.status_code == 200, made.text
    token = {"Authorization": f"Bearer {twitch.issue_app_token()}",
             "Client-Id": twitch_server.CLIENT_ID}  # fmt: skip
    transport = {"method": "webhook", "callback": CALLBACK, "secret": "eventsub-secret-for-tests"}
    for broadcaster in (TWITCH_STREAMER[0], ANOTHER_TWITCH_CHANNEL):
        for kind in ("stream.online", "channel.chat.message"):
            condition = {"broadcaster_user_id": broadcaster}
            if kind == "channel.chat.message":
                condition["user_id"] = broadcaster
            body = {"type": kind, "version": "1", "condition": condition, "transport": transport}
            made = httpx.post(f"{twitch.helix_url}/eventsub/subscriptions", json=body,
                              headers=token)  # fmt: skip
            assert made.status_code == 202, made.text


def _kick_channels(kick: FakeKick) -> list[int]:
    return sorted(s["broadcaster_user_id"] for s in kick.subscriptions.values())


def _twitch_channels(twitch: FakeTwitch) -> list[str]:
    return sorted(s["condition"]["broadcaster_user_id"] for s in twitch.eventsub.values())


def test_the_channels_subscriptions_are_deleted_with_the_server(env, kick, twitch):
    _connect(env, kick, twitch, GUILD)
    _left(env, GUILD)
    _subscribe(kick, twitch)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "Kick: the streamer's tokens were revoked.",
        "Twitch: the streamer's tokens were revoked.",
        "Kick: the channel's event subscriptions were deleted.",
        "Twitch: the channel's event subscriptions were deleted.",
    ]
    assert _kick_channels(kick) == [ANOTHER_KICK_CHANNEL] * 2
    assert _twitch_channels(twitch) == [ANOTHER_TWITCH_CHANNEL] * 2
    assert _rows_left(env) == []


def test_the_subscriptions_stay_while_another_server_is_connected_as_the_streamer(
    env, kick, twitch
):
    _connect(env, kick, twitch, GUILD)
    _connect(env, kick, twitch, OTHER)  # the same streamer's second server
    _left(env, GUILD)
    _subscribe(kick, twitch)
    before = (_kick_channels(kick), _twitch_channels(twitch))

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2:4] == [
        "Kick: the channel's event subscriptions stay: another server follows it.",
        "Twitch: the channel's event subscriptions stay: another server is connected as the "
        "same streamer.",
    ]
    assert (_kick_channels(kick), _twitch_channels(twitch)) == before
    assert _rows_left(env) == []


def test_a_server_that_only_follows_the_channel_keeps_kicks_subscriptions_not_twitchs(
    env, kick, twitch
):
    """Kick delivers a channel's events to every server following it, so they stay for one that
    only follows; Twitch's EventSub subscriptions are the app's, kept by the upkeep only while a
    server is connected as the streamer (it deletes the others' at its next pass) and living on
    the consent given back here: they go, and that server is told it gets no Twitch events."""
    _connect(env, kick, twitch, GUILD)
    added = cli(env, "guild", "add", OTHER, "--kick-channel", KICK_STREAMER[1],
                "--kick-broadcaster-id", KICK_STREAMER[0], "--twitch-channel",
                TWITCH_STREAMER[1], "--twitch-broadcaster-id", TWITCH_STREAMER[0])  # fmt: skip
    assert added.returncode == 0, added.stderr  # it follows both channels, connected to neither
    _left(env, GUILD)
    _subscribe(kick, twitch)
    kick_before = _kick_channels(kick)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[2:4] == [
        "Kick: the channel's event subscriptions stay: another server follows it.",
        "Twitch: the channel's event subscriptions were deleted. Another server follows the "
        "channel without being connected as its streamer: it gets none of the channel's events "
        "until the streamer connects Twitch there (!twitch setup).",
    ]
    assert _kick_channels(kick) == kick_before
    assert _twitch_channels(twitch) == [ANOTHER_TWITCH_CHANNEL] * 2
    assert _rows_left(env) == []


def test_a_platform_that_cannot_be_reached_is_named_and_the_server_goes_all_the_same(
    env, kick, twitch
):
    _connect(env, kick, twitch, GUILD)
    _left(env, GUILD)
    _subscribe(kick, twitch)
    subscribed = _twitch_channels(twitch)
    kick.stop()  # nothing listens on their ports any more
    twitch.stop()

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    for name in ("Kick", "Twitch"):
        assert (
            f"{name} could not be reached to delete the channel's event subscriptions: the "
            "running bot deletes them at its next check (every 30 minutes), and the streamer may "
            f"revoke the app in their {name} settings."
        ) in lines
    assert _twitch_channels(twitch) == subscribed
    assert _rows_left(env) == []


def test_the_subscriptions_stay_while_another_server_awaits_the_streamers_reconnect(
    env, kick, twitch
):
    """The streamer's second server whose grant needs a new consent (Twitch refused a refresh,
    the hourly check found it dead): the upkeep keeps the channel's subscriptions for it (its
    stream and raid events still come, and its new consent syncs), so they stay here too."""
    _connect(env, kick, twitch, GUILD)
    _connect(env, kick, twitch, OTHER)
    engine = create_engine(env["DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(
            sa.update(twitch_connections)
            .where(twitch_connections.c.guild_id == int(OTHER))
            .values(status=NEEDS_REAUTH)
        )
    engine.dispose()
    _left(env, GUILD)
    _subscribe(kick, twitch)
    before = _twitch_channels(twitch)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert (
        "Twitch: the channel's event subscriptions stay: another server is connected as the "
        "same streamer."
    ) in result.stdout.splitlines()
    assert _twitch_channels(twitch) == before
    assert _rows_left(env) == []
