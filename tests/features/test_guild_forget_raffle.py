"""``guild remove --yes`` of a server with a closed, drawn raffle period and an open one: the
open period goes, the closed period's proof stays and still verifies; on SQLite and on
PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.features.schema import all_tables
from tests.conftest import TEST_FERNET_KEY
from tests.features.test_person_data import seeded  # noqa: F401 - a fixture
from tests.features.test_person_forget import (  # noqa: F401 - with_raffle: a fixture
    assert_proof_still_verifies,
    with_raffle,
)
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


@pytest.fixture(autouse=True)
def _on_each_database(cli_env, migrated_database_url):  # noqa: F811
    """The commands and the seeded data on one migrated database, SQLite or PostgreSQL (autouse:
    set before ``seeded`` reads it)."""
    cli_env.update(
        DATABASE_URL=migrated_database_url,
        FLASK_SECRET_KEY="guild-remove-test-secret-a-key-of-32-characters-or-more",
        TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
    )


def test_remove_keeps_the_closed_periods_proof(cli_env, with_raffle):  # noqa: F811
    runtime, closed = with_raffle
    guild = int(GUILD)
    runtime.guilds.ensure_guild(guild)
    runtime.guilds.mark_left(guild)

    result = cli(cli_env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    tables = all_tables().tables
    with runtime.engine.connect() as conn:
        periods = conn.execute(
            sa.select(tables["raffle_periods"].c.id).where(
                tables["raffle_periods"].c.guild_id == guild
            )
        ).scalars()
        assert list(periods) == [closed.id]
        for name in ("watchtime", "points_ledger", "kick_connections", "directory_members"):
            table = tables[name]
            left = conn.execute(sa.select(table).where(table.c.guild_id == guild)).all()
            assert left == [], name
        # The open period's ledger and standings went with it; the closed one's stayed.
        for name in ("raffle_ledger", "raffle_balances"):
            table = tables[name]
            left = conn.execute(sa.select(table.c.period_id).where(table.c.guild_id == guild))
            assert set(left.scalars()) == {closed.id}, name
    assert "  raffle_periods: 1 deleted, 1 kept (a closed period" in result.stdout
    assert_proof_still_verifies(cli_env, closed.id)
