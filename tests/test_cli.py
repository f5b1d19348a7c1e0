"""``python -m core``: the command forms scripts rely on; the serving commands run as real
processes."""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from core.cli import CommandFailed, build_parser, id_number
from core.cli.export import exports
from core.cli.serve import _listening
from core.platforms.http import tls_context
from core.platforms.kick.signing import signed_headers
from core.storage import db
from tests.conftest import FIXTURES, TEST_FERNET_KEY
from tests.fakes.kick_server import FakeKick
from tests.services import free_port
from tests.support.cli import run as run_cli
from tests.support.cli import run_process
from tests.support.events import chat_message
from tests.support.fake_apps import with_fake_apps
from tests.support.waiting import PROCESS_HANG_SECONDS

ROOT = Path(__file__).resolve().parents[1]
GUILD = "123456789012345678"


@pytest.fixture
def cli_env(tmp_path, kick_keys) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("KICK_", "DISCORD_", "DATABASE_", "REDIS_", "PORT", "HOST"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        DATA_DIR=str(tmp_path / "data"),
        KICK_WEBHOOK_PUBLIC_KEY=kick_keys[1],
        PYTHONUNBUFFERED="1",
    )
    return env


def cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m core`` with ``env`` as its environment, run in this test's process (the
    serving commands below start real ones)."""
    return run_cli(env, *args, cwd=cwd or Path(env["DATA_DIR"]).parent)


def test_migrate_is_idempotent(cli_env):
    first, second = cli(cli_env, "migrate"), cli(cli_env, "migrate")
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "up to date" in second.stdout


def test_guild_add_then_show(cli_env):
    with FakeKick(user_id=4242, username="somestreamer") as kick:  # Kick says who 4242 is
        added = cli(
            with_fake_apps(cli_env, kick),
            "guild",
            "add",
            GUILD,
            "--kick-channel",
            "SomeStreamer",
            "--kick-broadcaster-id",
            "4242",
        )
    assert added.returncode == 0, added.stderr
    shown = cli(cli_env, "guild", "show", GUILD)
    assert shown.returncode == 0
    assert "kick: somestreamer (broadcaster id 4242)" in shown.stdout


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every command and action of the command line (``vip rule add``), with the line its
    parent's list shows for it."""
    for action in parser._actions:  # argparse keeps its sub-commands there
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                yield (*path, listed.dest), listed.help
                yield from _command_paths(action.choices[listed.dest], (*path, listed.dest))


@pytest.mark.parametrize(
    ("path", "listed"), list(_command_paths(build_parser())), ids=lambda value: str(value)
)
def test_every_commands_help_says_what_it_does(cli_env, path, listed):
    """``--help`` of a command works, and says in words what the command does (the line the
    list above it shows), not only its options."""
    result = cli(cli_env, *path, "--help")
    assert result.returncode == 0, result.stderr
    assert listed
    assert listed.rstrip(".") in " ".join(result.stdout.split()), result.stdout


