"""``python -m core guild remove``: without ``--yes`` it says per table what would go and what
stays and deletes nothing; it refuses a server not set up, and one the bot is still in. Each test
runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from core.features.guild_forget import guild_tables
from core.features.guilds.service import GuildService
from core.features.schema import all_tables
from core.storage.db import create_engine
from tests.conftest import TEST_FERNET_KEY
from tests.support.every_table import fill_every_guild_table
from tests.support.fake_apps import apps_knowing
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - fixture

OTHER = "223456789012345678"
REMOVED_AT = datetime(2030, 6, 1, 20, 15, tzinfo=UTC)


@pytest.fixture
def env(cli_env: dict[str, str], migrated_database_url: str) -> dict[str, str]:  # noqa: F811
    """The command's environment, on a migrated SQLite or PostgreSQL database."""
    cli_env.update(
        DATABASE_URL=migrated_database_url,
        FLASK_SECRET_KEY="guild-remove-test-secret-a-key-of-32-characters-or-more",
        TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
    )
    return cli_env


def _engine(env: dict[str, str]) -> sa.Engine:
    return create_engine(env["DATABASE_URL"])


def _set_up(env: dict[str, str], guild: str) -> None:
    with apps_knowing(env, kick=("streamer", "4242")) as checking:
        added = cli(checking, "guild", "add", guild, "--kick-channel", "streamer",
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


def test_a_dry_run_says_what_would_go_and_deletes_nothing(env):
    _set_up(env, GUILD)
    _set_up(env, OTHER)
    before = _rows(env)

    result = cli(env, "guild", "remove", GUILD)

    assert result.returncode == 0, result.stderr
    assert "  watchtime: 2 would be deleted" in result.stdout
    assert "  guilds: 1 would be deleted" in result.stdout
    assert "  guild_channels: 1 would be deleted" in result.stdout
    assert result.stdout.rstrip().endswith("Nothing was deleted; run again with --yes to delete.")
    assert _rows(env) == before


def test_a_guild_not_set_up_is_refused(env):
    result = cli(env, "guild", "remove", "999")

    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == "Guild 999 is not set up; nothing to remove."


def test_a_server_never_added_that_left_data_behind_is_removed(env):
    """The bot joined a server, its members linked and an admin set the link log, but nobody
    added a channel there (no ``guilds`` row); then the bot was removed. Its rows go all the
    same, and another server's stay."""
    _set_up(env, OTHER)
    tables = all_tables().tables
    engine = _engine(env)
    with engine.begin() as conn:
        conn.execute(sa.insert(tables["link_settings"]).values(
            guild_id=int(GUILD), log_channel_id=5, updated_at=REMOVED_AT))  # fmt: skip
        conn.execute(sa.insert(tables["link_history"]).values(
            guild_id=int(GUILD), discord_user_id=42, action="linked", platform="kick",
            platform_user_id="k-42", username="ana", created_at=REMOVED_AT))  # fmt: skip
    engine.dispose()
    before = _rows_of(env, int(OTHER))

    dry = cli(env, "guild", "remove", GUILD)
    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert dry.returncode == 0, dry.stderr
    assert "  link_history: 1 would be deleted" in dry.stdout.splitlines()
    assert result.returncode == 0, result.stderr
    assert "  link_settings: 1 deleted" in result.stdout.splitlines()
    assert [table for table, rows in _rows_of(env, int(GUILD)).items() if rows] == []
    assert _rows_of(env, int(OTHER)) == before
    again = cli(env, "guild", "remove", GUILD, "--yes")
    assert again.stderr.splitlines()[-1] == f"Guild {GUILD} is not set up; nothing to remove."


def test_a_server_never_added_the_bot_is_still_in_is_refused(env):
    engine = _engine(env)
    with engine.begin() as conn:
        conn.execute(sa.insert(all_tables().tables["link_settings"]).values(
            guild_id=int(GUILD), log_channel_id=5, updated_at=REMOVED_AT))  # fmt: skip
    engine.dispose()
    _in_discord(env, GUILD)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"The bot is still in server {GUILD}: remove it from the server in Discord first."
    )


def test_a_guild_the_bot_is_still_in_is_refused(env):
    _set_up(env, GUILD)
    _in_discord(env, GUILD)
    before = _rows(env)

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"The bot is still in server {GUILD}: remove it from the server in Discord first."
    )
    assert _rows(env) == before


def test_a_guild_the_bot_left_can_be_looked_at(env):
    _set_up(env, GUILD)
    _in_discord(env, GUILD)
    engine = _engine(env)
    GuildService(engine, lambda: REMOVED_AT).mark_left(int(GUILD))
    engine.dispose()

    result = cli(env, "guild", "remove", GUILD)

    assert result.returncode == 0, result.stderr
    assert "  directory_guilds: 1 would be deleted" in result.stdout


