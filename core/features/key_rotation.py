"""Sealing every stored secret again with the newest ``TOKEN_ENCRYPTION_KEY`` (``python -m core
keys rotate``), so that an old key can be dropped from the setting.

The encrypted columns are found by their mark (``info={ENCRYPTED: True}``, core/storage/schema.py)
in every feature's tables, so a feature's new secret is rotated without being listed here. Each
value is replaced only while it is still the one read (a compare-and-set), so a token refreshed
meanwhile is never overwritten with an older one; a value no key reads is left as it is, and
counted.
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
    those no key reads (a key missing from the setting: dropping keys would not change them)."""

    rotated: dict[str, int] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    unreadable: dict[str, int] = field(default_factory=dict)


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
            sealed = row[-1]
            if cipher.is_sealed_with_newest(sealed):
                _count(report.current, where)
                continue
            try:
                again = cipher.rotate(sealed)
            except UndecryptableToken:
                _count(report.unreadable, where)
                continue
            same_row = [key == value for key, value in zip(keys, row, strict=False)]
            conn.execute(
                sa.update(table).where(*same_row, column == sealed).values({column.name: again})
            )
            _count(report.rotated, where)
    return report


def _count(counts: dict[str, int], where: str) -> None:
    counts[where] = counts.get(where, 0) + 1
