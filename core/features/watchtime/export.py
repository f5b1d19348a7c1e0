"""The watchtime totals as plain records, for ``python -m core export --what watchtime``."""

from __future__ import annotations

from typing import Any

from core.features.exports import Export

FIELDS = ("platform", "platform_user_id", "username", "seconds", "last_seen")


def _rows(runtime: Any, guild_id: int) -> list[dict[str, Any]]:
    return [
        {
            "platform": str(row.platform),
            "platform_user_id": row.platform_user_id,
            "username": row.username,
            "seconds": row.seconds,
            "last_seen": row.last_seen.isoformat() if row.last_seen else None,
        }
        for row in runtime.watchtime.export(guild_id)
    ]


EXPORTS = {"watchtime": Export(FIELDS, _rows, "seconds watched per viewer")}
