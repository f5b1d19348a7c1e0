"""``python -m core overlay url``: the full URL from OAUTH_BASE_URL, the same until rotated, and
one plain line for every mistake."""

from __future__ import annotations

import pytest

from tests.support.fake_apps import apps_knowing
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401


@pytest.fixture
def env(cli_env):  # noqa: F811
    env = cli_env | {"OAUTH_BASE_URL": "https://bot.example.org"}
    with apps_knowing(env, kick=("streamer", "4242")) as checking:
        added = cli(checking, "guild", "add", GUILD, "--kick-channel", "streamer",
                    "--kick-broadcaster-id", "4242")  # fmt: skip
    assert added.returncode == 0, added.stderr
    return env


def url(env, *extra: str) -> str:
    done = cli(env, "overlay", "url", "--guild", GUILD, "--kind", "alerts", *extra)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_url_is_printed_whole_stays_and_rotates(env, make_runtime):
    first = url(env)
    assert first.startswith("https://bot.example.org/overlay/")
    assert len(first.removeprefix("https://bot.example.org/overlay/")) == 32
    assert url(env) == first
    rotated = url(env, "--rotate")
    assert rotated != first
    assert url(env) == rotated
    runtime = make_runtime(DATA_DIR=env["DATA_DIR"])
    assert runtime.overlays.open(first.rsplit("/", 1)[1]) is None
    opened = runtime.overlays.open(rotated.rsplit("/", 1)[1])
    assert (opened.guild_id, opened.kind) == (int(GUILD), "alerts")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["overlay", "url", "--guild", "999", "--kind", "alerts"], "Guild 999 is not set up"),
        (["overlay", "url", "--guild", GUILD, "--kind", "chat"], "invalid choice"),
        (["overlay", "url", "--guild", "x", "--kind", "heist"], "--guild: must be a whole number"),
        (["overlay", "url", "--kind", "heist"], "--guild"),
        (["overlay"], "Say what to do"),
    ],
)
def test_mistakes_get_one_plain_line(env, args, message):
    done = cli(env, *args)
    assert done.returncode == 2  # what was typed cannot be used, as for a usage error
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
