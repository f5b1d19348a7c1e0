"""Temporary VIP as plain records: the audit log (``python -m core export --what vip-audit``)
and its analytics for 7, 30 and 90 days (``--what vip-analytics``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from core.features.exports import Export
from core.features.vip import repository
from core.features.vip.analytics import WINDOWS, VipAnalytics, analytics

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


ANALYTICS_FIELDS = ("days", "section", "key", "value")


def analytics_records(result: VipAnalytics) -> list[dict[str, Any]]:
    """One window's numbers, one per row: ``section`` says which (``active`` by day,
    ``grants_by_rule``, ``grants_by_platform``, ``hours_by_rule``, ``hours_total``,
    ``refunds`` by why, ``outside_now``, ``outside_seen``, ``top_viewers`` as
    ``platform:name``); hours rounded to 0.01."""
    rows: list[tuple[str, str, float | int]] = [
        *(("active", day.isoformat(), held) for day, held in result.active),
        *(("grants_by_rule", label, n) for label, n in result.by_rule),
        *(("grants_by_platform", platform, n) for platform, n in result.by_platform),
        *(("hours_by_rule", label, round(h, 2)) for label, h in result.hours_by_rule),
        ("hours_total", "", round(result.hours_total, 2)),
        *(("refunds", why, n) for why, n in result.refunds),
        ("outside_now", "", result.outside_now),
        ("outside_seen", "", result.outside_seen),
        *(("top_viewers", f"{p}:{name}", round(h, 2)) for p, name, h in result.top_viewers),
    ]
    return [dict(zip(ANALYTICS_FIELDS, (result.days, *row), strict=True)) for row in rows]


def export_analytics(engine: Engine, guild_id: int, now: datetime) -> list[dict[str, Any]]:
    """The analytics of each window (7, 30, 90 days) ending ``now``, in that order."""
    with engine.connect() as conn:
        return [
            record
            for days in WINDOWS
            for record in analytics_records(analytics(conn, guild_id, days, now))
        ]


EXPORTS = {
    "vip-audit": Export(
        EXPORT_FIELDS,
        lambda runtime, guild_id: export_audit(runtime.engine, guild_id),
        "the temporary VIP audit log",
    ),
    "vip-analytics": Export(
        ANALYTICS_FIELDS,
        lambda runtime, guild_id: export_analytics(runtime.engine, guild_id, runtime.clock()),
        "temporary VIP's analytics for 7, 30 and 90 days",
        found=lambda records: any(record["value"] for record in records),
    ),
}
