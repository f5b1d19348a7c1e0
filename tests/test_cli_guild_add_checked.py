"""``python -m core guild add`` checks the channels it is given with Kick and Twitch (the fakes,
over loopback) before it stores anything: a typed broadcaster id must be the channel's, a left
out one is looked up, and every way the check fails is one plain line, a non-zero exit status
and nothing stored."""

from __future__ import annotations

import pytest

from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.support.fake_apps import with_fake_apps
from tests.support.loopback_only import NOBODY
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture

KICK = ("4242", "somestreamer")
TWITCH = ("141981764", "some_streamer")


@pytest.fixture
def kick():
    with FakeKick(user_id=int(KICK[0]), username=KICK[1]) as fake:
        fake.add_channel("otherstreamer", 5151)
        yield fake


@pytest.fixture
def twitch():
    with FakeTwitch(user_id=TWITCH[0], login=TWITCH[1]) as fake:
        fake.add_channel("7777", "otherone")
        yield fake


@pytest.fixture
def env(cli_env, kick, twitch):  # noqa: F811
    return with_fake_apps(cli_env, kick, twitch)


def _add(env, *flags: str):
    return cli(env, "guild", "add", GUILD, *flags)


def _refused(result, line: str, status: int) -> None:
    assert result.returncode == status, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == line, result.stderr
    assert result.stdout == ""


def _nothing_stored(env) -> None:
    shown = cli(env, "guild", "show", GUILD)
    assert shown.returncode == 2, shown.stdout
    assert "is not set up" in shown.stderr


def test_typed_ids_that_are_the_channels_are_stored_and_said_checked(env):
    added = _add(env, "--kick-channel", KICK[1], "--kick-broadcaster-id", KICK[0],
                 "--twitch-channel", TWITCH[1], "--twitch-broadcaster-id", TWITCH[0])  # fmt: skip

    assert added.returncode == 0, added.stderr
    assert "kick: somestreamer (broadcaster id 4242)" in added.stdout
    assert "twitch: some_streamer (broadcaster id 141981764)" in added.stdout
    assert "Checked with Kick: somestreamer has broadcaster id 4242." in added.stdout
    assert "Checked with Twitch: some_streamer has broadcaster id 141981764." in added.stdout


def test_ids_left_out_are_looked_up_from_the_channel_names(env):
    added = _add(env, "--kick-channel", "SomeStreamer", "--twitch-channel", "Some_Streamer")

    assert added.returncode == 0, added.stderr
    shown = cli(env, "guild", "show", GUILD)
    assert "kick: somestreamer (broadcaster id 4242)" in shown.stdout
    assert "twitch: some_streamer (broadcaster id 141981764)" in shown.stdout


def test_a_kick_id_of_another_channel_is_refused_naming_both(env):
    result = _add(env, "--kick-channel", KICK[1], "--kick-broadcaster-id", "5151")

    _refused(
        result,
        "Kick says somestreamer's broadcaster id is 4242, not 5151 (that is Kick's "
        "otherstreamer); nothing was stored. Run again with 4242, or without the id to take "
        "Kick's.",
        2,
    )
    _nothing_stored(env)


def test_a_twitch_id_of_another_channel_is_refused_naming_both(env):
    result = _add(env, "--twitch-channel", TWITCH[1], "--twitch-broadcaster-id", "7777")

    _refused(
        result,
        "Twitch says some_streamer's broadcaster id is 141981764, not 7777 (that is Twitch's "
        "otherone); nothing was stored. Run again with 141981764, or without the id to take "
        "Twitch's.",
        2,
    )
    _nothing_stored(env)


def test_an_id_nobody_has_is_refused_with_the_channels_own(env):
    result = _add(env, "--kick-channel", KICK[1], "--kick-broadcaster-id", "999")

    assert result.returncode == 2
    assert "broadcaster id is 4242, not 999 (no Kick channel has it)" in result.stderr
    _nothing_stored(env)


