"""The schema's common parts: the one MetaData, the column types every table uses, and
:func:`load_tables`, which gathers every table.

Each feature owns its tables (``core/features/<feature>/tables.py``); the event bus's tables are in
:mod:`core.storage.tables`. Repositories query them; the Alembic migrations create them (a test
checks that the two agree). Feature tables are keyed by ``guild_id``; viewers by
``(platform, platform_user_id)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    TypeDecorator,
)

from core.events import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which has no time zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Snowflake = BigInteger  # Discord ids fit in a signed 64-bit integer.
UserId = String(64)
PlatformName = String(16)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def load_tables() -> MetaData:
    """``metadata`` with every table in it: the bus's, and each feature's ``tables.py``, found by
    looking (migrations and the schema test need the whole schema; a feature adds its tables
    without touching a list)."""
    import core.features
    import core.storage.tables

    for info in pkgutil.iter_modules(core.features.__path__):
        name = f"{core.features.__name__}.{info.name}.tables"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return metadata
