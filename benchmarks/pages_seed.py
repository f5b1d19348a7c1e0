"""The pages bench's guild (issue 27): one busy streamer's Discord server on PostgreSQL, with
something on every dashboard page (untimed set-up).

``viewers`` Kick viewers (``fan_00000`` ...) present in the live stream, each with watchtime
(viewer 0 the most), a points balance and a line in the event log's chat; 30 days of
``watch_hours``; one in five linked to a Discord member (named in the server directory, with
their link history); the server's roles and channels; watchtime role tiers; an open raffle period
whose ledger has rows for nine viewers in ten (watch hours, gifted subs, admin adjustments)
after :data:`CLOSED_PERIODS` closed ones, each drawn; VIP grants (current and ended) and their
audit log; resolved heists with crews; slot calls.

Small, shaped tables go through the features' services and repositories (the guild, its
channel, the directory, the raffle's periods, closes and draws); the big ones are written with
server-side ``INSERT ... SELECT`` statements, as benchmarks/scale_seed.py does.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.config import RaffleSettings
from core.events import ChatMessageSent, Platform, Viewer, event_to_dict
from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import DirectoryService, Snapshot
from core.features.guilds.service import GuildService
from core.features.raffle.draws import fairness
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.service import RaffleService
from core.storage.tables import bus_events

GUILD = 333333333333333333
BENCH_SECRET = secrets.token_hex(16)  # a run's own link secret: keys the raffle's admin pseudonyms
GUILD_NAME = "Busy Streamer HQ"
ADMIN = 900000000000000001
BROADCASTER = "4242"
FIRST_VIEWER = 20_000_000
FIRST_MEMBER = 600_000_000_000_000_000
FIRST_ROLE = 700_000_000_000_000_000
FIRST_CHANNEL = 710_000_000_000_000_000
CLOSED_PERIODS = 3
ROLE_TIERS = 8
HOUR_TICKETS = 10
LAST_PRIZE = f"Week {CLOSED_PERIODS} prize"


@dataclass(frozen=True)
class Seeded:
    """What the pages must show, to check they showed the seeded data."""

    viewers: int
    closed_period_id: int  # the last closed period: the public proof page
    top_viewer: str  # the most watchtime (and the most points)
    linked_member: str  # a directory name in the link history
    vip: str  # a current VIP's username
    heister: str  # in the latest heist's crew
    role: str  # a role tier's name
    winner: str  # a winner of the last closed period's draw


def viewer_name(i: int) -> str:
    return f"fan_{i:05d}"


def member_name(i: int) -> str:
    return f"Member {i:05d}"


def fill(engine: Engine, viewers: int, now: datetime | None = None) -> Seeded:
    """The whole guild on a migrated, empty PostgreSQL database, then ``VACUUM ANALYZE``."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    links = max(viewers // 5, 10)
    guilds = GuildService(engine, clock=lambda: now)
    guilds.ensure_guild(GUILD, GUILD_NAME)
    guilds.set_kick_channel(GUILD, "busystreamer", BROADCASTER)
    _directory(engine, links, now)
    params = {
        "g": GUILD, "n": viewers, "links": links, "first": FIRST_VIEWER, "now": now,
        "member": FIRST_MEMBER, "admin": ADMIN, "b": BROADCASTER, "role": FIRST_ROLE,
        "tiers": ROLE_TIERS, "hour_tickets": HOUR_TICKETS,
    }  # fmt: skip
    _run(engine, _PEOPLE, params)
    _events(engine, viewers, now)
    last_closed, winner = _closed_periods(engine, links, now, params)
    _open_period(engine, now, params)
    _run(engine, _EXTRAS, params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE"))
    return Seeded(
        viewers=viewers,
        closed_period_id=last_closed,
        top_viewer=viewer_name(0),
        linked_member=member_name(links - 1),
        vip=viewer_name(3),
        heister=viewer_name(7),
        role=f"Watcher {ROLE_TIERS} h",
        winner=winner,
    )


def _run(engine: Engine, statements: list[str], params: dict[str, object]) -> None:
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement), params)


def _directory(engine: Engine, links: int, now: datetime) -> None:
    """Roles (the tiers' and others), channels, and a member for each linked account plus the
    admin, through the directory service as the bot records them."""
    roles = [Role(FIRST_ROLE + n, f"Watcher {n + 1} h", 10 + n, 0x3366FF, True)
             for n in range(ROLE_TIERS)]  # fmt: skip
    roles += [Role(FIRST_ROLE + 100 + n, f"Fan club {n}", 40 + n, 0, n % 3 != 0)
              for n in range(40)]  # fmt: skip
    roles.append(Role(GUILD, "@everyone", 0, 0, False, True))
    channels = [Channel(FIRST_CHANNEL + n, f"chat-{n:02d}", "text", n, n % 4 != 3)
                for n in range(40)]  # fmt: skip
    directory = DirectoryService(engine, clock=lambda: now)
    directory.record_server(
        Snapshot(Server(GUILD, GUILD_NAME, None, True), tuple(roles), tuple(channels))
    )
    members = [Member(FIRST_MEMBER + i, member_name(i)) for i in range(links)]
    members.append(Member(ADMIN, "ana the admin"))
    directory.record_members(GUILD, members)


