"""Shared fixtures: databases (SQLite always, PostgreSQL when available), Redis, settings.

Migrating a database takes a tenth of a second on SQLite and more on PostgreSQL, and thousands of
tests want a migrated one: each worker migrates one template per backend once, and a test gets a
copy (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL). ``TEST_FAST=1``
(``make test-fast``) runs without servers or a browser: SQLite only, and the tests that need
PostgreSQL, Redis or Chromium are skipped, saying why.
"""

from __future__ import annotations

import atexit
import functools
import itertools
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import Settings
from core.features.schema import migrate
from core.storage.db import create_engine, sqlite_url
from tests import services
from tests.support import loopback_only, open_connections
from tests.support.order import spread_the_slow_ones

IS_CI = os.environ.get("CI", "").lower() == "true"
FAST = os.environ.get("TEST_FAST", "").lower() in {"1", "true", "yes"}
FIXTURES = Path(__file__).parent / "fixtures"
TEST_FERNET_KEY = "c3RyZWFta2VlcGVyLXRlc3RzLW9ubHktMzItYnl0ZXM="  # base64 of 32 bytes
SQLITE_FILE = "test.sqlite3"


BROWSER_TESTS = Path(__file__).parent / "web" / "browser"
# Where the processes each test starts write what the loopback guard refused there, a file per
# test (``tests/support/loopback_only.children_too``).
_CHILD_REPORTS = tempfile.mkdtemp(prefix="streamkeeper-loopback-")
atexit.register(shutil.rmtree, _CHILD_REPORTS, True)
_test_numbers = itertools.count()


_SESSION_REPORT = os.path.join(_CHILD_REPORTS, "session.txt")


def pytest_configure(config: pytest.Config) -> None:
    """A connection left open names the test that opened it (``tests/support/open_connections``);
    nothing beyond loopback is reached from here on (``tests/support/loopback_only.py``)."""
    open_connections.install()
    config.pluginmanager.register(open_connections, "open_connections")
    loopback_only.install_for_session(_SESSION_REPORT)


@pytest.fixture(scope="session", autouse=True)
def _loopback_only_outside_tests() -> Iterator[None]:
    """What session and module fixtures, and processes no test started, tried beyond loopback
    fails the session's last test (a test's own tries fail it: ``_loopback_only``)."""
    yield
    tried = loopback_only.reached + loopback_only.refused_in_children(_SESSION_REPORT)
    if tried:
        pytest.fail(f"outside any test, something reached beyond loopback: {', '.join(tried)}")


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test reaches this machine only: an address beyond loopback fails as the system
    would fail it, and the test fails naming it, unless it is marked ``beyond_loopback``
    (``tests/support/loopback_only.py``)."""
    before = len(loopback_only.reached)
    report_to = os.path.join(_CHILD_REPORTS, f"{next(_test_numbers)}.txt")
    with loopback_only.children_too(report_to):
        yield
    tried = loopback_only.reached[before:] + loopback_only.refused_in_children(report_to)
    del loopback_only.reached[before:]  # this test's: what stays was tried outside any test
    if tried and request.node.get_closest_marker("beyond_loopback") is None:
        pytest.fail(f"the test reached beyond loopback: {', '.join(tried)}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests that drive Chromium ``browser`` and, with those that start ``python -m
    core`` processes (``cli_env``), ``slow``; ``make test-fast`` skips both. Then order them for
    pytest-xdist (``tests/support/order.py``)."""
    skip = pytest.mark.skip(reason="make test-fast: no browser (make test runs it)")
    for item in items:
        if item.path.is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)
            if FAST:
                item.add_marker(skip)
        if "cli_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
    workerinput = getattr(config, "workerinput", None)
    workers = int(workerinput["workercount"]) if workerinput else 1
    items[:] = spread_the_slow_ones(items, workers)


def _service_or_skip(start, env_name: str, stack: ExitStack) -> str:
    given = os.environ.get(env_name)
    if given:
        return given
    if FAST:
        pytest.skip("make test-fast: no servers (make test runs this)")
    try:
        return stack.enter_context(start())
    except services.ServiceUnavailable as exc:
        if IS_CI:
            pytest.fail(f"{exc}; under CI this server is required (run 'make test')")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def _servers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def postgres_url(_servers: ExitStack) -> str:
    return _service_or_skip(services.postgres_server, "TEST_DATABASE_URL", _servers)


@pytest.fixture(scope="session")
def redis_url(_servers: ExitStack) -> str:
    return _service_or_skip(services.redis_server, "TEST_REDIS_URL", _servers)


def _fresh_postgres_database(
    server_url: str, template: str | None = None, *, for_this_test: bool = True
) -> str:
    """A new database on the server: empty, or a copy of ``template`` (a database name).
    ``for_this_test``: dropped once the running test and its fixtures are done, so the server
    (in memory, see ``tests.services``) holds only what the running test uses."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"sk_{uuid.uuid4().hex[:12]}"
    # FILE_COPY copies the template's files as they are; the default (WAL_LOG) writes each of
    # its pages to the WAL, a third more of the server's time for every copy.
    copy_of = f' TEMPLATE "{template}" STRATEGY = FILE_COPY' if template else ""
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{copy_of}'))
    admin.dispose()
    if for_this_test:
        _DROP_AFTER_TEST.append((server_url, name))
    return _database_url(server_url, name)


_DROP_AFTER_TEST: list[tuple[str, str]] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """After a test's fixtures are torn down (its runtimes and engines closed), its databases go."""
    try:
        return (yield)
    finally:
        while _DROP_AFTER_TEST:
            _drop_database(*_DROP_AFTER_TEST.pop())


