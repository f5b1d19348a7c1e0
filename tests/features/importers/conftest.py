"""The other bot's database, built and filled afresh for each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.guilds.repository import TrackedChannel, set_channel
from core.features.viewers.repository import remember_viewers
from tests.conftest import TEST_FERNET_KEY, _fresh_postgres_database
from tests.fakes.kick_server import FakeKick
from tests.fakes.streamelements_server import OWNER_ID, OWNER_LOGIN
from tests.features.importers import kwb_rows
from tests.features.importers.kwb_rows import BOB
from tests.test_cli import cli_env  # noqa: F401 - a fixture, for env below

NOW = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def source_url(postgres_url: str) -> str:
    """A kick-watchtime-bot database (kwb_rows.py) on the test PostgreSQL server."""
    url = _fresh_postgres_database(postgres_url)
    kwb_rows.build_schema(url)
    kwb_rows.fill(url)
    return url


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    """A fake Kick that knows the accounts of kwb_rows.ACCOUNTS."""
    with FakeKick() as fake:
        for user_id, name, slug in kwb_rows.ACCOUNTS:
            fake.add_user(user_id, name)
            fake.add_channel(slug, user_id)
        yield fake


@pytest.fixture
def period_id(engine: sa.Engine) -> int:
    """Guilds A and B as kwb_rows.prepare_target makes them; the open period of A."""
    period = kwb_rows.prepare_target(engine, NOW)
    assert period is not None
    return period


@pytest.fixture
def env(cli_env: dict[str, str], make_runtime) -> dict[str, str]:  # noqa: F811 - cli_env
    """Guilds A and B in the CLI's database (SQLite under DATA_DIR); bob seen in Kick chat. A's
    Twitch channel is the fake StreamElements channel's streamer's."""
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    kwb_rows.prepare_target(runtime.engine, NOW)
    with runtime.engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer(str(BOB[0]), "bob")], NOW)
        streamer = TrackedChannel(kwb_rows.SERVER_A, Platform.TWITCH, OWNER_LOGIN, OWNER_ID)
        set_channel(conn, streamer, NOW)
    runtime.close()
    return {
        **cli_env,
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "FLASK_SECRET_KEY": "cli-import-test-a-key-of-32-characters-or-more",
    }
