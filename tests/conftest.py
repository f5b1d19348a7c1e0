"""Shared fixtures: databases (SQLite always, PostgreSQL when available), Redis, settings."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.storage.db import create_engine, migrate
from tests import services

IS_CI = os.environ.get("CI", "").lower() == "true"
FIXTURES = Path(__file__).parent / "fixtures"
TEST_FERNET_KEY = "c3RyZWFta2VlcGVyLXRlc3RzLW9ubHktMzItYnl0ZXM="  # base64 of 32 bytes


def _service_or_skip(start, env_name: str, stack: ExitStack) -> str:
    given = os.environ.get(env_name)
    if given:
        return given
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


def _fresh_postgres_database(server_url: str) -> str:
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"sk_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return _fresh_postgres_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = create_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite database, for tests whose subject is not the backend."""
    engine = create_engine(f"sqlite:///{tmp_path / 'test.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def kick_keys():
    """A throwaway Kick-style key pair: (private key, public key PEM)."""
    from core.platforms.kick.signing import generate_key_pair

    return generate_key_pair()


@pytest.fixture
def make_runtime(tmp_path: Path, kick_keys):
    """Build Runtimes from setting overrides (SQLite under tmp_path unless DATABASE_URL is given).

    Every runtime is migrated and closed after the test.
    """
    from core.config import load_settings
    from core.runtime import Runtime

    built: list[Runtime] = []

    def make(**overrides: str) -> Runtime:
        values = {
            "DATA_DIR": str(tmp_path / "data"),
            "PORT": "0",  # a server a test starts takes a free port, never a developer's 8080
            "KICK_WEBHOOK_PUBLIC_KEY": kick_keys[1],
            "LOG_LEVEL": "DEBUG",
            "FLASK_SECRET_KEY": "test-link-secret",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            **overrides,
        }
        runtime = Runtime(load_settings(values, env_file=None))
        runtime.migrate()
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        runtime.close()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    """A migrated, empty PostgreSQL database."""
    engine = create_engine(_fresh_postgres_database(postgres_url))
    migrate(engine)
    yield engine
    engine.dispose()