@pytest.mark.parametrize(
    ("args", "message", "status"),
    [
        (["guild", "show", "999"], "Guild 999 is not set up", 2),
        (
            ["guild", "add", GUILD, "--kick-channel", "has space", "--kick-broadcaster-id", "1"],
            "is not a Kick channel name",
            2,
        ),
        (
            ["guild", "add", GUILD, "--kick-channel", "ok", "--kick-broadcaster-id", "abc"],
            "is not a Kick user id",
            2,
        ),
        (["guild"], "Say what to do", 2),  # a usage error, as argparse's own
    ],
)
def test_guild_mistakes_get_one_plain_line(cli_env, args, message, status):
    result = cli(cli_env, *args)
    assert result.returncode == status
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("twitch", "line"),
    [
        (("Bad Name", "5"), "'bad name' is not a Twitch login"),
        (("goodname", "abc"), "'abc' is not a Twitch user id"),
    ],
)
def test_a_guild_add_refused_for_one_channel_sets_up_neither(cli_env, twitch, line):
    """Both channels or none: a refused Twitch half must not leave the Kick half set up."""
    result = cli(cli_env, "guild", "add", GUILD, "--kick-channel", "okchan",
                 "--kick-broadcaster-id", "55", "--twitch-channel", twitch[0],
                 "--twitch-broadcaster-id", twitch[1])  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(line), result.stderr
    assert result.stdout == ""
    shown = cli(cli_env, "guild", "show", GUILD)
    assert shown.returncode == 2, shown.stdout  # not set up
    assert "is not set up" in shown.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["export", "--guild", "999"],
        *(["export", "--guild", "999", "--what", what] for what in sorted(exports())),
        ["vip", "rules", "--guild", "999"],
        ["payments", "doubtful", "--guild", "999"],
    ],
)
def test_a_read_of_a_mistyped_guild_is_refused_not_answered_as_no_data(cli_env, args):
    assert cli(cli_env, "migrate").returncode == 0
    result = cli(cli_env, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == "Guild 999 is not set up; add it with 'guild add'."


@pytest.mark.parametrize(
    "args",
    [
        ["vip", "rule", "add", "--guild", "999", "--platform", "kick", "--when", "kicks",
         "--hours", "5", "--at-least", "100"],
        ["vip", "rule", "remove", "--guild", "999", "1"],
        ["payments", "settle", "--guild", "999", "1", "paid"],
    ],
)  # fmt: skip
def test_a_change_in_a_mistyped_guild_says_the_guild_is_not_set_up(cli_env, args):
    """Not "set the Kick VIP role first" or "no such rule": the guild id is what is wrong."""
    assert cli(cli_env, "migrate").returncode == 0
    result = cli(cli_env, *args)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.strip() == "Guild 999 is not set up; add it with 'guild add'."


def test_vip_rules_of_guild_0_is_refused(cli_env):
    result = cli(cli_env, "vip", "rules", "--guild", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "The guild id is a whole number from 1 up, got '0'."


def test_a_wrong_token_encryption_key_is_a_setting_to_fix_exit_2(cli_env):
    cli_env["TOKEN_ENCRYPTION_KEY"] = "not-a-fernet-key"
    result = cli(cli_env, "health")
    assert result.returncode == 2, result.stderr
    assert "TOKEN_ENCRYPTION_KEY" in result.stderr
    assert "Traceback" not in result.stderr


ID_ARGUMENTS = [
    (["guild", "show", "{}"], "guild_id"),
    (["guild", "add", "{}", "--kick-channel", "a", "--kick-broadcaster-id", "1"], "guild_id"),
    (["export", "--guild", "{}"], "--guild"),
    (["raffle", "export", "{}"], "period"),
    (["raffle", "admins", "--period", "{}"], "--period"),
    (["overlay", "url", "--guild", "{}", "--kind", "raffle"], "--guild"),
    (["points", "give", "{}", "kick", "1", "5"], "guild_id"),
    (["import", "kick-watchtime-bot", "--from", "sqlite://", "--guild", "{}"], "--guild"),
]


@pytest.mark.parametrize(("args", "argument"), ID_ARGUMENTS)
@pytest.mark.parametrize("value", ["9" * 30, str(2**63), "0", "١٢٣", "1e3"])
def test_an_id_the_database_cannot_hold_is_a_usage_error(cli_env, args, argument, value):
    # 30 nines once reached SQLite and ended in OverflowError's traceback.
    result = cli(cli_env, *(arg.format(value) for arg in args))
    assert result.returncode == 2
    assert (
        f"argument {argument}: must be a whole number from 1 to 9223372036854775807 "
        f"(digits only), got {value!r}"
    ) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minutes", "0"], "argument --minutes: must be a whole number from 1 to 1440"),
        (["--minutes", "9" * 12], "argument --minutes: must be a whole number from 1 to 1440"),
        (["--viewers", "-3"], "argument --viewers: must be a whole number from 1 to 10000"),
        (["--dashboard", "--port", "70000"], "argument --port: must be a whole number from 1 to"),
    ],
)
def test_a_demo_number_out_of_range_is_a_usage_error(cli_env, args, message):
    # --minutes 0 ended in randrange's traceback, and 10 billion minutes in timedelta's.
    result = cli(cli_env, "demo", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_demo_dashboard_off_loopback_is_refused_on_standard_error(cli_env):
    result = cli(cli_env, "demo", "--dashboard", "--host", "0.0.0.0")  # noqa: S104
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "The demo runs on this computer only: '0.0.0.0' is not a loopback address."
    ]