def test_yes_deletes_the_servers_rows_and_leaves_another_servers_alone(env):
    """Both servers hold a row in every table keyed by a guild, an open raffle period each."""
    _set_up(env, GUILD)
    _set_up(env, OTHER)
    engine = _engine(env)
    with engine.begin() as conn:
        for mark, guild in enumerate((GUILD, OTHER), start=1):
            fill_every_guild_table(conn, int(guild), mark, raffle_periods={"status": "open"})
    GuildService(engine, lambda: REMOVED_AT).mark_left(int(GUILD))  # its directory rows stayed
    engine.dispose()
    before = _rows_of(env, int(OTHER))
    assert all(before.values()), [table for table, rows in before.items() if not rows]

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert "  watchtime: 2 deleted" in result.stdout
    assert "  raffle_ledger: 1 deleted" in result.stdout
    assert "Nothing was deleted" not in result.stdout
    assert [table for table, rows in _rows_of(env, int(GUILD)).items() if rows] == []
    assert _rows_of(env, int(OTHER)) == before
    again = cli(env, "guild", "remove", GUILD, "--yes")
    assert again.returncode == 2
    assert again.stderr.splitlines()[-1] == f"Guild {GUILD} is not set up; nothing to remove."


def _rows_of(env: dict[str, str], guild_id: int) -> dict[str, list[tuple]]:
    """The server's rows, table by table."""
    engine = _engine(env)
    with engine.connect() as conn:
        rows = {
            t.name: sorted(map(tuple, conn.execute(sa.select(t).where(t.c.guild_id == guild_id))))
            for t in guild_tables()
        }
    engine.dispose()
    return rows


def _arrivals(env: dict[str, str]) -> dict[str, list[tuple[str, ...]]]:
    """Per table kept per channel: the channels it holds a row of."""
    tables = all_tables().tables
    engine = _engine(env)
    with engine.connect() as conn:
        rows = {
            "event_arrivals": sorted(
                (r.platform, r.broadcaster_user_id)
                for r in conn.execute(sa.select(tables["event_arrivals"]))
            ),
            **{
                name: sorted(
                    (r.broadcaster_user_id,) for r in conn.execute(sa.select(tables[name]))
                )
                for name in ("webhook_arrivals", "twitch_revocations")
            },
        }
    engine.dispose()
    return rows


def test_yes_deletes_what_is_kept_per_channel_unless_another_server_follows_the_channel(env):
    """When events last arrived (and Twitch's stopped subscriptions) are kept per channel, not
    per server: the removed server's Twitch channel, which no other server follows, loses
    them; its Kick channel, which another server follows too, keeps them for that server."""
    _set_up(env, GUILD)  # Kick channel 4242
    _set_up(env, OTHER)  # the same Kick channel
    with apps_knowing(env, twitch=("solo", "777")) as checking:
        added = cli(checking, "guild", "add", GUILD, "--twitch-channel", "solo",
                    "--twitch-broadcaster-id", "777")  # fmt: skip
    assert added.returncode == 0, added.stderr
    tables = all_tables().tables
    engine = _engine(env)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables["event_arrivals"]),
            [{"platform": p, "broadcaster_user_id": b, "kind": "chat", "arrived_at": REMOVED_AT}
             for p, b in (("kick", "4242"), ("twitch", "777"), ("twitch", "778"))],
        )  # fmt: skip
        conn.execute(
            sa.insert(tables["webhook_arrivals"]).values(
                broadcaster_user_id="4242", event_type="chat.message.sent", arrived_at=REMOVED_AT
            )
        )
        conn.execute(
            sa.insert(tables["twitch_revocations"]).values(
                subscription_id="sub-1", subscription_type="stream.online",
                status="authorization_revoked", broadcaster_user_id="777", revoked_at=REMOVED_AT,
            )
        )  # fmt: skip
    GuildService(engine, lambda: REMOVED_AT).mark_left(int(GUILD))
    engine.dispose()

    dry = cli(env, "guild", "remove", GUILD)
    assert dry.returncode == 0, dry.stderr
    assert (
        "  event_arrivals: 1 would be deleted, 1 kept (of a channel another server follows too)"
        in dry.stdout.splitlines()
    )
    assert "  twitch_revocations: 1 would be deleted" in dry.stdout.splitlines()

    result = cli(env, "guild", "remove", GUILD, "--yes")

    assert result.returncode == 0, result.stderr
    assert "  twitch_revocations: 1 deleted" in result.stdout.splitlines()
    assert _arrivals(env) == {
        "event_arrivals": [("kick", "4242"), ("twitch", "778")],
        "webhook_arrivals": [("4242",)],
        "twitch_revocations": [],
    }

    removed = cli(env, "guild", "remove", OTHER, "--yes")  # the channel's last server

    assert removed.returncode == 0, removed.stderr
    assert "  webhook_arrivals: 1 deleted" in removed.stdout.splitlines()
    assert _arrivals(env) == {
        "event_arrivals": [("twitch", "778")],
        "webhook_arrivals": [],
        "twitch_revocations": [],
    }


def test_guild_alone_names_every_action_it_has(cli_env):  # noqa: F811
    done = cli(cli_env, "guild")
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert all(f"'guild {action} " in line for action in ("add", "show", "remove")), line