# Viewers, presence, watchtime and its hourly history, links, points, the role tiers.
_PEOPLE = [
    "INSERT INTO viewers (platform, platform_user_id, username, updated_at) "
    "SELECT 'kick', (:first + i)::text, 'fan_' || lpad(i::text, 5, '0'), :now "
    "FROM generate_series(0, :n - 1) i",
    "INSERT INTO watch_presence (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "last_active_at) SELECT :g, 'kick', :b, (:first + i)::text, :now - interval '20 seconds' "
    "FROM generate_series(0, :n - 1) i",
    "INSERT INTO watch_streams (guild_id, platform, broadcaster_user_id, is_live, changed_at) "
    "VALUES (:g, 'kick', :b, true, :now - interval '3 hours')",
    "INSERT INTO watch_settings (guild_id, tracking_enabled) VALUES (:g, true)",
    "INSERT INTO watchtime (guild_id, platform, platform_user_id, seconds, last_seen) "
    "SELECT :g, 'kick', (:first + i)::text, 400000 - 37 * i, :now - interval '1 minute' "
    "FROM generate_series(0, :n - 1) i",
    # Every hour of 30 days, busier in the evening.
    "INSERT INTO watch_hours (guild_id, hour, peak_viewers, viewer_seconds) "
    "SELECT :g, date_trunc('hour', :now) - make_interval(hours => h), "
    "(:n / 4) + (:n / 2) * ((h % 24) / 24.0)::int, 600 * (:n / 4 + h % 24 * 50) "
    "FROM generate_series(0, 30 * 24 - 1) h",
    "INSERT INTO account_links (platform, platform_user_id, discord_user_id, username, "
    "linked_in_guild_id, linked_at) SELECT 'kick', (:first + i)::text, :member + i, "
    "'fan_' || lpad(i::text, 5, '0'), :g, :now - make_interval(mins => :links - i) "
    "FROM generate_series(0, :links - 1) i",
    "INSERT INTO account_links (platform, platform_user_id, discord_user_id, username, "
    "linked_in_guild_id, linked_at) VALUES ('twitch', 'admin-twitch', :admin, 'ana_tv', :g, :now)",
    "INSERT INTO link_history (guild_id, discord_user_id, action, platform, platform_user_id, "
    "username, created_at) SELECT :g, :member + i, 'linked', 'kick', (:first + i)::text, "
    "'fan_' || lpad(i::text, 5, '0'), :now - make_interval(mins => :links - i) "
    "FROM generate_series(0, :links - 1) i",
    "INSERT INTO points_settings (guild_id, name, updated_at, watch_rate, earned_until) "
    "VALUES (:g, 'gems', :now, 2, :now - interval '1 minute')",
    "INSERT INTO points_balances (guild_id, platform, platform_user_id, points) "
    "SELECT :g, 'kick', (:first + i)::text, 50000 - 3 * i FROM generate_series(0, :n - 1) i",
    "INSERT INTO points_ledger (guild_id, platform, platform_user_id, amount, source, "
    "source_ref, reason, created_at) SELECT :g, 'kick', (:first + i)::text, 60, 'earn', "
    "'w' || w || ':kick:' || (:first + i), 'watching and chat', "
    ":now - make_interval(mins => 30 * w) FROM generate_series(0, :n - 1) i, "
    "generate_series(1, 3) w",
    "INSERT INTO role_settings (guild_id, enabled, mode) VALUES (:g, true, 'highest')",
    "INSERT INTO role_tiers (guild_id, role_id, minutes, created_at) "
    "SELECT :g, :role + t, 60 * (t + 1), :now FROM generate_series(0, :tiers - 1) t",
    "INSERT INTO role_awards (guild_id, discord_user_id, role_id, awarded_at) "
    "SELECT :g, :member + i, :role + t, :now FROM generate_series(0, :links - 1) i, "
    "generate_series(0, :tiers - 1) t",
]