@given(st.one_of(st.text(st.characters(exclude_categories=())), st.integers().map(str)))
def test_the_id_type_gives_an_id_in_range_or_argparses_refusal(text):
    try:
        number = id_number(text)
    except argparse.ArgumentTypeError:
        return
    assert 1 <= number <= 2**63 - 1
    assert text.strip().isascii()


def test_the_id_types_refusal_quotes_a_long_text_in_part():
    with pytest.raises(
        argparse.ArgumentTypeError, match=r"got '9{40}'\.\.\. \(3,000 characters\)$"
    ):
        id_number("9" * 3000)


NO_HOME = "KICK_WEBHOOK_PUBLIC_KEY: no home directory for"


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("~0", f"{NO_HOME} '~0'"),
        ("~unknownuser/key.pem", f"{NO_HOME} '~unknownuser/key.pem'"),
        ("/nonexistent/kick.pem",
         "KICK_WEBHOOK_PUBLIC_KEY: cannot read key file '/nonexistent/kick.pem': "
         "No such file or directory"),
    ],
)  # fmt: skip
def test_a_kick_key_that_cannot_be_read_stops_the_start_in_one_line(cli_env, key, problem):
    # "~0" once ended in RuntimeError's traceback, a missing file in ValueError's.
    cli_env["KICK_WEBHOOK_PUBLIC_KEY"] = key
    result = cli(cli_env, "guild", "show", GUILD)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == problem
    assert "Traceback" not in result.stderr


def test_a_kick_key_that_cannot_be_read_stops_the_serving_process(cli_env):
    cli_env["KICK_WEBHOOK_PUBLIC_KEY"] = "~0"
    result = run_process(cli_env, "run", cwd=Path(cli_env["DATA_DIR"]).parent)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == f"{NO_HOME} '~0'"
    assert "Traceback" not in result.stderr


def test_bad_settings_are_listed_one_per_line(cli_env):
    cli_env.update(KICK_WEBHOOK_MAX_AGE_SECONDS="ten", WATCH_INTERVAL_SECONDS="-5")
    result = cli(cli_env, "health")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "KICK_WEBHOOK_MAX_AGE_SECONDS must be a whole number of seconds, got 'ten'",
        "WATCH_INTERVAL_SECONDS must be at least 1, got -5",
    ]


def test_settings_come_from_a_dot_env_file_in_the_working_directory(cli_env, tmp_path):
    (tmp_path / ".env").write_text("LOG_LEVEL=loud\n")
    result = cli(cli_env, "health", cwd=tmp_path)
    assert result.returncode == 2
    assert "LOG_LEVEL must be one of" in result.stderr


def test_health_passes_on_a_migrated_database(cli_env):
    cli(cli_env, "migrate")
    result = cli(cli_env, "health")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   database" in result.stdout


def test_health_fails_on_an_unmigrated_database(cli_env):
    result = cli(cli_env, "health")
    assert result.returncode == 1
    assert "migration(s) pending: run 'python setup_database.py'" in result.stdout


