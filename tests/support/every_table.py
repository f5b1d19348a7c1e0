"""A row in every table keyed by a ``guild_id``, for tests that must see a server's data
everywhere at once (``guild remove`` deletes one server's and leaves another's alone).

The values are made up from each column's type, different for each ``mark`` so that two servers'
rows never meet on a unique key; the ids that tie one table's row to another's (a raffle
period's, a draw's, a heist's, an outbox call's) point at the server's own rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from core.features.guild_forget import guild_tables

AT = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)

# column -> the table whose row (of the same server) it points at
_POINTS_AT = {
    ("raffle", "period_id"): "raffle_periods",
    ("raffle", "draw_id"): "raffle_draws",
    ("heist", "heist_id"): "heists",
    ("payments", "outbox_id"): "outbox",
}


def fill_every_guild_table(
    conn: sa.Connection, guild_id: int, mark: int, **chosen: dict[str, Any]
) -> None:
    """One row of ``guild_id`` in each table keyed by a guild where it has none yet; ``mark``
    (a small number) tells one server's made-up values from another's. ``chosen``: values a
    table's row must have (``raffle_periods={"status": "open"}``)."""
    ids: dict[str, Any] = {}
    parents = set(_POINTS_AT.values())
    # Parents first: those of an id kept unchecked, then in foreign keys' order (a stable sort).
    by_foreign_keys = list(reversed(guild_tables()))
    for table in sorted(by_foreign_keys, key=lambda t: t.name not in parents):
        mine = table.c.guild_id == guild_id
        if conn.execute(sa.select(sa.func.count()).select_from(table).where(mine)).scalar():
            continue
        row = {
            column.name: _value(table, column, guild_id, mark, ids)
            for column in table.c
            if not _is_generated(table, column)
        }
        row.update(chosen.get(table.name, {}))
        inserted = conn.execute(sa.insert(table).values(row).returning(*table.primary_key))
        ids[table.name] = inserted.one()[0]


def _is_generated(table: sa.Table, column: sa.Column) -> bool:
    """An id the database numbers itself."""
    return (
        column.primary_key
        and len(table.primary_key.columns) == 1
        and isinstance(column.type, sa.Integer)
        and column.name != "guild_id"
    )


def _value(
    table: sa.Table, column: sa.Column, guild_id: int, mark: int, ids: dict[str, Any]
) -> Any:
    if column.name == "guild_id":
        return guild_id
    for (prefix, name), parent in _POINTS_AT.items():
        if table.name.startswith(prefix) and column.name == name:
            return ids[parent]
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return mark
    if isinstance(kind, sa.LargeBinary):
        return bytes([mark])
    if isinstance(kind, sa.DateTime):
        return AT
    text = f"{mark}{column.name}"
    length = getattr(kind, "length", None)
    return text[:length] if length else text
