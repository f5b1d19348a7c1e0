"""Sealing every stored secret again with the newest ``TOKEN_ENCRYPTION_KEY`` (``python -m core
keys rotate``), so that an old key can be dropped from the setting.

The encrypted columns are found by their mark (``info={ENCRYPTED: True}``, core/storage/schema.py)
in every feature's tables, so a feature's new secret is rotated without being listed here. Each
value is replaced only while it is still the one read (a compare-and-set), so a token refreshed
meanwhile is never overwritten with an older one: the refreshed value is read and sealed again in
its turn (a bot still running with the old key first seals its refresh with the old key). A
value no key reads is left as it is, and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.schema import all_tables
from core.security.secrets import TokenCipher, UndecryptableToken
from core.storage.schema import ENCRYPTED


@dataclass
class RotationReport:
    """By ``table.column``: the values sealed again, those the newest key sealed already, and
    those no key reads (a key missing from the setting: dropping keys would not change them),
    and those that kept changing under the rotation (a bot refreshing them: run it again with
    StreamKeeper stopped before dropping a key)."""

    rotated: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)
    changing: dict[str, int] = field(default_factory=dict)


def encrypted_columns() -> list[sa.Column[Any]]:
    """Every column of the schema whose values are encrypted, by table and column name."""
    return sorted(
        (
            column
            for table in all_tables().tables.values()
            for column in table.columns
            if column.info.get(ENCRYPTED)
        ),
        key=lambda column: (column.table.name, column.name),
    )


def rotate_keys(conn: Connection, cipher: TokenCipher) -> RotationReport:
    """Seal every encrypted value again with ``cipher``'s newest key, in ``conn``'s
    transaction."""
    report = RotationReport()
    for column in encrypted_columns():
        table = column.table
        where = f"{table.name}.{column.name}"
        keys = list(table.primary_key.columns)
        rows = conn.execute(sa.select(*keys, column).where(column.is_not(None))).all()
        for row in rows:
            same_row = [key == value for key, value in zip(keys, row, strict=False)]
            outcome = _seal_again(conn, cipher, column, same_row, row[-1])
            if outcome is not None:  # None: the value was cleared or its row deleted meanwhile
                _count(getattr(report, outcome), where)
    return report


def _seal_again(
    conn: Connection, cipher: TokenCipher, column: sa.Column[Any], same_row: list[Any], sealed: Any
) -> str | None:
    """Seal one row's value again, compare-and-set, reading it afresh when it changed meanwhile;
    the name of the report's count it belongs to."""
    for _ in range(_TRIES):
        if sealed is None:
            return None
        if cipher.is_sealed_with_newest(sealed):
            return "current"
        try:
            again = cipher.rotate(sealed)
        except UndecryptableToken:
            return "unreadable"
        swapped = conn.execute(
            sa.update(column.table).where(*same_row, column == sealed).values({column.name: again})
        )
        if swapped.rowcount:
            return "rotated"
        sealed = conn.execute(sa.select(column).where(*same_row)).scalar()
    return "changing"


_TRIES = 5


def _count(counts: dict[str, int], where: str) -> None:
    counts[where] = counts.get(where, 0) + 1