def test_a_database_from_before_the_squash_is_brought_up_by_migrate(cli_env):
    """A database at migration 0017 (written before the history was squashed at 0032) is
    brought to today's schema by ``migrate``, in one command; health says what is pending."""
    data = Path(cli_env["DATA_DIR"])
    data.mkdir()
    engine = sa.create_engine(f"sqlite:///{data / 'streamkeeper.sqlite3'}")
    try:
        with engine.begin() as conn:
            command.upgrade(db._alembic_config(conn, legacy=True), "0017")
            conn.exec_driver_sql(
                "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds) "
                "VALUES (42, 'kick', '4242', 3600)"
            )
    finally:
        engine.dispose()
    before = cli(cli_env, "health")
    assert before.returncode == 1
    assert "migration(s) pending" in before.stdout
    migrated = cli(cli_env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "Traceback" not in migrated.stderr
    after = cli(cli_env, "health")
    assert after.returncode == 0, after.stdout
    engine = sa.create_engine(f"sqlite:///{data / 'streamkeeper.sqlite3'}")
    try:
        with engine.connect() as conn:
            kept = conn.exec_driver_sql("SELECT seconds FROM watchtime WHERE guild_id = 42")
            assert kept.scalar_one() == 3600
    finally:
        engine.dispose()


def test_a_database_of_a_newer_version_is_refused_in_one_line_and_left_alone(cli_env):
    data = Path(cli_env["DATA_DIR"])
    data.mkdir()
    database = data / "streamkeeper.sqlite3"
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    migrated, health = cli(cli_env, "migrate"), cli(cli_env, "health")
    assert migrated.returncode == 1
    assert "Traceback" not in migrated.stderr
    said = migrated.stderr.splitlines()[-1]  # after the warnings of the secrets it made
    assert "schema is at migration 9999, newer than this version knows" in said
    assert health.returncode == 1
    assert "at migration 9999" in health.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [
            ("alembic_version",),
            ("sqlite_autoindex_alembic_version_1",),
        ]


def test_a_twitch_eventsub_secret_twitch_would_refuse_stops_the_start(cli_env):
    cli_env.update(TWITCH_EVENTSUB_SECRET="short")
    result = cli(cli_env, "health")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "TWITCH_EVENTSUB_SECRET must be 10 to 100 characters, got 5"
    ]


def test_postgres_without_shared_keys_is_a_plain_start_up_error(cli_env):
    cli_env["DATABASE_URL"] = f"postgres://sk:s3cret@127.0.0.1:{free_port()}/sk"
    result = cli(cli_env, "health")
    assert result.returncode == 2  # a setting to fix
    assert result.stderr.startswith("FLASK_SECRET_KEY must be set when the database is PostgreSQL")


def test_health_fails_plainly_when_postgres_is_unreachable(cli_env):
    cli_env.update(
        FLASK_SECRET_KEY="k-a-key-of-32-characters-or-more", TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY
    )
    cli_env["DATABASE_URL"] = f"postgres://sk:s3cret@127.0.0.1:{free_port()}/sk"
    result = cli(cli_env, "health")
    assert result.returncode == 1
    assert "FAIL database" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_redis_is_one_plain_line(cli_env):
    cli_env["REDIS_URL"] = f"redis://:s3cret@127.0.0.1:{free_port()}/0"
    result = cli(cli_env, "migrate")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "Could not connect to Redis. Is it running?"
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        ("DATABASE_URL", "postgresql://sk:s3cret@db.example:port/streamkeeper",
         "DATABASE_URL must have a port from 1 to 65535 (digits) after the host"),
        ("DATABASE_URL", "postgres", "DATABASE_URL must be a sqlite:// or postgresql:// URL"),
        ("DATABASE_URL", "postgresql+asyncpg://sk:s3cret@127.0.0.1:1/sk",
         "DATABASE_URL must be a sqlite:// or postgresql:// URL, not postgresql+asyncpg"),
        ("DATABASE_URL", "sqlitex://",
         "DATABASE_URL must be a sqlite:// or postgresql:// URL, not sqlitex"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:port/0",
         "REDIS_URL must have a port from 1 to 65535 (digits) after the host"),
        # An "@" in the password, not written %40: the driver takes the rest for the host and
        # says it cannot find host 'eek_s3cret@127.0.0.1'.
        ("DATABASE_URL", "postgresql://sk:my@eek_s3cret@127.0.0.1:1/sk",
         "DATABASE_URL has an '@' in its user name or password: write it as %40"),
    ],
)  # fmt: skip
def test_a_url_the_driver_cannot_read_is_one_line_without_the_password(cli_env, name, value, line):
    cli_env[name] = value
    result = cli(cli_env, "health")
    assert (result.returncode, result.stderr.splitlines()) == (2, [line])
    assert "s3cret" not in result.stdout + result.stderr


