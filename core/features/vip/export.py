"""The VIP audit log as plain records, for ``python -m core export --what vip-audit``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.features.exports import Export
from core.features.vip import repository

EXPORT_FIELDS = ("at", *(name for name in repository.AUDIT_FIELDS if name != "at"))


def export_audit(engine: Engine, guild_id: int) -> list[dict[str, Any]]:
    """The guild's whole VIP audit log, oldest first, as plain values (times in ISO 8601), each
    with the keys of ``EXPORT_FIELDS`` in that order."""
    with engine.connect() as conn:
        entries = repository.audit_log(conn, guild_id, limit=None)
    records = []
    for entry in entries:
        values = {**entry.__dict__, "platform": str(entry.platform)}
        records.append(
            {
                name: v.isoformat() if isinstance(v := values[name], datetime) else v
                for name in EXPORT_FIELDS
            }
        )
    return records


EXPORTS = {
    "vip-audit": Export(
        EXPORT_FIELDS,
        lambda runtime, guild_id: export_audit(runtime.engine, guild_id),
        "the temporary VIP audit log",
    )
}
