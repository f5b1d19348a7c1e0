"""The overview's "last event" lines in a split deployment: the bot process handles the events,
the web process (which dispatches none) shows when each kind last came, from the database both
share, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from core.config import load_settings
from core.events import Platform
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.support.events import chat_message
from tests.web.dashboard.conftest import GUILD, OTHER_GUILD

BROADCASTER = "4242"


@pytest.fixture
def site_settings(migrated_database_url) -> dict[str, str]:
    return {"DATABASE_URL": migrated_database_url}


@pytest.fixture
def bot(tmp_path, migrated_database_url) -> Iterator[Runtime]:
    """The bot process: its own runtime over the web's database."""
    values = {
        "DATA_DIR": str(tmp_path / "bot-data"),
        "DATABASE_URL": migrated_database_url,
        "FLASK_SECRET_KEY": "dashboard-tests-secret-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "KICK_PUSHER_ENABLED": "false",
    }
    runtime = Runtime(load_settings(values, env_file=None))
    yield runtime
    runtime.close()


def _line(text: str, check: str) -> str | None:
    """The detail of the overview's ``check`` row, or None."""
    marker = f'<td data-label="Check">{check}</td>'
    if marker not in text:
        return None
    row = text.split(marker, 1)[1].split("</tr>", 1)[0]
    return row.rsplit('<td data-label="Detail">', 1)[1].removesuffix("</td>")


def test_the_web_process_shows_the_last_event_the_bot_process_handled(site, bot):
    site.runtime.guilds.set_kick_channel(GUILD, "streamer", BROADCASTER)
    site.runtime.guilds.set_kick_channel(OTHER_GUILD, "another", "5353")
    client = site.client(manages=(GUILD, OTHER_GUILD))
    assert _line(client.get(f"/dashboard/{GUILD}/").text, "last event") == (
        "none since the bot started (normal while offline)"
    )
    said = datetime.now(UTC) - timedelta(minutes=5)
    asyncio.run(bot.dispatcher(chat_message("hi", broadcaster=BROADCASTER, at=said)))
    # The same kind on another platform, and another channel, are not this server's.
    later = said + timedelta(minutes=3)
    asyncio.run(
        bot.dispatcher(
            chat_message("yo", platform=Platform.TWITCH, broadcaster=BROADCASTER, at=later)
        )
    )
    asyncio.run(bot.dispatcher(chat_message("yo", broadcaster="5353", at=later)))

    page = client.get(f"/dashboard/{GUILD}/").text

    assert site.runtime.dispatcher.last_events(BROADCASTER) == {}  # the web handled nothing
    assert _line(page, "last chat message sent") == "5 minutes ago"
    assert _line(page, "last event") is None
    assert _line(client.get(f"/dashboard/{OTHER_GUILD}/").text, "last chat message sent") == (
        "2 minutes ago"
    )
