"""The scale bench's data (issue 26): G guilds x V present viewers in the state a running bot
leaves them in just before the tick of the instant ``T``, written with a few server-side
``INSERT ... SELECT`` statements (untimed).

Per guild (ids spread over the 16 partitions, :func:`guild_ids`): a Kick channel, live, its
clock one interval back (``T - 60 s``), V viewers who chatted 30 s before ``T``. Their
watchtime totals are such that one viewer in :data:`DUE_EVERY` crosses a full hour at this tick
(:func:`crosses_hour`): a viewer watching without a break crosses one every 60 ticks, so that
is the steady share. A raffle running, with its open period (beacon round fixed, announced) and
the viewers' progress up to their last full hour: the raffle's conversion pays the ones that
cross. Points for watching at 2 a minute, the earnings clock one interval back; each guild's
30-minute posting windows start at its own minute (``accrual.window_phase``), so one guild in
30 closes its window at ``T`` (:func:`closes_window`): its viewers have 29 minutes accrued, and
the tick's minute closes the window, posted as one ledger row per viewer; the others' viewers
have the minutes of their window so far (0 to 28) and accrue one more. Each viewer has a
balance and the ledger row of the window before.

VIP: :data:`VIP_GUILDS` guilds each with two temporary VIPs that expired before ``T``: a Kick
one (a Discord role) and a Twitch one, with no Twitch connection stored and Discord not
connected, so the expiry job notes why each must wait (no call leaves the machine).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.features.points.accrual import window_start
from core.features.watchtime.repository import tick_bucket
from core.ownership.share import PARTITIONS, partition_of

T = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)  # a multiple of the 30-minute posting window
INTERVAL = timedelta(seconds=60)
FIRST_TIMESTAMP_MS = 300_000_000_000  # a Discord snowflake's time part, about mid-2024
DUE_EVERY = 60  # one viewer in 60 crosses a full hour at a given tick
WATCH_RATE = 2  # points per present minute
POST_MINUTES = 30
HOUR_TICKETS = 10
VIP_GUILDS = 200
FIRST_VIEWER = 10_000_000


def guild_ids(count: int) -> list[int]:
    """``count`` Discord-like guild ids, consecutive in their time part, so consecutive guilds
    fall in consecutive partitions (``partition_of``) and every partition gets its share."""
    return [((FIRST_TIMESTAMP_MS + n) << 22) | (n % 4096) for n in range(count)]


def crosses_hour(guild_index: int, viewer: int) -> bool:
    """Whether this viewer's watchtime crosses a full hour at the tick of ``T``."""
    return (guild_index + viewer) % DUE_EVERY == 0


def hours_due(guilds: int, viewers_each: int) -> int:
    """How many viewers cross a full hour at the tick (each earns the raffle's hour tickets)."""
    return sum(sum(1 for v in range(viewers_each) if crosses_hour(n, v)) for n in range(guilds))


def accrued_minutes(guild_id: int) -> int:
    """The minutes the guild's viewers have accrued in their window before the tick of ``T``."""
    started = window_start(T - INTERVAL, POST_MINUTES, guild_id)
    return int((T - INTERVAL - started).total_seconds()) // 60


def closes_window(guild_id: int) -> bool:
    """Whether the tick of ``T`` closes the guild's posting window (one guild in 30)."""
    return window_start(T, POST_MINUTES, guild_id) == T


def vip_guilds(guilds: int) -> int:
    return min(guilds, VIP_GUILDS)


