"""Importing kick-watchtime-bot's database: its real schema in a throwaway PostgreSQL, our
side on both backends, Kick names resolved by a fake Kick on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features.importers import kwb_writes
from core.features.importers import repository as imports
from core.features.importers.errors import ImportProblem
from core.features.importers.kick_names import KickApiLookup
from core.features.importers.kwb_import import KickWatchtimeBotImport
from core.features.importers.report import GuildReport
from core.features.importers.tables import import_markers
from core.features.linking import repository as linking
from core.features.raffle import ledger_repository
from core.features.raffle.earning import repository as earning_repository
from core.features.raffle.periods import repository as periods
from core.features.roles import repository as roles
from core.features.watchtime import standings_repository as standings
from core.features.watchtime.earned_elsewhere import add_seconds
from core.platforms.kick.api import KickApi
from core.storage.db import normalize_url
from tests.conftest import _fresh_postgres_database
from tests.fakes.kick_server import FakeKick
from tests.features.importers import kwb_rows
from tests.features.importers.kwb_rows import (
    ALICE,
    BOB,
    CAROL,
    D_ALICE,
    D_BOB,
    D_CAROL,
    D_DAVE,
    DAVE,
    FAN,
    REGULAR,
    SERVER_A,
    SERVER_B,
    SERVER_C,
    SUPERFAN,
    VIEWER,
)  # fmt: skip
from tests.features.importers.source_counts import assert_counts_add_up

NOW = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
KICK = Platform.KICK


def importer(
    engine: sa.Engine, kick: FakeKick | None, now: datetime = NOW
) -> KickWatchtimeBotImport:
    def lookup_for(guild_id: int) -> KickApiLookup | None:
        if kick is None:
            return None
        token = kick.issue_user_token()
        return KickApiLookup(KickApi(kick.url, max_retries=0), lambda call: call(token))

    return KickWatchtimeBotImport(engine, lambda: now, lookup_for)


def run(engine, kick, source_url, now=NOW, **options) -> dict[int, GuildReport]:  # type: ignore[no-untyped-def]
    reports = asyncio.run(importer(engine, kick, now).run(source_url, **options))
    return {report.guild_id: report for report in reports}


def numbers(report: GuildReport) -> dict[str, tuple[int, int, int]]:
    return {t: (c.imported, c.already, c.skipped) for t, c in report.counts.items()}


def snapshot(engine: sa.Engine) -> dict[str, list[tuple]]:
    tables = ("watchtime", "account_links", "role_tiers", "raffle_ledger", "raffle_balances",
              "imported_winners", "import_markers", "link_history", "viewers")  # fmt: skip
    with engine.connect() as conn:
        return {
            name: sorted(tuple(str(v) for v in row) for row in conn.execute(
                sa.text(f"SELECT * FROM {name}")))  # noqa: S608
            for name in tables
        }  # fmt: skip


FIRST_A = {
    "watchtime": (4, 0, 3),
    "links": (2, 0, 1),
    "role tiers": (2, 0, 1),
    "raffle tickets": (2, 0, 1),
    "raffle winners": (1, 0, 0),
}
FIRST_B = {
    "watchtime": (2, 0, 0),
    "links": (2, 1, 1),
    "role tiers": (2, 0, 0),
    "raffle tickets": (0, 0, 1),
    "raffle winners": (0, 0, 0),
}


def test_an_import_brings_every_number_over(engine, kick, source_url, period_id):
    reports = run(engine, kick, source_url)

    assert set(reports) == {SERVER_A, SERVER_B}  # C is no guild here
    assert numbers(reports[SERVER_A]) == FIRST_A
    assert numbers(reports[SERVER_B]) == FIRST_B
    assert_counts_add_up(reports, source_url)
    with engine.connect() as conn:
        seconds_a = {
            r.platform_user_id: r.seconds for r in standings.list_all_viewers(conn, SERVER_A)
        }
        seconds_b = {
            r.platform_user_id: r.seconds for r in standings.list_all_viewers(conn, SERVER_B)
        }
        alice = standings.get_viewer(conn, SERVER_A, KICK, str(ALICE[0]))
        links = {
            link.discord_user_id: (link.platform_user_id, link.username)
            for d in (D_ALICE, D_BOB, D_DAVE, D_CAROL, 9003, 9006)
            if (link := linking.find_link_by_discord_user(conn, KICK, d)) is not None
        }
        tiers_a = roles.list_tiers(conn, SERVER_A)
        tiers_b = roles.list_tiers(conn, SERVER_B)
        ledger = ledger_repository.list_ledger(conn, SERVER_A, period_id)
        balances = {
            b.platform_user_id: b.tickets
            for b in ledger_repository.list_top_balances(conn, SERVER_A, period_id, 10)
        }
        winners = imports.list_winners(conn, SERVER_A)
    # "Alice_W" 600 + "alice_w" 30 minutes: one account; the renamed, unknown and taken
    # names are left out.
    assert seconds_a == {str(ALICE[0]): 630 * 60, str(BOB[0]): 120 * 60, str(CAROL[0]): 45 * 60}
    assert seconds_b == {str(BOB[0]): 50 * 60, str(DAVE[0]): 70 * 60}
    assert alice is not None
    assert alice.username == "Alice_W"
    assert alice.last_seen == datetime(2026, 9, 5, 12, 0, tzinfo=UTC)
    assert links == {
        D_ALICE: (str(ALICE[0]), "Alice_W"),
        D_BOB: (str(BOB[0]), "bob"),
        D_DAVE: (str(DAVE[0]), "dave"),
        D_CAROL: (str(CAROL[0]), "CarolNew"),
    }
    assert [(t.role_id, t.minutes, t.enabled) for t in tiers_a] == [
        (FAN, 120, True), (SUPERFAN, 1200, False),
    ]  # fmt: skip
    # B has no tiers of its own there: the defaults, matched to its roles without case.
    assert [(t.role_id, t.minutes) for t in tiers_b] == [(VIEWER, 60), (REGULAR, 600)]
    assert sorted((e.source, e.source_ref, e.amount) for e in ledger) == [
        ("import", "kick-watchtime-bot:raffle_tickets:2", 40),
        ("import", "kick-watchtime-bot:raffle_tickets:3", 15),
    ]
    assert balances == {str(ALICE[0]): 40, str(BOB[0]): 15}
    assert [
        (w.username, w.platform_user_id, w.discord_user_id, w.tickets, w.prize) for w in winners
    ] == [("Alice_W", str(ALICE[0]), D_ALICE, 80, "$50 gift card")]


def test_imported_watchtime_earns_no_watchtime_tickets_in_the_open_period(
    engine, kick, source_url, period_id
):
    with engine.begin() as conn:  # bob watched 2 h here since the period opened
        earning_repository.take_watch_baselines(conn, SERVER_A, period_id)
        add_seconds(conn, SERVER_A, KICK, str(BOB[0]), 2 * 3600, None)
    run(engine, kick, source_url)

    with engine.begin() as conn:
        rows, tickets = earning_repository.convert_watch_hours(conn, SERVER_A, period_id, 10, NOW)
        balances = {
            b.platform_user_id: b.tickets
            for b in ledger_repository.list_top_balances(conn, SERVER_A, period_id, 10)
        }
    # Only bob's 2 hours watched here pay; the 630 + 120 + 45 imported minutes do not.
    assert (rows, tickets) == (1, 20)
    assert balances == {str(ALICE[0]): 40, str(BOB[0]): 15 + 20}


def roll_over(
    engine: sa.Engine, period_id: int, at: datetime, pids: list[int] | None = None
) -> int:
    """What the raffle's close does to the watchtime, in one transaction: take the period's row
    lock, close it, open the next and take each viewer's watchtime total as its baseline.
    ``pids`` is told the PostgreSQL backend it runs in."""
    with engine.begin() as conn:
        if pids is not None:
            pids.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        assert periods.lock_period_for_close(conn, period_id)
        assert periods.close_period(
            conn, period_id, now=at, ends_at=at, snapshot_hash="00" * 32, snapshot_version=3,
            eligible=[],
        )  # fmt: skip
        new = periods.create_period(
            conn, guild_id=SERVER_A, starts_at=at, ends_at=at + timedelta(days=30),
            status="open", seed="ef" * 32, commitment="12" * 32, now=at,
        )  # fmt: skip
        assert new is not None
        earning_repository.take_watch_baselines(conn, SERVER_A, new)
    return new


def alice_watched_an_hour_here(engine: sa.Engine, period_id: int) -> None:
    """Before the period opened: her baseline in it is 3,600 s."""
    with engine.begin() as conn:
        add_seconds(conn, SERVER_A, KICK, str(ALICE[0]), 3600, None)
        earning_repository.take_watch_baselines(conn, SERVER_A, period_id)


def watchtime_tickets_due(engine: sa.Engine, period_id: int) -> int:
    with engine.begin() as conn:
        _, tickets = earning_repository.convert_watch_hours(conn, SERVER_A, period_id, 10, NOW)
        seconds = conn.execute(
            sa.select(sa.text("seconds"))
            .select_from(sa.text("watchtime"))
            .where(sa.text("guild_id = :g AND platform_user_id = :u")),
            {"g": SERVER_A, "u": str(ALICE[0])},
        ).scalar_one()
    assert seconds == 3600 + 630 * 60  # the import did add her 630 minutes from the other bot
    return tickets


def waits_on_a_lock(engine: sa.Engine, pids: list[int]) -> bool:
    """Whether the backend in ``pids`` waits for a lock another transaction holds."""
    if not pids:
        return False
    with engine.connect() as conn:
        query = sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        return conn.execute(query, {"pid": pids[0]}).scalar() == "Lock"


def test_a_period_closing_during_an_import_waits_for_its_watchtime(
    engine, kick, source_url, period_id, monkeypatch
):
    """The close and the next period's opening run while the import is half way (its
    watchtime written, not committed): the next period's baselines must include the imported
    seconds, or its first conversion pays watchtime tickets for minutes watched under the
    other bot. The close now waits for the import, which holds the open period."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a second writer runs meanwhile only on PostgreSQL")
    alice_watched_an_hour_here(engine, period_id)
    rolled: list[int] = []
    pids: list[int] = []
    workers: list[threading.Thread] = []
    original_links = kwb_writes._ServerWrite.links

    def links_while_rolling_over(self):  # type: ignore[no-untyped-def]
        if self.guild_id == SERVER_A and not workers:
            at = NOW + timedelta(minutes=1)
            workers.append(
                threading.Thread(
                    target=lambda: rolled.append(roll_over(engine, period_id, at, pids))
                )
            )
            workers[0].start()
            deadline = time.monotonic() + 20
            while workers[0].is_alive() and not waits_on_a_lock(engine, pids):
                assert time.monotonic() < deadline, "the close neither ran nor waited"
                time.sleep(0.01)
        return original_links(self)

    monkeypatch.setattr(kwb_writes._ServerWrite, "links", links_while_rolling_over)
    run(engine, kick, source_url, guild_id=SERVER_A)
    workers[0].join(timeout=30)

    [new] = rolled
    tickets = watchtime_tickets_due(engine, new)
    assert tickets == 0, f"{tickets} watchtime tickets for minutes watched under the other bot"