def _events(engine: Engine, viewers: int, now: datetime) -> None:
    """A chat line from every viewer in the bus's log, handled (the event log page reads the
    newest entries)."""
    rows = []
    for i in range(viewers):
        at = now - timedelta(seconds=viewers - i)
        event = ChatMessageSent(
            platform=Platform.KICK,
            event_id=f"bench-chat-{i}",
            broadcaster_user_id=BROADCASTER,
            occurred_at=at,
            viewer=Viewer(str(FIRST_VIEWER + i), viewer_name(i)),
            content=f"hello from {viewer_name(i)}",
        )
        rows.append({
            "event_key": event.key,
            "payload": json.dumps(event_to_dict(event), separators=(",", ":")),
            "published_at": at,
            "attempts": 1,
            "acked_at": at,
        })  # fmt: skip
    with engine.begin() as conn:
        conn.execute(bus_events.insert(), rows)


_BALANCES = (
    "INSERT INTO raffle_balances (period_id, platform, platform_user_id, guild_id, tickets) "
    "SELECT period_id, platform, platform_user_id, guild_id, sum(amount) FROM raffle_ledger "
    "WHERE period_id = :p GROUP BY 1, 2, 3, 4"
)


def _closed_periods(engine: Engine, links: int, now: datetime, params: dict[str, object]):
    """:data:`CLOSED_PERIODS` weekly periods before this one, their ledgers like the open
    one's, each closed by the raffle's own close (eligible: the linked viewers) and drawn
    (three winners, forced: the bench has no beacon). Returns the last one's id and a
    winner's name."""
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO raffle_settings (guild_id, watch_hour_tickets, running, "
                "linked_only) VALUES (:g, :hour_tickets, true, true)"
            ),
            params,
        )
    period_id, draw = 0, None
    for k in range(CLOSED_PERIODS):
        starts = now - timedelta(days=7 * (CLOSED_PERIODS - k) + 2)
        ends = starts + timedelta(days=7)
        with engine.begin() as conn:
            period_id = periods_repository.create_period(
                conn, guild_id=GUILD, starts_at=starts, ends_at=ends, status="open",
                seed=f"{k:02d}" * 32, commitment=fairness.commitment_of(f"{k:02d}" * 32),
                now=starts,
            )  # fmt: skip
            for statement in _LEDGER:
                conn.execute(sa.text(statement), params | {"p": period_id, "at": ends})
        raffle = RaffleService(
            engine, RaffleSettings(), clock=lambda ends=ends: ends, actor_secret=BENCH_SECRET
        )
        raffle.periods.end(GUILD)
        with engine.begin() as conn:
            draw_id = draws_repository.create_draw(
                conn, guild_id=GUILD, period_id=period_id, winners_wanted=3,
                prize=f"Week {k + 1} prize", requested_by=ADMIN, now=ends,
            )  # fmt: skip
        draw = raffle.draws.complete(draw_id, forced_by=ADMIN)
        if draw.status != "done" or len(draw.winners) != 3:
            raise AssertionError(f"the seeded draw #{draw_id} ended {draw.status}")
    winner = draw.winners[0].platform_user_id  # type: ignore[union-attr] (CLOSED_PERIODS > 0)
    return period_id, viewer_name(int(winner) - FIRST_VIEWER)


# A period's ledger (up to ``:at``): watch hours for nine viewers in ten (one to six rows
# each), gifted subs for one in twenty, admin adjustments for one in fifty, viewer 0 leading
# the board; balances summed from it.
_LEDGER = [
    "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount, "
    "source, source_ref, reason, created_at) SELECT :g, :p, 'kick', (:first + i)::text, "
    ":hour_tickets, 'watchtime', 'hour:' || i || ':' || h, '', :at - make_interval(hours => h) "
    "FROM generate_series(0, :n * 9 / 10 - 1) i CROSS JOIN LATERAL generate_series(1, 1 + i % 6) h",
    "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount, "
    "source, source_ref, reason, created_at) SELECT :g, :p, 'kick', (:first + i)::text, "
    "15 * (1 + i % 5), 'gift', 'gift:' || i, '', :at - make_interval(mins => i % 600) "
    "FROM generate_series(0, :n - 1, 20) i",
    "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount, "
    "source, source_ref, actor_id, reason, created_at) SELECT :g, :p, 'kick', "
    "(:first + i)::text, 5 + i % 20, 'admin', 'admin:' || i, :admin, 'giveaway bonus', "
    ":at - make_interval(mins => i % 900) FROM generate_series(7, :n - 1, 50) i",
    "INSERT INTO raffle_ledger (guild_id, period_id, platform, platform_user_id, amount, "
    "source, source_ref, actor_id, reason, created_at) VALUES (:g, :p, 'kick', "
    "(:first)::text, 500, 'admin', 'admin:top', :admin, 'top fan', :at)",
    _BALANCES,
]