_STATEMENTS = [
    "INSERT INTO guilds (guild_id, name, created_at) "
    "SELECT guild_id, 'bench ' || n, :long_ago FROM bench_guilds",
    "INSERT INTO guild_channels (guild_id, platform, channel_slug, broadcaster_user_id, "
    "created_at) SELECT guild_id, 'kick', 'bench_' || n, broadcaster, :long_ago FROM bench_guilds",
    "INSERT INTO watch_streams (guild_id, platform, broadcaster_user_id, is_live, changed_at) "
    "SELECT guild_id, 'kick', broadcaster, true, :live_since FROM bench_guilds",
    "INSERT INTO watch_settings (guild_id, tracking_enabled, last_tick_at, last_tick_seconds) "
    "SELECT guild_id, true, :previous, 60 FROM bench_guilds",
    # Viewer v of guild n: seconds = 3600 h + 3570 - 60 ((n + v) % 60), h = v % 5; the tick's
    # 60 s take it past 3600 (h + 1) exactly when (n + v) % 60 = 0.
    """CREATE TABLE bench_viewers AS
    SELECT g.n, g.guild_id, g.broadcaster, (:first_viewer + g.n * :viewers + v)::text AS user_id,
           3600 * (v % 5) + 3570 - 60 * ((g.n + v) % :due_every) AS seconds, v % 5 AS hours
    FROM bench_guilds g CROSS JOIN generate_series(0, :viewers - 1) AS v""",
    "INSERT INTO watch_presence (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "last_active_at, active_bucket) "
    "SELECT guild_id, 'kick', broadcaster, user_id, :active_at, :bucket FROM bench_viewers",
    "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds, last_seen) "
    "SELECT guild_id, 'kick', user_id, seconds, :previous FROM bench_viewers",
    # The raffle: running, an open period with its beacon round, progress up to the last hour.
    "INSERT INTO raffle_settings (guild_id, watch_hour_tickets, running) "
    "SELECT guild_id, :hour_tickets, true FROM bench_guilds",
    "INSERT INTO raffle_periods (guild_id, starts_at, ends_at, status, seed, commitment, "
    "beacon_round, beacon_genesis_time, beacon_period_seconds, created_at, opened_at, "
    "open_announced) SELECT guild_id, :period_start, :period_end, 'open', repeat('ab', 32), "
    "repeat('cd', 32), 9000000, 1692803367, 3, :period_start, :period_start, true "
    "FROM bench_guilds",
    "INSERT INTO raffle_watch_progress (period_id, platform, platform_user_id, guild_id, "
    "baseline_seconds, hours_awarded) SELECT p.id, 'kick', v.user_id, v.guild_id, 0, v.hours "
    "FROM bench_viewers v JOIN raffle_periods p ON p.guild_id = v.guild_id",
    # Points: 2 a minute, posted every 30 minutes; 29 minutes accrued in the closing window.
    "INSERT INTO points_settings (guild_id, updated_at, watch_rate, sub_rate, post_minutes, "
    "earned_until) SELECT guild_id, :long_ago, :rate, 2 * :rate, :post_minutes, :previous "
    "FROM bench_guilds",
    "INSERT INTO points_accrual (guild_id, platform, platform_user_id, window_start, "
    "watch_units) SELECT v.guild_id, 'kick', v.user_id, g.window_start, "
    "g.accrued_minutes * 60 * :rate FROM bench_viewers v JOIN bench_guilds g ON g.n = v.n "
    "WHERE g.accrued_minutes > 0",
    "INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, "
    "source_ref, reason, created_at) SELECT v.guild_id, 'kick', v.user_id, 60, 'earn', "
    "g.last_window_ref || v.user_id, 'watching and chat', g.window_start "
    "FROM bench_viewers v JOIN bench_guilds g ON g.n = v.n",
    "INSERT INTO points_balances (guild_id, platform, platform_user_id, points) "
    "SELECT guild_id, 'kick', user_id, 60 FROM bench_viewers",
    # VIP: two expired temporary VIPs in each of the first guilds, auto removal on.
    "INSERT INTO vip_settings (guild_id, reward_id, reward_title, reward_cost, updated_at) "
    "SELECT guild_id, 'reward-' || n, 'VIP for a day', 5000, :long_ago "
    "FROM bench_guilds WHERE n < :vip_guilds",
    "INSERT INTO vip_grants (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "username, source, granted_at, expires_at, discord_user_id, role_id) "
    "SELECT guild_id, 'kick', broadcaster, 'k' || n, 'kick_vip_' || n, 'redemption', "
    ":granted_at, :kick_expired, 700000000000000000 + n, 800000000000000000 + n "
    "FROM bench_guilds WHERE n < :vip_guilds",
    "INSERT INTO vip_grants (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "username, source, granted_at, expires_at) "
    "SELECT guild_id, 'twitch', (200000000 + n)::text, (300000000 + n)::text, "
    "'twitch_vip_' || n, 'redemption', :granted_at, :twitch_expired "
    "FROM bench_guilds WHERE n < :vip_guilds",
    "DROP TABLE bench_viewers",
    "DROP TABLE bench_guilds",
]


def fill(engine: Engine, guilds: int, viewers_each: int) -> None:
    """Write the whole state (on a migrated, empty PostgreSQL database), then ANALYZE."""
    previous = T - INTERVAL
    window = timedelta(minutes=POST_MINUTES)
    params = {
        "long_ago": T - timedelta(days=30),
        "live_since": T - timedelta(hours=1),
        "previous": previous,
        "active_at": T - timedelta(seconds=30),
        "bucket": tick_bucket(T - timedelta(seconds=30), int(INTERVAL.total_seconds())),
        "first_viewer": FIRST_VIEWER,
        "viewers": viewers_each,
        "due_every": DUE_EVERY,
        "hour_tickets": HOUR_TICKETS,
        "period_start": T - timedelta(days=2),
        "period_end": T + timedelta(days=5),
        "rate": WATCH_RATE,
        "post_minutes": POST_MINUTES,
        "vip_guilds": vip_guilds(guilds),
        "granted_at": T - timedelta(days=1),
        "kick_expired": T - timedelta(minutes=6),
        "twitch_expired": T - timedelta(minutes=5),
    }
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE bench_guilds (n int PRIMARY KEY, guild_id bigint NOT NULL, "
                "broadcaster text NOT NULL, window_start timestamptz NOT NULL, "
                "accrued_minutes int NOT NULL, last_window_ref text NOT NULL)"
            )
        )
        rows = []
        for n, guild_id in enumerate(guild_ids(guilds)):
            started = window_start(previous, POST_MINUTES, guild_id)
            rows.append(
                {
                    "n": n,
                    "guild_id": guild_id,
                    "broadcaster": str(100_000_000 + n),
                    "window_start": started,
                    "accrued_minutes": accrued_minutes(guild_id),
                    "last_window_ref": f"{started - window:%Y-%m-%dT%H:%MZ}:kick:",
                }
            )
        conn.execute(
            sa.text(
                "INSERT INTO bench_guilds VALUES (:n, :guild_id, :broadcaster, :window_start, "
                ":accrued_minutes, :last_window_ref)"
            ),
            rows,
        )
        for statement in _STATEMENTS:
            conn.execute(sa.text(statement), params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))


def partition_shares(ids: list[int]) -> list[int]:
    """How many of ``ids`` fall in each partition (for the bench's own check)."""
    counts = [0] * PARTITIONS
    for guild_id in ids:
        counts[partition_of(guild_id)] += 1
    return counts