def test_a_period_closed_just_before_the_import_writes_is_replaced_by_the_next(
    engine, kick, source_url, period_id, monkeypatch
):
    """The close and the next period's opening commit between the import's look for the open
    period and its watchtime writes: the import counts the imported seconds out of the next
    period, not out of the one that closed."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a second writer runs meanwhile only on PostgreSQL")
    alice_watched_an_hour_here(engine, period_id)
    rolled: list[int] = []
    find_open_period = kwb_writes.find_open_period

    def find_then_roll_over(conn, guild_id):  # type: ignore[no-untyped-def]
        found = find_open_period(conn, guild_id)
        if guild_id == SERVER_A and not rolled:
            rolled.append(roll_over(engine, period_id, NOW + timedelta(minutes=1)))
        return found

    monkeypatch.setattr(kwb_writes, "find_open_period", find_then_roll_over)
    run(engine, kick, source_url, guild_id=SERVER_A)

    [new] = rolled
    tickets = watchtime_tickets_due(engine, new)
    assert tickets == 0, f"{tickets} watchtime tickets for minutes watched under the other bot"


def test_problems_name_each_row_left_out(engine, kick, source_url, period_id):
    reports = run(engine, kick, source_url)

    problems_a = "\n".join(reports[SERVER_A].problems)
    problems_b = "\n".join(reports[SERVER_B].problems)
    assert "'carol_old' (300 min): no Kick account has this name now" in problems_a
    assert "'ghost' (10 min)" in problems_a
    assert "'evan' (20 min): the Kick channel 'evan' belongs to someone now called Evan2" in (
        problems_a
    )
    assert "'Missing Role' (5,000 min): no role of that name" in problems_a
    assert "'ghost' (5 tickets)" in problems_a
    assert "'Alice_W' is linked to Discord 9001 already, not to 9006" in problems_b
    assert "no raffle period is open here, so 1 rows (12 tickets)" in problems_b
    assert any("'Alice_W', 'alice_w' are one Kick account" in n for n in reports[SERVER_A].notes)
    assert "links: 1 links to other platforms (Twitch) there were not imported" in "\n".join(
        reports[SERVER_A].notes
    )


def test_a_tier_whose_role_another_feature_manages_is_left_out(engine, kick, source_url, period_id):
    """Server B's linked role is its Regular role: role sync and unlinks would take it from each
    other's members, so the tier is a problem row, as !roles add refuses it."""
    with engine.begin() as conn:
        linking.update_settings(conn, SERVER_B, NOW, linked_role_id=REGULAR)

    reports = run(engine, kick, source_url)

    problems = "\n".join(reports[SERVER_B].problems)
    assert "'Regular' (600 min): That role is the one linked members get" in problems
    with engine.connect() as conn:
        assert REGULAR not in {tier.role_id for tier in roles.list_tiers(conn, SERVER_B)}
    assert numbers(reports[SERVER_B])["role tiers"] == (1, 0, 1)


