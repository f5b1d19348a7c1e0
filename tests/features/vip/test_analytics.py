"""VIP analytics agree with the audit log on a seeded month of grants: the numbers the VIP page
charts and ``export --what vip-analytics`` gives are those counted here straight from the
seeded entries, for 7, 30 and 90 days."""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.vip import repository, rules_repository
from core.features.vip.analytics import BY_HAND, analytics
from core.features.vip.export import export_analytics
from core.features.vip.repository import OUTSIDE, AuditEntry, Grant
from core.features.vip.rules_repository import VipRule
from core.storage.db import transaction
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
G = 111
REASONS = ("the channel has no free VIP slots", "canceled on Twitch before StreamKeeper handled it")


def seed(engine: Engine, guild_id: int, now: datetime) -> list[AuditEntry]:
    """A month (and a bit) of grants, extensions by two rules and by hand, refunds, removals,
    and an outside VIP; the audit entries written, for counting."""
    pick = random.Random(47)  # noqa: S311 (a repeatable month, no secret)
    written = []
    with transaction(engine) as conn:
        ids = [
            rules_repository.add_rule(
                conn,
                VipRule(0, guild_id, platform, kind, hours, now, at_least=at_least),
            )
            for platform, kind, hours, at_least in (
                (Platform.TWITCH, "bits", 24, 500),
                (Platform.KICK, "kicks", 12, 100),
            )
        ]
        for n in range(60):
            at = now - timedelta(days=pick.uniform(0.2, 40))
            platform = pick.choice((Platform.TWITCH, Platform.KICK))
            viewer = str(pick.randint(1, 8))
            action = pick.choice(("granted", "extended", "refunded", "removed"))
            rule_id = ids[0] if platform is Platform.TWITCH else ids[1]
            by_hand = action != "refunded" and n % 7 == 0
            previous = at + timedelta(hours=pick.choice((-3, 5))) if action == "extended" else None
            entry = AuditEntry(
                guild_id=guild_id,
                platform=platform,
                broadcaster_user_id="b",
                platform_user_id=viewer,
                username=f"viewer{viewer}",
                action=action,
                actor_kind="discord" if by_hand else "viewer",
                at=at,
                reason=pick.choice(REASONS) if action == "refunded" else None,
                previous_expires_at=previous,
                new_expires_at=(previous or at) + timedelta(hours=pick.choice((12, 24)))
                if action in ("granted", "extended")
                else None,
                rule_id=None if by_hand or action == "refunded" else rule_id,
            )
            repository.add_audit(conn, entry)
            written.append(entry)
        for days_ago, removed_days_ago, source in (
            (20, 5, "rule"),
            (3, None, "rule"),
            (10, None, OUTSIDE),
        ):
            repository.add_grant(
                conn,
                Grant(
                    0,
                    guild_id,
                    Platform.TWITCH,
                    "b",
                    f"u{days_ago}",
                    f"u{days_ago}",
                    source,
                    now - timedelta(days=days_ago, hours=1),
                    None,
                    removed_at=None
                    if removed_days_ago is None
                    else now - timedelta(days=removed_days_ago, hours=1),
                ),
            )
    return written


def expected(written: list[AuditEntry], days: int, now: datetime) -> dict:
    """Counted straight from the audit entries, without the analytics code."""
    since = now - timedelta(days=days)
    inside = [e for e in written if since <= e.at <= now]
    grants = [e for e in inside if e.action in ("granted", "extended")]

    def hours(e: AuditEntry) -> float:
        start = max(e.previous_expires_at or e.at, e.at)
        return max((e.new_expires_at - start).total_seconds() / 3600, 0.0)

    by_viewer: defaultdict[tuple[str, str], float] = defaultdict(float)
    for e in grants:
        by_viewer[(str(e.platform), e.platform_user_id)] += hours(e)
    return {
        "by_platform": Counter(str(e.platform) for e in grants),
        "by_hand": sum(1 for e in grants if e.actor_kind == "discord"),
        "hours": sum(hours(e) for e in grants),
        "refunds": Counter(e.reason for e in inside if e.action == "refunded"),
        "viewer_hours": sorted(by_viewer.values(), reverse=True)[:10],
    }


@pytest.mark.parametrize("days", [7, 30, 90])
def test_analytics_agree_with_the_audit_on_a_seeded_month(engine: Engine, days: int) -> None:
    written = seed(engine, G, NOW)
    want = expected(written, days, NOW)
    with engine.connect() as conn:
        got = analytics(conn, G, days, NOW)

    assert Counter(dict(got.by_platform)) == want["by_platform"]
    assert dict(got.by_rule).get(BY_HAND, 0) == want["by_hand"]
    assert got.grants == sum(want["by_platform"].values())
    assert got.hours_total == pytest.approx(want["hours"])
    assert sum(h for _, h in got.hours_by_rule) == pytest.approx(want["hours"])
    assert Counter(dict(got.refunds)) == want["refunds"]
    assert [h for _, _, h in got.top_viewers] == pytest.approx(want["viewer_hours"])
    assert got.outside_now == 1
    assert got.outside_seen == (1 if days >= 10 else 0)
    held = dict(got.active)
    assert len(held) == days + 1  # each day of the window, today's so far included
    assert held[(NOW - timedelta(days=6)).date()] == 2  # the first rule grant, the outside VIP
    assert held[NOW.date()] == 2  # the second rule grant, the outside VIP


def test_the_export_gives_the_same_numbers_for_each_window(engine: Engine) -> None:
    written = seed(engine, G, NOW)
    records = export_analytics(engine, G, NOW)
    assert list(dict.fromkeys(r["days"] for r in records)) == [7, 30, 90]
    for days in (7, 30, 90):
        mine = [r for r in records if r["days"] == days]
        want = expected(written, days, NOW)
        total = next(r["value"] for r in mine if r["section"] == "hours_total")
        assert total == pytest.approx(want["hours"], abs=0.01)
        by_platform = {r["key"]: r["value"] for r in mine if r["section"] == "grants_by_platform"}
        assert Counter(by_platform) == want["by_platform"]
        refunds = {r["key"]: r["value"] for r in mine if r["section"] == "refunds"}
        assert Counter(refunds) == want["refunds"]


def test_the_command_line_export_is_the_same(cli_env, make_runtime) -> None:  # noqa: F811
    runtime = make_runtime(DATA_DIR=cli_env["DATA_DIR"])
    now = datetime.now(UTC)
    written = seed(runtime.engine, int(GUILD), now)
    args = ("export", "--guild", GUILD, "--what", "vip-analytics", "--format")
    as_json = cli(cli_env, *args, "json")
    assert as_json.returncode == 0, as_json.stderr
    records = json.loads(as_json.stdout)
    for days in (7, 30, 90):
        want = expected(written, days, now)
        total = next(
            r["value"] for r in records if (r["days"], r["section"]) == (days, "hours_total")
        )
        assert total == pytest.approx(want["hours"], abs=0.01)
    as_csv = cli(cli_env, *args, "csv")
    assert as_csv.stdout.splitlines()[0] == "days,section,key,value"