@pytest.mark.parametrize(
    ("flag", "line"),
    [
        (
            "--kick-channel",
            "Kick has no channel called 'nobodyhere'. Check the name in its kick.com link.",
        ),
        ("--twitch-channel", "Twitch has no channel called 'nobodyhere'. Check its name."),
    ],
)
def test_an_unknown_channel_is_refused(env, flag, line):
    _refused(_add(env, flag, "nobodyhere"), line, 2)
    _nothing_stored(env)


def test_a_refused_twitch_channel_stores_the_checked_kick_one_neither(env):
    result = _add(env, "--kick-channel", KICK[1], "--kick-broadcaster-id", KICK[0],
                  "--twitch-channel", TWITCH[1], "--twitch-broadcaster-id", "7777")  # fmt: skip

    assert result.returncode == 2
    _nothing_stored(env)


def test_kick_failing_is_said_and_nothing_stored(env, kick):
    kick.fail_next("/public/v1/channels", 503, times=20)

    _refused(
        _add(env, "--kick-channel", KICK[1], "--kick-broadcaster-id", KICK[0]),
        "Kick could not be asked who somestreamer is (answered 503); nothing was stored. Try "
        "again later, or run again with --unchecked to store the ids as typed.",
        1,
    )
    _nothing_stored(env)


def test_twitch_unreachable_is_said_and_nothing_stored(env):
    env = env | {"TWITCH_API_BASE_URL": NOBODY}

    _refused(
        _add(env, "--twitch-channel", TWITCH[1]),
        "Twitch could not be asked who some_streamer is (no answer); nothing was stored. Try "
        "again later, or run again with --unchecked to store the ids as typed.",
        1,
    )
    _nothing_stored(env)


def test_an_app_secret_the_platform_refuses_is_a_setting_to_fix(env):
    env = env | {"KICK_CLIENT_SECRET": "not-the-secret"}

    _refused(
        _add(env, "--kick-channel", KICK[1]),
        "Kick refused this bot's app (answered 401), so somestreamer was not checked: check "
        "KICK_CLIENT_ID and KICK_CLIENT_SECRET.",
        2,
    )
    _nothing_stored(env)


@pytest.mark.parametrize(
    ("flags", "line"),
    [
        (
            ("--kick-channel", KICK[1], "--kick-broadcaster-id", KICK[0]),
            "This bot has no Kick app, so the Kick channel cannot be checked: set KICK_CLIENT_ID "
            "and KICK_CLIENT_SECRET (kick.com/settings/developer), or run again with --unchecked "
            "to store the ids as typed, unchecked.",
        ),
        (
            ("--twitch-channel", TWITCH[1]),
            "This bot has no Twitch app, so the Twitch channel cannot be checked: set "
            "TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET (dev.twitch.tv/console), or run again "
            "with --unchecked to store the ids as typed, unchecked.",
        ),
    ],
)
def test_without_an_app_the_command_names_the_settings(cli_env, flags, line):  # noqa: F811
    _refused(_add(cli_env, *flags), line, 2)
    _nothing_stored(cli_env)


def test_unchecked_stores_the_ids_as_typed_and_says_so(cli_env):  # noqa: F811
    added = _add(cli_env, "--unchecked", "--kick-channel", "k", "--kick-broadcaster-id", "1")

    assert added.returncode == 0, added.stderr
    assert "kick: k (broadcaster id 1)" in added.stdout
    assert (
        "Not checked with Kick (--unchecked): the channel and broadcaster id are stored as typed."
        in added.stdout
    )


def test_unchecked_needs_the_broadcaster_id(cli_env):  # noqa: F811
    result = _add(cli_env, "--unchecked", "--twitch-channel", "t_1")

    assert result.returncode == 2
    assert "--twitch-channel and --twitch-broadcaster-id go together with --unchecked" in (
        result.stderr
    )
    _nothing_stored(cli_env)
