"""KICK_CHANNEL with DISCORD_GUILD_ID: the guild follows that channel from the start, resolved
through the fake Kick on 127.0.0.1 by a real Runtime."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.events import Platform
from core.features.connections.tables import kick_connections
from core.features.guilds.repository import TrackedChannel
from core.runtime import Runtime
from tests.fakes.kick_runtime import runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.support.connections import store_connection

GUILD = 424242424242424242
STREAMER_ID = 7777


def clock() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def fake_kick() -> Iterator[FakeKick]:
    with FakeKick(username="streamer", user_id=STREAMER_ID) as fake:
        fake.add_channel("other", 8888)
        yield fake


@pytest.fixture
def runtimes(tmp_path: Path) -> Iterator[list[Runtime]]:
    built: list[Runtime] = []
    yield built
    for runtime in built:
        runtime.close()


def runtime_with(fake: FakeKick, tmp_path: Path, built: list[Runtime], **values: str) -> Runtime:
    runtime = runtime_on_fake_kick(fake, tmp_path / "data", clock, **values)
    built.append(runtime)
    return runtime


def start(runtime: Runtime) -> None:
    """The start-up step as run_pipeline runs it (it returns once it has nothing left to do)."""
    asyncio.run(asyncio.wait_for(runtime.default_channel.run(asyncio.Event()), timeout=10))


def test_the_guild_follows_kick_channel_at_start_without_any_command(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="Streamer", DISCORD_GUILD_ID=str(GUILD)
    )
    assert runtime.guilds.kick_channel_of(GUILD) is None

    start(runtime)

    channel = fake_kick.channels["streamer"]
    assert runtime.guilds.kick_channel_of(GUILD) == TrackedChannel(
        GUILD, Platform.KICK, "streamer", str(STREAMER_ID), channel.channel_id, channel.chatroom_id
    )
    assert runtime.guilds.guilds_tracking(Platform.KICK, str(STREAMER_ID)) == [GUILD]


def test_a_second_start_asks_kick_nothing(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    values = {"KICK_CHANNEL": "streamer", "DISCORD_GUILD_ID": str(GUILD)}
    start(runtime_with(fake_kick, tmp_path, runtimes, **values))
    asked = len(fake_kick.requests)

    start(runtime_with(fake_kick, tmp_path, runtimes, **values))

    assert len(fake_kick.requests) == asked


def test_a_changed_kick_channel_replaces_the_earlier_one(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="other", DISCORD_GUILD_ID=str(GUILD)
    )
    runtime.guilds.set_kick_channel(GUILD, "streamer", str(STREAMER_ID))

    start(runtime)

    followed = runtime.guilds.kick_channel_of(GUILD)
    assert followed is not None
    assert (followed.channel_slug, followed.broadcaster_user_id) == ("other", "8888")


def test_a_changed_kick_channel_disconnects_the_streamer_of_the_earlier_one(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    """As !kick setup of another channel does: the earlier streamer's grant is given back to
    Kick, not kept (and refreshed) for a channel the server no longer follows."""
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="other", DISCORD_GUILD_ID=str(GUILD)
    )
    runtime.guilds.set_kick_channel(GUILD, "streamer", str(STREAMER_ID))
    tokens = (fake_kick.issue_user_token(), fake_kick.issue_refresh_token())
    streamer = (str(STREAMER_ID), "streamer")
    store_connection(runtime.engine, runtime.cipher, kick_connections, GUILD, streamer, tokens)

    start(runtime)

    assert not runtime.kick_connections.status(GUILD).is_connected
    assert not fake_kick.is_token_active(tokens[0])


def test_the_same_kick_channel_keeps_its_streamer_connected(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="streamer", DISCORD_GUILD_ID=str(GUILD)
    )
    tokens = (fake_kick.issue_user_token(), fake_kick.issue_refresh_token())
    streamer = (str(STREAMER_ID), "streamer")
    store_connection(runtime.engine, runtime.cipher, kick_connections, GUILD, streamer, tokens)

    start(runtime)

    assert runtime.guilds.kick_channel_of(GUILD) is not None
    assert runtime.kick_connections.status(GUILD).is_connected
    assert fake_kick.is_token_active(tokens[0])


def test_without_a_kick_app_the_site_gives_the_broadcaster(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    runtime = runtime_with(
        fake_kick,
        tmp_path,
        runtimes,
        KICK_CHANNEL="streamer",
        DISCORD_GUILD_ID=str(GUILD),
        KICK_CLIENT_ID="",
        KICK_CLIENT_SECRET="",
    )

    start(runtime)

    followed = runtime.guilds.kick_channel_of(GUILD)
    assert followed is not None
    assert followed.broadcaster_user_id == str(STREAMER_ID)


def test_an_unknown_channel_is_logged_and_nothing_is_followed(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime], caplog: pytest.LogCaptureFixture
) -> None:
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="nosuchchannel", DISCORD_GUILD_ID=str(GUILD)
    )

    start(runtime)

    assert runtime.guilds.kick_channel_of(GUILD) is None
    assert "KICK_CHANNEL nosuchchannel: Kick has no channel of that name" in caplog.text


def test_when_kick_cannot_be_asked_it_tries_again_until_it_can(
    fake_kick: FakeKick, tmp_path: Path, runtimes: list[Runtime]
) -> None:
    runtime = runtime_with(
        fake_kick, tmp_path, runtimes, KICK_CHANNEL="streamer", DISCORD_GUILD_ID=str(GUILD)
    )
    runtime.default_channel.retry_seconds = 0.05
    fake_kick.fail_next("/public/v1/channels", 503, times=2)

    start(runtime)

    assert runtime.guilds.kick_channel_of(GUILD) is not None


def test_kick_channel_without_discord_guild_id_is_a_settings_problem() -> None:
    from core.config import SettingsError, load_settings

    with pytest.raises(SettingsError) as raised:
        load_settings({"KICK_CHANNEL": "streamer"}, env_file=None)

    assert raised.value.problems == [
        "KICK_CHANNEL needs DISCORD_GUILD_ID, the id of the Discord server that follows it"
    ]