def test_a_file_as_the_data_folder_is_one_line(cli_env, tmp_path):
    (tmp_path / "data").write_text("not a folder")
    result = run_process(cli_env, "health", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"DATA_DIR {str(tmp_path / 'data')!r} cannot be used: File exists (not a folder)"
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes any folder")
def test_a_data_folder_this_user_may_not_write_is_one_line(cli_env, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    cli_env["DATA_DIR"] = str(locked / "data")
    result = cli(cli_env, "health")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"DATA_DIR {str(locked / 'data')!r} cannot be used: Permission denied"
    ]


def test_health_check_script_uses_the_same_checks(cli_env):
    cli(cli_env, "migrate")
    result = subprocess.run(
        [sys.executable, str(ROOT / "health_check.py")],
        env=cli_env,
        cwd=Path(cli_env["DATA_DIR"]).parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_export_writes_json_and_csv(cli_env, make_runtime):
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(int(GUILD), "streamer", "4242")
    _seed_watchtime(runtime)

    as_json = cli(cli_env, "export", "--guild", GUILD, "--format", "json")
    as_csv = cli(cli_env, "export", "--guild", GUILD, "--format", "csv")

    assert as_json.returncode == 0, as_json.stderr
    [record] = json.loads(as_json.stdout)
    assert record["platform"] == "kick"
    assert (record["platform_user_id"], record["username"], record["seconds"]) == (
        "77",
        "viewer_77",
        60,
    )
    assert record["last_seen"].endswith("+00:00")
    lines = as_csv.stdout.splitlines()
    assert lines[0] == "platform,platform_user_id,username,seconds,last_seen"
    assert lines[1].startswith("kick,77,viewer_77,60,")


def test_export_of_another_guild_is_empty(cli_env, make_runtime):
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(int(GUILD), "streamer", "4242")
    runtime.guilds.set_kick_channel(42, "otherstreamer", "4343")
    _seed_watchtime(runtime)
    result = cli(cli_env, "export", "--guild", "42", "--format", "json")
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("what", sorted(exports()))
def test_every_export_of_a_guild_set_up_with_nothing_is_valid(cli_env, make_runtime, what):
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(42, "otherstreamer", "4343")
    runtime.close()
    as_json = cli(cli_env, "export", "--guild", "42", "--what", what, "--format", "json")
    as_csv = cli(cli_env, "export", "--guild", "42", "--what", what, "--format", "csv")
    assert (as_json.returncode, as_csv.returncode) == (0, 0), as_json.stderr + as_csv.stderr
    records = json.loads(as_json.stdout)
    assert all(not record.get("value") for record in records)  # nothing, or analytics' zeros
    header, *rows = as_csv.stdout.splitlines()
    assert header == ",".join(exports()[what].fields)
    assert len(rows) == len(records)


@pytest.mark.parametrize("form", ["json", "csv"])
def test_an_export_piped_into_a_reader_that_stops_early_ends_quietly(cli_env, make_runtime, form):
    """``export ... | head -1``: the reader closes the pipe after one line; the export stops
    without a traceback (the exit status a shell gives a command its pipe stopped, 141)."""
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(int(GUILD), "streamer", "4242")
    with runtime.engine.begin() as conn:  # far more than a pipe holds (64 KiB)
        conn.execute(
            sa.text(
                "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds) "
                "VALUES (:g, 'kick', :u, 60)"
            ),
            [{"g": int(GUILD), "u": str(n)} for n in range(20_000)],
        )
    runtime.close()
    process = subprocess.Popen(
        [sys.executable, "-m", "core", "export", "--guild", GUILD, "--format", form],
        env=cli_env,
        cwd=Path(cli_env["DATA_DIR"]).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.readline()
    process.stdout.close()  # as head does after its line
    stderr = process.stderr.read().decode()
    process.stderr.close()
    process.wait(timeout=PROCESS_HANG_SECONDS)
    assert "Traceback" not in stderr
    assert "Broken pipe" not in stderr
    assert "BrokenPipeError" not in stderr
    assert process.returncode == 141


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("args", [("export", "--guild", GUILD), ("guild", "show", GUILD)])
def test_output_to_a_full_disk_is_one_line_and_exit_1(cli_env, make_runtime, args):
    """``export ... > file`` on a full disk (``/dev/full``): a plain line, not a traceback,
    and not exit status 0."""
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(int(GUILD), "streamer", "4242")
    runtime.close()
    env = {
        **cli_env,
        "FLASK_SECRET_KEY": "full-disk-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
    }
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "core", *args],
            env=env,
            cwd=Path(cli_env["DATA_DIR"]).parent,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=PROCESS_HANG_SECONDS,
            check=False,
        )
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [
        "Could not write the output (No space left on device)."
    ], result.stderr


@pytest.mark.parametrize("args", [("guild", "show", GUILD), ("export", "--guild", GUILD)])
def test_a_command_started_with_its_output_closed_runs_without_a_traceback(
    cli_env, make_runtime, args
):
    """``python -m core ... >&-`` (a cron line that closes it): what it would print goes
    nowhere, and the command still does its job."""
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    runtime.guilds.set_kick_channel(int(GUILD), "streamer", "4242")
    runtime.close()
    env = {
        **cli_env,
        "FLASK_SECRET_KEY": "closed-a-key-of-32-characters-or-more",
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
    }
    result = subprocess.run(
        [sys.executable, "-c", "import os, runpy, sys; os.close(1); sys.stdout = None; "
         "sys.argv = ['core', *sys.argv[1:]]; runpy.run_module('core', run_name='__main__')",
         *args],
        env=env, cwd=Path(cli_env["DATA_DIR"]).parent, stderr=subprocess.PIPE, text=True,
        timeout=PROCESS_HANG_SECONDS, check=False,
    )  # fmt: skip
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr


def _seed_watchtime(runtime) -> None:

    now = datetime.now(UTC).replace(microsecond=0)
    runtime.tick_all(now - timedelta(seconds=60))
    chat = chat_message(broadcaster="4242", at=now - timedelta(seconds=10), event_id="m1")
    runtime.watchtime.record_chat(int(GUILD), chat)
    runtime.tick_all(now)


def test_demo_prints_a_leaderboard(cli_env):
    result = cli(cli_env, "demo", "--minutes", "8", "--viewers", "12")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rank  viewer" in result.stdout
    assert "1 duplicate" in result.stdout
    assert "rejected" not in result.stdout
    assert "checked: all" in result.stdout
    assert "matches the script exactly" in result.stdout
    # The Twitch part, through signed EventSub webhooks to the fake Twitch.
    assert "'twitchdev' on Twitch" in result.stdout
    assert "EventSub webhooks sent: 4 (4 queued)" in result.stdout
    assert "VIP on Twitch yes, redemption FULFILLED" in result.stdout
    assert "chat notice in Twitch chat: 'Milo_twitch is a VIP until " in result.stdout
    assert "NOT AS EXPECTED" not in result.stdout


def _wait_for_health(
    url: str, process: subprocess.Popen, timeout: float = PROCESS_HANG_SECONDS
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1, verify=tls_context()).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not answer /health in time")


def _export_seconds(env: dict[str, str]) -> dict[str, int]:
    result = cli(env, "export", "--guild", GUILD, "--format", "json")
    assert result.returncode == 0, result.stderr
    return {row["username"]: row["seconds"] for row in json.loads(result.stdout)}


def _start(env: dict[str, str], *args: str) -> subprocess.Popen:
    """Start ``python -m core <args>``, or gunicorn when the first argument is "gunicorn"."""
    if args[0] == "gunicorn":
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        command += ["-w", "2", "-b", f"127.0.0.1:{env['PORT']}"]
        command.append("core.wsgi:create_app()")
    else:
        command = [sys.executable, "-m", "core", *args]
    return subprocess.Popen(
        command,
        env=env,
        cwd=Path(env["DATA_DIR"]).parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def _chat_webhook(url: str, kick_keys, *, message_id: str) -> httpx.Response:
    payload = json.loads((FIXTURES / "kick" / "chat.message.sent.json").read_text())
    payload["broadcaster"]["user_id"] = 4242
    payload["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(payload).encode()
    headers = signed_headers(
        kick_keys[0], body, event_type="chat.message.sent", message_id=message_id
    )
    return httpx.post(
        f"{url}/webhooks/kick", content=body, headers=headers, timeout=10, verify=tls_context()
    )


def _wait_for_watchtime(
    env: dict[str, str], timeout: float = PROCESS_HANG_SECONDS
) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seconds = _export_seconds(env)
        if seconds:
            return seconds
        time.sleep(0.5)
    raise AssertionError("no watchtime appeared")


def _assert_scrape_counts_both(url: str) -> None:
    """Whichever gunicorn worker answered each webhook, one scrape counts both."""
    text = httpx.get(f"{url}/metrics", timeout=10, verify=tls_context()).text
    received = {
        sample.labels["outcome"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "streamkeeper_webhooks_received_total"
    }
    assert received == {"queued": 1, "duplicate": 1}


def _events_handled(url: str) -> dict[str, float]:
    text = httpx.get(url, timeout=10).text
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "streamkeeper_events_handled_total"
    }


def _run_and_check_pipeline(
    env: dict[str, str],
    kick_keys,
    processes: list[tuple[str, ...]],
    then: Callable[[], None] | None = None,
) -> str:
    """Start ``processes``, send a chat webhook twice, wait for its watchtime, call ``then`` while
    they still run, and stop them; returns what they printed."""
    # The pipeline is what is checked here, not the channel (no Kick app: stored as typed).
    added = cli(
        env,
        "guild",
        "add",
        GUILD,
        "--kick-channel",
        "streamer",
        "--kick-broadcaster-id",
        "4242",
        "--unchecked",
    )
    assert added.returncode == 0, added.stderr
    port = free_port()
    env.update(PORT=str(port), WATCH_INTERVAL_SECONDS="1")
    url = f"http://127.0.0.1:{port}"
    launched = time.monotonic()
    started = [_start(env, *args) for args in processes]
    output = ""
    try:
        _wait_for_health(url, started[0])
        first = _chat_webhook(url, kick_keys, message_id="01DONEWHENMESSAGE000000001")
        again = _chat_webhook(url, kick_keys, message_id="01DONEWHENMESSAGE000000001")
        assert (first.json()["status"], again.json()["status"]) == ("queued", "duplicate")
        _assert_scrape_counts_both(url)
        seconds = _wait_for_watchtime(env)
        assert set(seconds) == {"sender_name"}
        # At least one interval, and never more than the processes have run: a tick credits
        # the time since the previous one (the first credits nothing), so a tick late on a busy
        # machine may credit the viewer time from before the chat, but no tick credits time
        # twice (the duplicate and the second process add nothing), however slow the machine.
        assert 1 <= seconds["sender_name"] <= time.monotonic() - launched + 1
        if then is not None:
            then()
    finally:
        for process in started:
            output += _stop(process)
    return output


def test_run_serves_health_and_turns_a_signed_webhook_into_watchtime(cli_env, kick_keys):
    cli_env["TWITCH_EVENTSUB_SECRET"] = "a-test-secret-of-some-length"
    output = _run_and_check_pipeline(cli_env, kick_keys, [("run",)])
    assert "Discord side is off: DISCORD_TOKEN is not set" in output
    # the startup line names both webhook routes when both platforms take deliveries
    assert "webhooks: POST /webhooks/kick (Kick), POST /webhooks/twitch (Twitch)" in output


@pytest.mark.slow
def test_split_gunicorn_web_and_bot_processes_on_postgres_and_redis(
    cli_env, kick_keys, postgres_url, redis_url
):
    from tests.conftest import _fresh_postgres_database

    cli_env.update(
        DATABASE_URL=_fresh_postgres_database(postgres_url),
        REDIS_URL=redis_url,
        FLASK_SECRET_KEY="split-test-secret-a-key-of-32-characters-or-more",
        TOKEN_ENCRYPTION_KEY=TEST_FERNET_KEY,
    )
    bot_port = free_port()
    cli_env["BOT_METRICS_PORT"] = str(bot_port)

    def scrape_the_bot_process() -> None:
        # The web side queued the chat line once (its twin was a duplicate); the bot process
        # handled it, and its own /metrics says so.
        url = f"http://127.0.0.1:{bot_port}"
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
        deadline = time.monotonic() + PROCESS_HANG_SECONDS
        while (handled := _events_handled(f"{url}/metrics")).get("chat_message_sent", 0) < 1:
            assert time.monotonic() < deadline, f"the bot process counted {handled}"
            time.sleep(0.2)
        assert handled["chat_message_sent"] == 1

    output = _run_and_check_pipeline(
        cli_env, kick_keys, [("gunicorn",), ("bot",)], then=scrape_the_bot_process
    )
    assert f"this bot process's /health and /metrics: http://127.0.0.1:{bot_port}" in output


@pytest.mark.parametrize(("command", "setting"), [("run", "PORT"), ("bot", "BOT_METRICS_PORT")])
def test_a_port_in_use_is_one_plain_line_not_a_traceback(cli_env, command, setting):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cli_env["PORT"] = str(free_port())
        cli_env[setting] = str(port)
        process = _start(cli_env, command)
        output, _ = process.communicate(timeout=PROCESS_HANG_SECONDS)
    assert process.returncode == 1, output
    assert f"Cannot listen on 127.0.0.1:{port}: another program uses that port" in output
    assert f"Stop it, or set {setting} to a free port." in output
    assert "Traceback" not in output


@pytest.mark.beyond_loopback
def test_an_address_that_is_not_this_machines_is_named(make_runtime):
    runtime = make_runtime(HOST="203.0.113.9")  # TEST-NET-3: never an address of this machine
    with pytest.raises(CommandFailed) as failed:
        _listening(runtime.start_web_server, runtime, "PORT", 0)
    assert str(failed.value).startswith("Cannot listen on HOST 203.0.113.9: it is not an address")
    assert "Set HOST to one of its addresses" in str(failed.value)


@pytest.mark.beyond_loopback
@pytest.mark.parametrize("host", ["streamkeeper.invalid", "256.1.1.1"])
def test_a_host_name_that_names_no_address_is_named(make_runtime, host):
    # waitress answers a HOST it cannot look up with ValueError("Invalid host/port specified.")
    runtime = make_runtime(HOST=host)

    with pytest.raises(CommandFailed) as failed:
        _listening(runtime.start_web_server, runtime, "PORT", 0)
    assert str(failed.value) == (
        f"Cannot listen on HOST {host!r}: it is not an address of this machine "
        "(127.0.0.1: this machine only; 0.0.0.0: every address)."
    )


@pytest.mark.beyond_loopback  # the name is looked up (and refused by the guard)
@pytest.mark.parametrize("command", ["run", "web"])
def test_a_host_that_names_no_address_stops_the_start_in_one_line(cli_env, command):
    cli_env.update(HOST="256.1.1.1", PORT=str(free_port()))
    process = _start(cli_env, command)
    output, _ = process.communicate(timeout=PROCESS_HANG_SECONDS)
    assert process.returncode == 1, output
    assert "Cannot listen on HOST '256.1.1.1': it is not an address of this machine" in output
    assert "Traceback" not in output


def test_other_os_errors_are_not_dressed_as_a_port_problem(make_runtime):
    runtime = make_runtime()

    def out_of_files() -> None:
        raise OSError(errno.EMFILE, "Too many open files")

    with pytest.raises(OSError, match="Too many open files"):
        _listening(out_of_files, runtime, "PORT", 8080)
