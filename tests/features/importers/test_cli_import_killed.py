"""``import kick-watchtime-bot`` killed with SIGKILL half way through a guild (its watchtime,
links and tickets written, not committed): nothing of that guild stays, the next run says an
import did not finish, and the run with ``--force`` ends with the totals of one import, which a
third run leaves as they are."""

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
from core.features.viewers.repository import remember_viewers
from core.storage.db import normalize_url
from tests.conftest import TEST_FERNET_KEY, migrated_postgres_url
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
        "FLASK_SECRET_KEY": "cli-import-killed-test",
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
    """The import's backend once it waits for the lock on the winners (it has written the
    guild's other rows by then); the test fails if the import ends or never gets there."""
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


def test_an_import_killed_half_way_leaves_nothing_and_a_forced_run_imports_once(
    target, source_url, tmp_path
):
    env, engine = target
    log = tmp_path / "import.log"
    locker = engine.connect()
    holding = locker.begin()
    locker.execute(sa.text("LOCK TABLE imported_winners IN ACCESS EXCLUSIVE MODE"))
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "core", "import", "kick-watchtime-bot", "--from", source_url,
             "--guild", str(SERVER_A)],
            env=env, cwd=tmp_path, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        backend = _waiting_backend(engine, process, log)
        with engine.connect() as conn:  # half way: it holds write locks on the rows before
            written = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE pid = :pid AND granted "
                    "AND mode = 'RowExclusiveLock' AND relation = 'watchtime'::regclass"
                ),
                {"pid": backend},
            ).scalar_one()
        assert written, "the import waits before it wrote any watchtime"
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