def test_a_second_import_changes_nothing(engine, kick, source_url, period_id):
    run(engine, kick, source_url)
    before = snapshot(engine)

    again = run(engine, kick, source_url, now=NOW.replace(day=2))

    assert snapshot(engine) == before
    assert all(c.imported == 0 for r in again.values() for c in r.counts.values())
    assert numbers(again[SERVER_A])["watchtime"] == (0, 4, 3)
    assert numbers(again[SERVER_A])["raffle tickets"] == (0, 2, 1)
    assert numbers(again[SERVER_A])["raffle winners"] == (0, 1, 0)
    assert numbers(again[SERVER_B])["links"] == (0, 3, 1)


def close_period(engine: sa.Engine, period_id: int, at: datetime) -> None:
    with engine.begin() as conn:
        assert periods.close_period(
            conn, period_id, now=at, ends_at=at, snapshot_hash="00" * 32, snapshot_version=2,
            eligible=[],
        )  # fmt: skip


def open_period(engine: sa.Engine, at: datetime) -> int:
    with engine.begin() as conn:
        period = periods.create_period(
            conn, guild_id=SERVER_A, starts_at=at, ends_at=at + timedelta(days=30),
            status="open", seed="ef" * 32, commitment="12" * 32, now=at,
        )  # fmt: skip
    assert period is not None
    return period


