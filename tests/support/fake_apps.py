"""The settings that give a ``python -m core`` command the bot's Kick and Twitch apps on the
fakes (``tests/fakes/kick_server.py``, ``tests/fakes/twitch_server.py``) over loopback:
``guild add`` checks the channels it is given with them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from tests.fakes import kick_server, twitch_server
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch


def with_fake_apps(
    env: dict[str, str], kick: FakeKick | None = None, twitch: FakeTwitch | None = None
) -> dict[str, str]:
    """``env`` with the apps of ``kick`` and ``twitch`` (those given)."""
    env = dict(env)
    if kick is not None:
        env.update(
            KICK_CLIENT_ID=kick_server.CLIENT_ID,
            KICK_CLIENT_SECRET=kick_server.CLIENT_SECRET,
            KICK_OAUTH_BASE_URL=kick.url,
            KICK_API_BASE_URL=kick.url,
            KICK_SITE_BASE_URL=kick.url,
            KICK_PUSHER_ENABLED="false",
        )
    if twitch is not None:
        env.update(
            TWITCH_CLIENT_ID=twitch_server.CLIENT_ID,
            TWITCH_CLIENT_SECRET=twitch_server.CLIENT_SECRET,
            TWITCH_OAUTH_BASE_URL=twitch.oauth_url,
            TWITCH_API_BASE_URL=twitch.helix_url,
        )
    return env


@contextmanager
def apps_knowing(
    env: dict[str, str],
    *,
    kick: tuple[str, str] | None = None,
    twitch: tuple[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """``env`` with the apps of a fake Kick and/or Twitch on which the channel ``kick`` /
    ``twitch`` (name, broadcaster id) exists, while the block runs: for a test that sets a
    server up with ``guild add`` (which checks the channels) and is about something else."""
    with ExitStack() as stack:
        fake_kick = fake_twitch = None
        if kick is not None:
            fake_kick = stack.enter_context(FakeKick(user_id=int(kick[1]), username=kick[0]))
        if twitch is not None:
            fake_twitch = stack.enter_context(FakeTwitch(user_id=twitch[1], login=twitch[0]))
        yield with_fake_apps(env, fake_kick, fake_twitch)
