"""An import killed with SIGKILL half way, its rows written and not committed: nothing of it
stays, and the import run again ends with the totals of one import, which a third run leaves
as they are. ``import kick-watchtime-bot`` says first that an import did not finish, and runs
again with ``--force``; ``import streamelements-points`` simply runs again (and, once a viewer
was forgotten, leaves them out)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.events import Platform, Viewer
from core.features.guilds.repository import TrackedChannel, set_channel
from core.features.viewers.repository import remember_viewers
from core.storage.db import normalize_url
from tests.conftest import TEST_FERNET_KEY, migrated_postgres_url
from tests.fakes.streamelements_server import (
    CHANNEL_ID,
    JWT,
    OWNER_ID,
    OWNER_LOGIN,
    FakeStreamElements,
)
from tests.features.importers import kwb_rows
from tests.features.importers.conftest import NOW
from tests.features.importers.kwb_rows import BOB, SERVER_A
from tests.support.waiting import PROCESS_HANG_SECONDS
from tests.test_cli import cli

BOB_SECONDS = 120 * 60  # bob's minutes in server A under the other bot


@pytest.fixture
def target(request, cli_env) -> Iterator[tuple[dict[str, str], sa.Engine]]:
    """The command line on a PostgreSQL database with guilds A and B (bob seen in Kick chat)."""
    url = migrated_postgres_url(request)
    engine = sa.create_engine(normalize_url(url))
    kwb_rows.prepare_target(engine, NOW)
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer(str(BOB[0]), "bob")], NOW)
    env = {
        **cli_env,
        "DATABASE_URL": url,
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "FLASK_SECRET_KEY": "cli-import-killed-test-a-key-of-32-characters-or-more",
    }
    yield env, engine
    engine.dispose()


def _importing(env: dict[str, str], source_url: str, *extra: str):  # type: ignore[no-untyped-def]
    return cli(env, "import", "kick-watchtime-bot", "--from", source_url,
               "--guild", str(SERVER_A), *extra)  # fmt: skip


def _watchtime(env: dict[str, str]) -> list[tuple[str, int]]:
    exported = cli(env, "export", "--guild", str(SERVER_A), "--what", "watchtime")
    assert exported.returncode == 0, exported.stderr
    return [(r["platform_user_id"], r["seconds"]) for r in json.loads(exported.stdout)]


def _waiting_backend(engine: sa.Engine, process: subprocess.Popen, log: Path) -> int:
    """The import's backend once it waits for a lock the test holds (it has written rows
    before it); the test fails if the import ends or never gets there."""
    query = sa.text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    deadline = time.monotonic() + PROCESS_HANG_SECONDS
    while True:
        assert process.poll() is None, f"the import ended first:\n{log.read_text()}"
        with engine.connect() as conn:
            pid = conn.execute(query).scalar()
        if pid is not None:
            return int(pid)
        assert time.monotonic() < deadline, (
            f"the import never reached the winners:\n{log.read_text()}"
        )
        time.sleep(0.05)


def _gone(engine: sa.Engine, backend: int) -> bool:
    with engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        return conn.execute(query, {"pid": backend}).scalar_one() == 0


def _killed_while_waiting(
    env: dict[str, str],
    engine: sa.Engine,
    tmp_path: Path,
    args: list[str],
    locked: str,
    written: str,
) -> None:
    """``python -m core <args>`` killed with SIGKILL while it waits for the table ``locked``
    (the test holds it), once it has written into ``written``; back when the server has
    rolled its transaction back."""
    log = tmp_path / "import.log"
    locker = engine.connect()
    holding = locker.begin()
    locker.execute(sa.text(f"LOCK TABLE {locked} IN ACCESS EXCLUSIVE MODE"))
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "core", *args], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        backend = _waiting_backend(engine, process, log)
        with engine.connect() as conn:  # half way: it holds write locks on the rows before
            writes = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE pid = :pid AND granted "
                    "AND mode = 'RowExclusiveLock' AND relation = CAST(:table AS regclass)"
                ),
                {"pid": backend, "table": written},
            ).scalar_one()
        assert writes, f"the import waits before it wrote into {written}"
        os.kill(process.pid, signal.SIGKILL)  # only the process this test started
        process.wait(timeout=PROCESS_HANG_SECONDS)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=PROCESS_HANG_SECONDS)
        holding.rollback()
        locker.close()
    deadline = time.monotonic() + PROCESS_HANG_SECONDS
    while not _gone(engine, backend):  # its transaction rolled back by the server
        assert time.monotonic() < deadline, "the killed import's transaction stayed open"
        time.sleep(0.05)


def test_an_import_killed_half_way_leaves_nothing_and_a_forced_run_imports_once(
    target, source_url, tmp_path
):
    env, engine = target
    args = ["import", "kick-watchtime-bot", "--from", source_url, "--guild", str(SERVER_A)]
    _killed_while_waiting(env, engine, tmp_path, args, "imported_winners", "watchtime")

    assert _watchtime(env) == []  # nothing of the guild stayed
    again = _importing(env, source_url)
    assert again.returncode == 2, again.stderr
    assert "did not finish" in again.stderr
    assert _watchtime(env) == []

    forced = _importing(env, source_url, "--force")
    assert forced.returncode == 0, forced.stderr
    assert "  watchtime        imported 1; already there 0; left out 6" in forced.stdout
    assert _watchtime(env) == [(str(BOB[0]), BOB_SECONDS)]

    third = _importing(env, source_url)
    assert third.returncode == 0, third.stderr
    assert "  watchtime        imported 0; already there 1; left out 6" in third.stdout
    assert "nothing changed" in third.stdout
    assert _watchtime(env) == [(str(BOB[0]), BOB_SECONDS)]


def test_a_points_import_killed_half_way_leaves_nothing_and_runs_again_once(target, tmp_path):
    env, engine = target
    with engine.begin() as conn:
        remember_viewers(
            conn, Platform.TWITCH, [Viewer("t-ann", "ann"), Viewer("t-bob", "bob")], NOW
        )
        streamer = TrackedChannel(SERVER_A, Platform.TWITCH, OWNER_LOGIN, OWNER_ID)
        set_channel(conn, streamer, NOW)  # the StreamElements channel's streamer
    jwt_file = tmp_path / "se.jwt"
    jwt_file.write_text(JWT + "\n")
    with FakeStreamElements() as se:
        se.points.update({"ann": 500, "bob": 120})
        env = {**env, "STREAMELEMENTS_API_URL": se.base_url}
        args = ["import", "streamelements-points", "--guild", str(SERVER_A), "--channel",
                CHANNEL_ID, "--jwt-file", str(jwt_file)]  # fmt: skip
        _killed_while_waiting(env, engine, tmp_path, args, "points_balances", "points_ledger")
        assert _balances(env) == {}

        again = cli(env, *args)
        assert again.returncode == 0, again.stderr
        assert "  points           imported 2; already there 0" in again.stdout
        third = cli(env, *args)
        assert third.returncode == 0, third.stderr
        assert "  points           imported 0; already there 2" in third.stdout
        assert _balances(env) == {"t-ann": 500, "t-bob": 120}

        # Ann asks to be forgotten, then chats again: a fourth run leaves her out.
        forgot = cli(env, "privacy", "forget", "--account", "twitch:ann", "--yes")
        assert forgot.returncode == 0, forgot.stderr
        with engine.begin() as conn:
            remember_viewers(conn, Platform.TWITCH, [Viewer("t-ann", "ann")], NOW)
        fourth = cli(env, *args)
        assert fourth.returncode == 0, fourth.stderr
        assert (
            "  points           imported 0; already there 1; left out 0; skipped as forgotten 1"
            in fourth.stdout
        )
    assert _balances(env) == {"t-bob": 120}


def _balances(env: dict[str, str]) -> dict[str, int]:
    exported = cli(env, "export", "--guild", str(SERVER_A), "--what", "points")
    assert exported.returncode == 0, exported.stderr
    return {r["platform_user_id"]: r["balance"] for r in json.loads(exported.stdout)}