def ticket_markers(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        refs = imports.imported_refs(conn, SERVER_A, "kick-watchtime-bot")
    return sorted(ref for ref in refs if ref.startswith("raffle_tickets:"))


def test_tickets_imported_once_stay_imported_when_the_period_rolls_over(
    engine, kick, source_url, period_id
):
    run(engine, kick, source_url, guild_id=SERVER_A)
    later = NOW + timedelta(days=40)
    close_period(engine, period_id, later)

    between = run(engine, kick, source_url, now=later, guild_id=SERVER_A)  # none open
    new_period = open_period(engine, later)
    again = run(engine, kick, source_url, now=later, guild_id=SERVER_A)

    for report in (between, again):
        assert numbers(report[SERVER_A])["raffle tickets"] == (0, 2, 1)  # ghost: no account
    # With no period open only the row never imported (ghost's) waits for one.
    assert "no raffle period is open here, so 1 rows (5 tickets)" in "\n".join(
        between[SERVER_A].problems
    )
    assert ticket_markers(engine) == ["raffle_tickets:2", "raffle_tickets:3"]
    with engine.connect() as conn:
        assert ledger_repository.list_ledger(conn, SERVER_A, new_period) == []
        assert len(ledger_repository.list_ledger(conn, SERVER_A, period_id)) == 2


@pytest.mark.parametrize("rolled_over", [False, True], ids=["same period", "next period"])
def test_tickets_imported_before_they_had_markers_are_already_there(
    engine, kick, source_url, period_id, rolled_over
):
    run(engine, kick, source_url, guild_id=SERVER_A)
    with engine.begin() as conn:  # as an import made before tickets were marked left it
        conn.execute(
            sa.delete(import_markers).where(import_markers.c.source_ref.like("raffle_tickets:%"))
        )
    later = NOW + timedelta(days=40)
    current = period_id
    if rolled_over:
        close_period(engine, period_id, later)
        current = open_period(engine, later)

    again = run(engine, kick, source_url, now=later, guild_id=SERVER_A)

    assert numbers(again[SERVER_A])["raffle tickets"] == (0, 2, 1)
    assert ticket_markers(engine) == ["raffle_tickets:2", "raffle_tickets:3"]  # marked now
    with engine.connect() as conn:
        entries = [ledger_repository.list_ledger(conn, SERVER_A, p) for p in {period_id, current}]
    assert sum(len(e) for e in entries) == 2


def test_a_dry_run_counts_the_same_and_writes_nothing(engine, kick, source_url, period_id):
    before = snapshot(engine)

    dry = run(engine, kick, source_url, guild_id=SERVER_A, dry_run=True)

    assert snapshot(engine) == before
    assert numbers(dry[SERVER_A]) == FIRST_A
    assert numbers(run(engine, kick, source_url, guild_id=SERVER_A)[SERVER_A]) == FIRST_A


def test_one_guild_only(engine, kick, source_url, period_id):
    reports = run(engine, kick, source_url, guild_id=SERVER_B)

    assert list(reports) == [SERVER_B]
    with engine.connect() as conn:
        assert standings.count_viewers(conn, SERVER_A) == 0
        assert standings.count_viewers(conn, SERVER_B) == 2


def test_without_a_kick_token_only_names_seen_here_resolve(engine, source_url, period_id):
    from core.events import Viewer
    from core.features.viewers.repository import remember_viewers

    with engine.begin() as conn:
        remember_viewers(conn, KICK, [Viewer(str(BOB[0]), "Bob")], NOW)

    reports = run(engine, None, source_url, guild_id=SERVER_A)

    assert numbers(reports[SERVER_A])["watchtime"] == (1, 0, 6)
    assert any("no Kick connection in this guild" in n for n in reports[SERVER_A].notes)
    with engine.connect() as conn:
        assert [r.platform_user_id for r in standings.list_all_viewers(conn, SERVER_A)] == [
            str(BOB[0])
        ]


def test_a_kick_that_fails_leaves_names_unresolved_not_a_crash(engine, kick, source_url,
                                                                period_id):  # fmt: skip
    kick.stop()

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    assert numbers(reports[SERVER_A])["watchtime"] == (0, 0, 7)
    assert "Kick did not say" in reports[SERVER_A].problems[0]


def test_once_kick_fails_names_in_a_row_the_rest_are_not_asked(engine, kick, source_url,
                                                                 period_id):  # fmt: skip
    """Kick's API answering 503 to everything: three names are asked (each waiting for its
    own failure), the others are reported as not asked, and the import ends."""
    kick.fail_next("/public/v1/channels", 503, times=1000)

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    watchtime = [p for p in reports[SERVER_A].problems if p.startswith("watchtime:")]
    failed = [p for p in watchtime if "Kick did not say" in p]
    not_asked = [p for p in watchtime if "not asked: Kick failed 3 names in a row" in p]
    assert len(failed) + len(not_asked) == len(watchtime) == 7
    assert failed
    assert not_asked
    asked = {r.query.get("slug", [""])[0] for r in kick.requests if "channels" in r.path}
    assert len({slug.replace("-", "_") for slug in asked}) == 3  # three names, each its slugs


# --- refusals ----------------------------------------------------------------------------------


def refusal(engine, kick, url, **options) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ImportProblem) as caught:
        run(engine, kick, url, **options)
    return str(caught.value)


