"""Heist crews as plain records, for ``python -m core export --what heists``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from core.features.exports import Export
from core.features.heist import history_repository, repository

FIELDS = (
    "heist_id",
    "platform",
    "platform_user_id",
    "stake",
    "risk",
    "tier",
    "multiplier",
    "won",
    "payout",
    "resolved_at",
)


def export_heists(engine: Engine, guild_id: int) -> list[dict[str, Any]]:
    """One record per participant of each open or resolved heist (a cancelled heist has none:
    every stake went back), with the keys of ``FIELDS`` in that order."""
    with engine.connect() as conn:
        rows = history_repository.export_rows(conn, guild_id)
    records = []
    for row in rows:
        resolved = row.state == repository.RESOLVED
        records.append(
            {
                "heist_id": row.heist_id,
                "platform": str(row.platform),
                "platform_user_id": row.platform_user_id,
                "stake": row.stake,
                "risk": row.risk,
                "tier": row.tier or "",
                "multiplier": (row.tier_multiplier_x100 or 100) / 100,
                "won": bool(row.won) if resolved else False,
                "payout": (row.payout or 0) if resolved else 0,
                "resolved_at": row.resolved_at.isoformat() if resolved else "",
            }
        )
    return records


EXPORTS = {
    "heists": Export(
        FIELDS,
        lambda runtime, guild_id: export_heists(runtime.engine, guild_id),
        "one row per participant per heist",
    )
}