def _open_period(engine: Engine, now: datetime, params: dict[str, object]) -> None:
    with engine.begin() as conn:
        period_id = periods_repository.create_period(
            conn, guild_id=GUILD, starts_at=now - timedelta(days=2),
            ends_at=now + timedelta(days=5), status="open", seed="ab" * 32,
            commitment="cd" * 32, now=now - timedelta(days=2),
        )  # fmt: skip
        earning_repository.take_watch_baselines(conn, GUILD, period_id)
        for statement in _LEDGER:
            conn.execute(sa.text(statement), params | {"p": period_id, "at": now})
        conn.execute(
            sa.text("UPDATE raffle_settings SET running = true WHERE guild_id = :g"), params
        )


# VIPs and their log, heists with crews, slot calls.
_EXTRAS = [
    "INSERT INTO vip_settings (guild_id, reward_id, reward_title, reward_cost, updated_at, "
    "kick_reward_title, kick_role_id) VALUES (:g, 'reward-1', 'VIP for a day', 5000, :now, "
    "'VIP (Kick)', :role + 100)",
    # Current: every viewer 3 + 10 k among the first 400; ended: the next 400.
    "INSERT INTO vip_grants (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "username, source, granted_at, expires_at, removed_at, removal_reason, discord_user_id, "
    "role_id) SELECT :g, 'kick', :b, (:first + i)::text, 'fan_' || lpad(i::text, 5, '0'), "
    "'redemption', :now - make_interval(hours => i % 20), "
    "CASE WHEN i < 400 THEN :now + make_interval(hours => 4 + i % 20) "
    "ELSE :now - make_interval(hours => i % 50) END, "
    "CASE WHEN i < 400 THEN NULL ELSE :now - make_interval(hours => i % 50) END, "
    "CASE WHEN i < 400 THEN NULL ELSE 'expired' END, :member + i, :role + 100 "
    "FROM generate_series(3, 799, 10) i",
    "INSERT INTO vip_audit (guild_id, platform, broadcaster_user_id, platform_user_id, "
    "username, action, actor_kind, actor_id, reason, reward_cost, new_expires_at, at) "
    "SELECT :g, 'kick', :b, (:first + i % 800)::text, 'fan_' || lpad((i % 800)::text, 5, '0'), "
    "(ARRAY['granted', 'extended', 'removed'])[1 + i % 3], 'viewer', (:first + i % 800)::text, "
    "'redeemed', 5000, :now + make_interval(hours => 24), :now - make_interval(mins => i) "
    "FROM generate_series(0, :n / 5) i",
    "INSERT INTO heists (guild_id, platform, broadcaster_user_id, state, opened_at, closes_at, "
    "resolved_at, announced_at) SELECT :g, 'kick', :b, 'resolved', "
    ":now - make_interval(hours => h), :now - make_interval(hours => h) + interval '2 minutes', "
    ":now - make_interval(hours => h) + interval '2 minutes', "
    ":now - make_interval(hours => h) + interval '2 minutes' FROM generate_series(1, 200) h",
    # Crews of 40: viewers h .. h + 39 of the heist opened h hours ago.
    "INSERT INTO heist_participants (heist_id, guild_id, platform, platform_user_id, username, "
    "stake, risk, joined_at, chance_percent, risk_multiplier_x100, won, payout) "
    "SELECT x.id, :g, 'kick', (:first + x.h + m)::text, "
    "'fan_' || lpad((x.h + m)::text, 5, '0'), 100 + m, "
    "(ARRAY['low', 'medium', 'high'])[1 + m % 3], x.opened_at + interval '30 seconds', "
    "50, 150, m % 2 = 0, CASE WHEN m % 2 = 0 THEN 150 + m ELSE 0 END "
    "FROM (SELECT id, opened_at, row_number() OVER (ORDER BY opened_at DESC) + 5 AS h "
    "FROM heists WHERE guild_id = :g) x, generate_series(0, 39) m",
    "INSERT INTO slot_call_settings (guild_id, enabled, channel_id, updated_at) "
    "VALUES (:g, true, NULL, :now)",
    "INSERT INTO slot_calls (guild_id, event_key, platform, broadcaster_user_id, "
    "platform_user_id, username, slot_name, slot_key, status, called_at) "
    "SELECT :g, 'call-' || i, 'kick', :b, (:first + i)::text, "
    "'fan_' || lpad(i::text, 5, '0'), 'Gates of Olympus ' || (i % 60), "
    "'gatesofolympus' || (i % 60), (ARRAY['open', 'picked', 'cleared'])[1 + i % 3], "
    ":now - make_interval(mins => i) FROM generate_series(0, :n / 20) i",
]