def test_an_unreachable_database_is_refused(engine, kick, period_id):
    text = refusal(engine, kick, "postgresql://nobody:s3cret-pw@127.0.0.1:1/none")
    assert text.startswith("Could not connect to the kick-watchtime-bot database")
    assert "s3cret-pw" not in text


@pytest.mark.parametrize("url", ["sqlite:///x.db", "not a url", "mysql://a@b/c", ""])
def test_a_url_that_is_not_postgresql_is_refused(engine, kick, period_id, url):
    assert "PostgreSQL URL" in refusal(engine, kick, url)


def test_a_schema_of_another_version_is_refused(engine, kick, postgres_url, period_id):
    url = _fresh_postgres_database(postgres_url)
    kwb_rows.build_schema(url)
    old = sa.create_engine(normalize_url(url))
    with old.begin() as conn:  # the single-server schema had no server column
        conn.exec_driver_sql("ALTER TABLE watchtime DROP COLUMN discord_server_id CASCADE")
    old.dispose()
    assert "another version: 'watchtime' has no 'discord_server_id'" in refusal(engine, kick, url)


def test_a_value_of_another_type_is_a_problem_row_not_a_refusal(engine, kick, source_url,
                                                                 period_id):  # fmt: skip
    broken = sa.create_engine(normalize_url(source_url))
    with broken.begin() as conn:  # someone changed a column by hand
        conn.exec_driver_sql("ALTER TABLE watchtime ALTER COLUMN minutes TYPE TEXT")
        conn.exec_driver_sql("UPDATE watchtime SET minutes = 'lots' WHERE username = 'bob'")
    broken.dispose()

    reports = run(engine, kick, source_url)

    assert "watchtime: 'bob': minutes is 'lots', not a whole number; left out" in (
        reports[SERVER_A].problems
    )
    assert numbers(reports[SERVER_A])["watchtime"] == (3, 0, 4)
    assert numbers(reports[SERVER_B])["watchtime"] == (1, 0, 1)  # bob is "lots" there too
    assert_counts_add_up(reports, source_url)


