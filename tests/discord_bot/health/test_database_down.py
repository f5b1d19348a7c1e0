"""!health while the database does not answer: when an admin needs it most."""

from __future__ import annotations

from collections.abc import Iterator

import discord
import pytest

from core.config import load_settings
from core.discord_bot.render import RED, YELLOW
from core.discord_bot.services import BotServices
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import say
from tests.services import free_port


@pytest.fixture
def runtime(kick_keys) -> Iterator[Runtime]:  # type: ignore[no-untyped-def]
    """A runtime whose PostgreSQL does not answer (nothing listens on its port)."""
    settings = load_settings(
        {
            "DATABASE_URL": f"postgres://sk:s3cret@127.0.0.1:{free_port()}/sk",
            "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
        },
        env_file=None,
    )
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    return runtime.bot_services()


async def test_health_says_the_database_fails_and_what_it_could_not_read(
    manager: discord.Member,
) -> None:
    [reply] = await say("!health", manager)

    lines = reply.content.splitlines()
    assert lines[0].startswith(f"{RED} **Failing**")
    # The failure in plain words: the host, port and driver error are the operator's.
    assert (
        f"{RED} FAIL database: does not work; the bot's operator sees why in "
        "'python -m core health'" in lines
    )
    assert "127.0.0.1" not in reply.content
    assert "Could not connect" not in reply.content
    # Not read, so not known to work: yellow, not green.
    assert f"{YELLOW} WARN kick and twitch: not checked: the database did not answer" in lines
    assert "Something went wrong" not in reply.content
    assert "s3cret" not in reply.content


def test_a_servers_process_checks_say_the_database_fails_without_the_operators_details(
    runtime: Runtime,
) -> None:
    # What the dashboard's overview shows before the server's own lines.
    lines = runtime.process_health().lines()

    assert (
        "FAIL database: does not work; the bot's operator sees why in 'python -m core health'"
        in lines
    )
    assert "127.0.0.1" not in "\n".join(lines)
    # the operator's shell keeps the detail
    assert any("127.0.0.1" in line for line in runtime.health().lines())
