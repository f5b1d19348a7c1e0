"""Heist crews as plain records, for ``python -m core export --what heists``."""

from __future__ import annotations

from typing import Any

from core.features.exports import Export

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


def _rows(runtime: Any, guild_id: int) -> list[dict[str, Any]]:
    return runtime.heist.export(guild_id)


EXPORTS = {"heists": Export(FIELDS, _rows, "one row per participant per heist")}
