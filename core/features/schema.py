"""The whole schema: the bus's tables and every feature's, each declared on the one MetaData of
:mod:`core.storage.schema` by the feature's own ``tables.py``, found by looking (a new feature
adds its tables without touching a list). A new database is created from it (``migrate``); the
schema test checks it against the migrations' baseline, and Alembic's autogenerate compares
against it (``target_metadata`` in the migration config's attributes)."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

import core.features
import core.storage.tables
from core.storage import db
from core.storage.schema import metadata


def all_tables() -> MetaData:
    """``metadata`` with every table in it."""
    for info in pkgutil.iter_modules(core.features.__path__):
        name = f"{core.features.__name__}.{info.name}.tables"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    return metadata


def migrate(engine: Engine) -> None:
    """Bring ``engine``'s database to the newest schema, every table above included."""
    db.migrate(engine, all_tables())
