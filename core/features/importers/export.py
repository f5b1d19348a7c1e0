"""Winners of raffles another bot drew, for ``python -m core export --what imported-winners``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.features.exports import Export
from core.features.importers.repository import list_winners

FIELDS = (
    "source_ref",
    "drawn_at",
    "period_starts_at",
    "period_ends_at",
    "username",
    "platform_user_id",
    "discord_user_id",
    "tickets",
    "prize",
)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _rows(runtime: Any, guild_id: int) -> list[dict[str, Any]]:
    with runtime.engine.connect() as conn:
        winners = list_winners(conn, guild_id)
    return [
        {
            "source_ref": w.source_ref,
            "drawn_at": _iso(w.drawn_at),
            "period_starts_at": _iso(w.period_starts_at),
            "period_ends_at": _iso(w.period_ends_at),
            "username": w.username,
            "platform_user_id": w.platform_user_id,
            "discord_user_id": w.discord_user_id,
            "tickets": w.tickets,
            "prize": w.prize,
        }
        for w in winners
    ]


EXPORTS = {
    "imported-winners": Export(
        FIELDS, _rows, "winners of raffles drawn by another bot (import kick-watchtime-bot)"
    )
}
