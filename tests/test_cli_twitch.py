"""``python -m core guild add ... --twitch-channel`` and ``export`` of Twitch viewers, run as real
processes (the CLI contract of issue 13)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core.events import Platform
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.events import chat_message
from tests.support.fake_apps import with_fake_apps
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


@pytest.fixture
def kick():
    with FakeKick(user_id=4242, username="somestreamer") as fake:
        fake.add_channel("k", 1)
        yield fake


@pytest.fixture
def twitch():
    with FakeTwitch(user_id="141981764", login="some_streamer") as fake:
        fake.add_channel("2", "t_1")
        yield fake


def test_guild_add_with_kick_and_twitch_then_show(cli_env, kick, twitch):  # noqa: F811
    env = with_fake_apps(cli_env, kick, twitch)  # the channels are checked with them
    added = cli(
        env,
        *("guild", "add", GUILD),
        *("--kick-channel", "SomeStreamer", "--kick-broadcaster-id", "4242"),
        *("--twitch-channel", "Some_Streamer", "--twitch-broadcaster-id", "141981764"),
    )
    assert added.returncode == 0, added.stderr
    shown = cli(env, "guild", "show", GUILD)
    assert "kick: somestreamer (broadcaster id 4242)" in shown.stdout
    assert "twitch: some_streamer (broadcaster id 141981764)" in shown.stdout


def test_guild_add_with_twitch_alone_keeps_the_kick_channel(cli_env, kick, twitch):  # noqa: F811
    env = with_fake_apps(cli_env, kick, twitch)
    cli(env, "guild", "add", GUILD, "--kick-channel", "k", "--kick-broadcaster-id", "1")
    added = cli(
        env, "guild", "add", GUILD, "--twitch-channel", "t_1", "--twitch-broadcaster-id", "2"
    )
    assert added.returncode == 0, added.stderr
    assert "kick: k (broadcaster id 1)" in added.stdout
    assert "twitch: t_1 (broadcaster id 2)" in added.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--twitch-channel", "a b", "--twitch-broadcaster-id", "1"], "is not a Twitch login"),
        (["--twitch-channel", "ok", "--twitch-broadcaster-id", "abc"], "is not a Twitch user id"),
        (["--twitch-broadcaster-id", "1"], "--twitch-broadcaster-id goes with --twitch-channel"),
        ([], "Give a channel"),
    ],
)
def test_twitch_mistakes_get_one_plain_line(cli_env, args, message):  # noqa: F811
    result = cli(cli_env, "guild", "add", GUILD, *args)
    assert result.returncode == 2  # what was typed cannot be used
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_export_rows_of_twitch_viewers_carry_the_platform_and_twitch_user_id(
    cli_env,  # noqa: F811
    make_runtime,
):
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_twitch_channel(int(GUILD), "streamer", "1971641")
    now = datetime.now(UTC).replace(microsecond=0)
    runtime.tick_all(now - timedelta(seconds=60))
    chat = chat_message(
        platform=Platform.TWITCH,
        broadcaster="1971641",
        user_id="4145994",
        username="viewer32",
        at=now - timedelta(seconds=10),
        event_id="cc106a89-1814-919d-454c-f4f2f970aae7",
    )
    runtime.watchtime.record_chat(int(GUILD), chat)
    runtime.tick_all(now)

    as_json = cli(cli_env, "export", "--guild", GUILD, "--format", "json")
    as_csv = cli(cli_env, "export", "--guild", GUILD, "--format", "csv")

    [record] = json.loads(as_json.stdout)
    assert (record["platform"], record["platform_user_id"], record["username"]) == (
        "twitch",
        "4145994",
        "viewer32",
    )
    assert as_csv.stdout.splitlines()[1].startswith("twitch,4145994,viewer32,60,")