def test_ticket_counts_that_are_no_counts_are_problem_rows(engine, kick, source_url,
                                                           period_id):  # fmt: skip
    broken = sa.create_engine(normalize_url(source_url))
    with broken.begin() as conn:  # the views over the column go first, as by hand
        conn.exec_driver_sql("DROP VIEW raffle_leaderboard, raffle_current_stats")
        conn.exec_driver_sql("ALTER TABLE raffle_tickets ALTER COLUMN total_tickets TYPE NUMERIC")
        conn.exec_driver_sql("UPDATE raffle_tickets SET total_tickets = 2.5 WHERE id = 2")
        conn.exec_driver_sql("UPDATE raffle_tickets SET total_tickets = -15 WHERE id = 3")
    broken.dispose()

    reports = run(engine, kick, source_url, guild_id=SERVER_A)

    problems = reports[SERVER_A].problems
    assert (
        "raffle tickets: row 2 ('Alice_W'): total_tickets is 2.5, not a whole number; left out"
        in (problems)
    )
    assert "raffle tickets: row 3 ('bob'): total_tickets is -15, negative; left out" in problems
    assert numbers(reports[SERVER_A])["raffle tickets"] == (0, 0, 3)  # ghost: no such account
    assert reports[SERVER_A].counts["raffle tickets"].aside == {"no tickets": 1, "other periods": 1}
    assert_counts_add_up(reports, source_url)
    with engine.connect() as conn:
        assert ledger_repository.list_ledger(conn, SERVER_A, period_id) == []


def test_a_database_of_another_bot_is_refused(engine, kick, postgres_url, period_id):
    url = _fresh_postgres_database(postgres_url)
    assert "it has no 'watchtime' table" in refusal(engine, kick, url)


def test_a_guild_that_does_not_exist_is_refused(engine, kick, source_url, period_id):
    assert "Guild 333333333333333333 does not exist in StreamKeeper" in refusal(
        engine, kick, source_url, guild_id=SERVER_C
    )


def test_a_guild_the_source_does_not_have_is_refused(engine, kick, source_url, period_id):
    with engine.begin() as conn:
        from core.features.guilds.repository import ensure_guild

        ensure_guild(conn, 444, NOW)
    assert "has no rows for server 444" in refusal(engine, kick, source_url, guild_id=444)


def test_no_guild_here_at_all_is_refused(engine, kick, source_url):
    assert "is a guild in StreamKeeper" in refusal(engine, kick, source_url)


def test_an_import_that_did_not_finish_is_refused_until_forced(engine, kick, source_url,
                                                              period_id):  # fmt: skip
    with engine.begin() as conn:
        assert imports.claim_run(conn, SERVER_A, "kick-watchtime-bot", NOW, force=False)
        assert not imports.claim_run(conn, SERVER_A, "kick-watchtime-bot", NOW, force=False)

    text = refusal(engine, kick, source_url)

    assert text.startswith(f"An import into guild {SERVER_A} started at 2026-10-01 09:30 UTC")
    assert "--force" in text
    with engine.connect() as conn:
        assert standings.count_viewers(conn, SERVER_B) == 0  # refused before anything
    forced = run(engine, kick, source_url, force=True)
    assert numbers(forced[SERVER_A]) == FIRST_A
    with engine.connect() as conn:
        assert imports.find_run(conn, SERVER_A, "kick-watchtime-bot").status == "done"
