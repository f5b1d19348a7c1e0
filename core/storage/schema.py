"""The schema's common parts: the one MetaData and the column types every table uses.

Each feature owns its tables (``core/features/<feature>/tables.py``) and registers them by
declaring them on :data:`metadata`; the event bus's tables are in :mod:`core.storage.tables`.
Storage knows no feature: the whole schema is gathered above it
(:func:`core.features.schema.all_tables`). Repositories query the tables; the Alembic migrations
create them (a test checks that the two agree). Feature tables are keyed by ``guild_id``; viewers
by ``(platform, platform_user_id)``; :mod:`core.storage.columns` declares those groups once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Dialect,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    event,
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
# A column's ``info`` key marking values encrypted with TOKEN_ENCRYPTION_KEY
# (``info={ENCRYPTED: True}``): ``python -m core keys rotate`` seals them again with a new key.
ENCRYPTED = "encrypted"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def keep_pages_free(table: Table, fillfactor: int) -> Table:
    """``table`` created on PostgreSQL with ``fillfactor`` percent of each page filled, the rest
    left free, so an update's new row version stays on its page (a HOT update, which touches no
    index). SQLAlchemy 2.0 cannot declare a table's storage parameters; SQLite has none."""
    ddl = DDL(f"ALTER TABLE {table.name} SET (fillfactor = {fillfactor})")
    event.listen(table, "after_create", ddl.execute_if(dialect="postgresql"))
    return table
