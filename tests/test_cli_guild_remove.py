"""``python -m core guild remove``: without ``--yes`` it says per table what would go and what
stays and deletes nothing; it refuses a server not set up, and one the bot is still in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from core.features.guilds.service import GuildService
from core.features.schema import all_tables
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture

OTHER = "223456789012345678"
REMOVED_AT = datetime(2030, 6, 1, 20, 15, tzinfo=UTC)


def _engine(env: dict[str, str]) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{Path(env['DATA_DIR']) / 'streamkeeper.sqlite3'}")


def _set_up(env: dict[str, str], guild: str) -> None:
    added = cli(env, "guild", "add", guild, "--kick-channel", "streamer",
                "--kick-broadcaster-id", "4242")  # fmt: skip
    assert added.returncode == 0, added.stderr
    engine = _engine(env)
    watchtime = all_tables().tables["watchtime"]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(watchtime),
            [{"guild_id": int(guild), "platform": "kick", "platform_user_id": u, "seconds": 60}
             for u in ("1", "2")],
        )  # fmt: skip
    engine.dispose()


def _in_discord(env: dict[str, str], guild: str) -> None:
    engine = _engine(env)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(all_tables().tables["directory_guilds"]).values(
                guild_id=int(guild), name="Stream", can_manage_roles=True,
                updated_at=REMOVED_AT,
            )
        )  # fmt: skip
    engine.dispose()


def _rows(env: dict[str, str]) -> dict[str, list[tuple]]:
    engine = _engine(env)
    with engine.connect() as conn:
        rows = {
            t.name: sorted(map(tuple, conn.execute(sa.select(t))))
            for t in all_tables().sorted_tables
            if "guild_id" in t.c
        }
    engine.dispose()
    return rows


def test_a_dry_run_says_what_would_go_and_deletes_nothing(cli_env):  # noqa: F811
    _set_up(cli_env, GUILD)
    _set_up(cli_env, OTHER)
    before = _rows(cli_env)

    result = cli(cli_env, "guild", "remove", GUILD)

    assert result.returncode == 0, result.stderr
    assert "  watchtime: 2 would be deleted" in result.stdout
    assert "  guilds: 1 would be deleted" in result.stdout
    assert "  guild_channels: 1 would be deleted" in result.stdout
    assert result.stdout.rstrip().endswith("Nothing was deleted; run again with --yes to delete.")
    assert _rows(cli_env) == before


def test_a_guild_not_set_up_is_refused(cli_env):  # noqa: F811
    result = cli(cli_env, "guild", "remove", "999")

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "Guild 999 is not set up; nothing to remove."


def test_a_guild_the_bot_is_still_in_is_refused(cli_env):  # noqa: F811
    _set_up(cli_env, GUILD)
    _in_discord(cli_env, GUILD)
    before = _rows(cli_env)

    result = cli(cli_env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"The bot is still in server {GUILD}: remove it from the server in Discord first."
    )
    assert _rows(cli_env) == before


def test_a_guild_the_bot_left_can_be_looked_at(cli_env):  # noqa: F811
    _set_up(cli_env, GUILD)
    _in_discord(cli_env, GUILD)
    engine = _engine(cli_env)
    GuildService(engine, lambda: REMOVED_AT).mark_left(int(GUILD))
    engine.dispose()

    result = cli(cli_env, "guild", "remove", GUILD)

    assert result.returncode == 0, result.stderr
    assert "  directory_guilds: 1 would be deleted" in result.stdout


def test_yes_deletes_the_servers_rows_and_leaves_another_servers_alone(cli_env):  # noqa: F811
    _set_up(cli_env, GUILD)
    _set_up(cli_env, OTHER)
    before = _rows(cli_env)

    result = cli(cli_env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert "  watchtime: 2 deleted" in result.stdout
    assert "Nothing was deleted" not in result.stdout
    after = _rows(cli_env)
    for table, rows in after.items():
        assert not [r for r in rows if int(GUILD) in r], table
        assert rows == [r for r in before[table] if int(GUILD) not in r], table
    again = cli(cli_env, "guild", "remove", GUILD, "--yes")
    assert again.returncode == 2
    assert again.stderr.splitlines()[-1] == f"Guild {GUILD} is not set up; nothing to remove."