def _drop_database(server_url: str, name: str) -> None:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except sa.exc.SQLAlchemyError:
        pass  # the server is gone (a test stopped it): its files go with it
    finally:
        admin.dispose()


def _database_url(server_url: str, name: str) -> str:
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session")
def _postgres_template(postgres_url: str) -> str:
    """A migrated database on this worker's PostgreSQL that nobody connects to: the template of
    every migrated database a test asks for (PostgreSQL refuses to copy a database in use)."""
    url = _fresh_postgres_database(postgres_url, for_this_test=False)
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    return url.rsplit("/", 1)[1]


@functools.cache
def sqlite_template() -> Path:
    """This process's migrated SQLite file (made at its first use), copied for each test that
    wants a migrated SQLite database. A function rather than a fixture, so that helpers which
    build a Runtime outside a fixture (``tests/fakes/kick_runtime.py``) copy it too."""
    folder = Path(tempfile.mkdtemp(prefix="streamkeeper-template-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / SQLITE_FILE
    engine = create_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL: the file alone is the database
    return path


def migrated_postgres_url(request: pytest.FixtureRequest) -> str:
    """The URL of a new migrated PostgreSQL database (skips where there is no server)."""
    server_url = request.getfixturevalue("postgres_url")
    return _fresh_postgres_database(server_url, request.getfixturevalue("_postgres_template"))


def migrated_sqlite_file(path: Path) -> Path:
    """``path`` made a migrated SQLite database (a copy of this worker's template)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(sqlite_template(), path)
    return path


def with_migrated_sqlite(settings: Settings) -> Settings:
    """``settings``, after giving them a migrated database when they keep it in DATA_DIR's
    SQLite file and that file does not exist yet: copying the template takes a file copy's
    time, where migrating a new file takes a fifth of a second. A Runtime built again on the
    same DATA_DIR (a restart) finds its data."""
    if settings.database.url is None:
        path = Path(sqlite_url(settings.data_dir).removeprefix("sqlite:///"))
        if not path.exists():
            migrated_sqlite_file(path)
    return settings


BACKENDS = ["sqlite"] if FAST else ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / SQLITE_FILE}"
    return _fresh_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture(params=BACKENDS)
def migrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh migrated database's URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{migrated_sqlite_file(tmp_path / SQLITE_FILE)}"
    return migrated_postgres_url(request)


@pytest.fixture
def engine(migrated_database_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = create_engine(migrated_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for tests whose subject is not the backend."""
    engine = create_engine(f"sqlite:///{migrated_sqlite_file(tmp_path / SQLITE_FILE)}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def kick_keys():
    """A throwaway Kick-style key pair: (private key, public key PEM)."""
    from core.platforms.kick.signing import generate_key_pair

    return generate_key_pair()


@pytest.fixture
def make_runtime(tmp_path: Path, kick_keys):
    """Build Runtimes from setting overrides (SQLite under tmp_path unless DATABASE_URL is given),
    on the wall clock or on ``clock=``.

    Every runtime is migrated and closed after the test. A new SQLite file starts as a copy of
    the migrated template; a second runtime on the same DATA_DIR (a restart) finds its data.
    """
    from core.config import load_settings
    from core.runtime import Runtime

    built: list[Runtime] = []

    def make(*, clock: Callable[[], datetime] | None = None, **overrides: str) -> Runtime:
        values = {
            "DATA_DIR": str(tmp_path / "data"),
            "PORT": "0",  # a server a test starts takes a free port, never a developer's 8080
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
            "LOG_LEVEL": "DEBUG",
            "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            # No drand relay is reached (nothing answers there): a draw waits, or is forced.
            "RAFFLE_BEACON_URL": loopback_only.NOBODY,
            **overrides,
        }
        settings = with_migrated_sqlite(load_settings(values, env_file=None))
        runtime = Runtime(settings) if clock is None else Runtime(settings, clock=clock)
        runtime.migrate()
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        runtime.close()


# The channels of Kick's example payloads (tests/fixtures/kick/), and the guilds that follow them.
KICK_EXAMPLE_CHANNELS = {111: ("broadcaster_channel", "123456789"), 222: ("gigachad", "333")}


@pytest.fixture
def kick_examples_runtime(make_runtime, migrated_database_url):
    """A runtime (on SQLite and on PostgreSQL) whose guild 111 follows the channel of Kick's
    example payloads and guild 222 the one its reward redemption example is for."""
    runtime = make_runtime(DATABASE_URL=migrated_database_url)
    for guild_id, (slug, broadcaster_user_id) in KICK_EXAMPLE_CHANNELS.items():
        runtime.guilds.set_kick_channel(guild_id, slug, broadcaster_user_id)
    return runtime


@pytest.fixture
def postgres_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database."""
    engine = create_engine(migrated_postgres_url(request))
    yield engine
    engine.dispose()
