"""Balances as plain records, for ``python -m core export --what points``."""

from __future__ import annotations

from typing import Any

from core.features.exports import Export

FIELDS = ("platform", "platform_user_id", "username", "balance")


def _rows(runtime: Any, guild_id: int) -> list[dict[str, Any]]:
    return [
        {
            "platform": str(row.platform),
            "platform_user_id": row.platform_user_id,
            "username": row.username,
            "balance": row.points,
        }
        for row in runtime.points.export(guild_id)
    ]


EXPORTS = {"points": Export(FIELDS, _rows, "each viewer's points balance")}
