"""Temporary VIP's analytics for a guild over the last 7, 30 or 90 days, read from the audit log
(what was granted, by which rule, for how long, what was refunded and why) and the grants (who
held VIP each day, outside VIPs): the VIP page's charts and ``python -m core export --what
vip-analytics`` both show these numbers, so they agree with the audit by construction.

Hours granted are what each grant or extension added: a grant's expiry minus its time, an
extension's new expiry minus the later of its old expiry and its time (what it really added).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.viewers.repository import usernames_of
from core.features.vip import repository, rules_repository
from core.features.vip.repository import OUTSIDE, AuditEntry
from core.features.vip.tables import vip_grants

WINDOWS = (7, 30, 90)
GRANTING = ("granted", "extended")
TOP = 10
BY_HAND = "by hand"
BEFORE_RULES = "the reward (before rules)"


@dataclass(frozen=True)
class VipAnalytics:
    days: int
    since: datetime
    until: datetime
    active: list[tuple[date, int]]  # VIPs (temporary and outside) held at the end of each day
    by_rule: list[tuple[str, int]]  # grants and extensions, by the rule (its words), most first
    by_platform: list[tuple[str, int]]
    hours_by_rule: list[tuple[str, float]]
    hours_total: float
    refunds: list[tuple[str, int]]  # refunded redemptions, by why
    outside_now: int  # outside VIPs held now
    outside_seen: int  # outside VIPs first seen in the window
    top_viewers: list[tuple[str, str, float]]  # (platform, name, VIP hours), most first

    @property
    def grants(self) -> int:
        return sum(count for _, count in self.by_rule)


def added_hours(entry: AuditEntry) -> float:
    """The VIP time a grant or extension added, in hours (0 for an entry without an expiry)."""
    if entry.new_expires_at is None:
        return 0.0
    start = max(entry.previous_expires_at or entry.at, entry.at)
    return max((entry.new_expires_at - start).total_seconds() / 3600, 0.0)


def rule_label(entry: AuditEntry, rules: dict[int, str]) -> str:
    """What granted ``entry``: its rule's words (the rule's number when removed since), by hand,
    or the reward from before rules."""
    if entry.rule_id is not None:
        return rules.get(entry.rule_id, f"rule {entry.rule_id} (removed)")
    return BY_HAND if entry.actor_kind == "discord" else BEFORE_RULES


def analytics(conn: Connection, guild_id: int, days: int, now: datetime) -> VipAnalytics:
    since = now - timedelta(days=days)
    moment = timedelta(microseconds=1)  # the window includes ``now``
    entries = repository.audit_log(conn, guild_id, limit=None, since=since, until=now + moment)
    rules = {r.id: r.label() for r in rules_repository.list_rules(conn, guild_id)}
    by_rule: Counter[str] = Counter()
    by_platform: Counter[str] = Counter()
    hours_by_rule: defaultdict[str, float] = defaultdict(float)
    hours_by_viewer: defaultdict[tuple[str, str], float] = defaultdict(float)
    refunds: Counter[str] = Counter()
    names: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.action in GRANTING:
            label = rule_label(entry, rules)
            hours = added_hours(entry)
            by_rule[label] += 1
            by_platform[str(entry.platform)] += 1
            hours_by_rule[label] += hours
            viewer = (str(entry.platform), entry.platform_user_id)
            hours_by_viewer[viewer] += hours
            names[viewer] = entry.username
        elif entry.action == "refunded":
            refunds[entry.reason or "no reason given"] += 1
    top = sorted(hours_by_viewer.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    known = usernames_of(conn, [viewer for viewer, _hours in top])  # the names shown, no more
    return VipAnalytics(
        days=days,
        since=since,
        until=now,
        active=_active_by_day(conn, guild_id, since, now),
        by_rule=by_rule.most_common(),
        by_platform=by_platform.most_common(),
        hours_by_rule=sorted(hours_by_rule.items(), key=lambda item: (-item[1], item[0])),
        hours_total=sum(hours_by_rule.values()),
        refunds=refunds.most_common(),
        outside_now=_count_outside(conn, guild_id, None, None),
        outside_seen=_count_outside(conn, guild_id, since, now),
        top_viewers=[
            (platform, known.get(f"{platform}:{user}", names[(platform, user)]), hours)
            for (platform, user), hours in top
        ],
    )


def _active_by_day(
    conn: Connection, guild_id: int, since: datetime, until: datetime
) -> list[tuple[date, int]]:
    """For each day of the window, the VIPs held at its end (or now, for today)."""
    g = vip_grants.c
    rows = conn.execute(
        sa.select(g.granted_at, g.removed_at).where(
            g.guild_id == guild_id,
            g.granted_at < until,
            sa.or_(g.removed_at.is_(None), g.removed_at >= since),
        )
    ).all()
    days = []
    day = since.date()
    while day <= until.date():
        end = min(
            datetime.combine(day + timedelta(days=1), datetime.min.time(), until.tzinfo), until
        )
        held = sum(
            1 for r in rows if r.granted_at <= end and (r.removed_at is None or r.removed_at > end)
        )
        days.append((day, held))
        day += timedelta(days=1)
    return days


def _count_outside(
    conn: Connection, guild_id: int, since: datetime | None, until: datetime | None
) -> int:
    """Outside VIPs held now (no window), or first seen within the window."""
    g = vip_grants.c
    query = sa.select(sa.func.count()).where(g.guild_id == guild_id, g.source == OUTSIDE)
    if since is None or until is None:
        query = query.where(g.removed_at.is_(None))
    else:
        query = query.where(g.granted_at >= since, g.granted_at < until)
    return int(conn.execute(query).scalar_one())


def platform_name(platform: str) -> str:
    return Platform(platform).name.title()
