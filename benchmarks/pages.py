"""``python -m benchmarks --only pages``: every dashboard page of a busy streamer's guild (10,000
viewers, benchmarks/pages_seed.py) answered in under 100 ms of server time, also while
watchtime ticks run (issue 27).

The real web app (``create_app`` on a :class:`~core.runtime.Runtime` whose database is a fresh
one on the bench's throwaway PostgreSQL), a guild admin logged in the way the callback does it
for a token a loopback fake Discord (tests/fakes/discord_oauth.py) answers for, so every
permission check is real. Each page is asked once untimed (the permission cache fills, the
templates compile), then ``--page-requests`` times in rounds (every page once per round, so a
change in the machine's load falls on all pages alike) through Flask's test client, in this
process: the time from the request to the last byte of the body, no network in between.

Phase "quiet": nothing else runs. Phase "ticking": a process of its own (as the bot is) runs the
watchtime tick for the guild back to back, for successive instants 10 s apart (its 10,000
viewers present; their presence renewed every 20 ticks, as chat would), from before the first
request to after the last. Every tick must credit every viewer and every page must answer 200
with the seeded names, or the run is reported as broken. PASS when every page's p95 is under
100 ms in both phases.
"""

from __future__ import annotations

import argparse
import logging
import math
import multiprocessing
import os
import queue
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask.testing import FlaskClient

from benchmarks import pages_seed, proof_check
from benchmarks.report import Report, fmt, say
from benchmarks.system import OtherLoad
from benchmarks.watchtime import postgres_database
from core.features.schema import migrate
from core.storage import db
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD, FakeDiscordOAuth

TARGET_MS = 100.0
TICK_STEP = timedelta(seconds=10)
CLOSED_PORT = "http://127.0.0.1:9"  # discard: nothing listens there
RENEW_EVERY = 20  # ticks; 200 s of instants, inside the 5-minute active window


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-viewers", type=int, default=10_000, help="pages: the guild's viewers"
    )
    parser.add_argument(
        "--page-requests", type=int, default=30, help="pages: timed requests per page and phase"
    )


def quick(args: argparse.Namespace) -> None:
    args.page_requests = 5


def paths(seeded: pages_seed.Seeded) -> dict[str, str]:
    """Every page of tests/web/browser/test_every_page.py's list that reads the guild's data,
    the parts the raffle and VIP pages fetch, and the public raffle proof page, with a name the
    page must show (seeded data, not a heading)."""
    guild = f"/dashboard/{pages_seed.GUILD}"
    return {
        "/dashboard/": pages_seed.GUILD_NAME,
        "/me/": "ana_tv",
        f"{guild}/": pages_seed.GUILD_NAME,
        f"{guild}/connections/": "busystreamer",
        f"{guild}/watchtime/": seeded.top_viewer,
        f"{guild}/linking/": seeded.linked_member,
        f"{guild}/roles/": seeded.role,
        f"{guild}/raffle/": pages_seed.LAST_PRIZE,
        f"{guild}/raffle/standings": seeded.top_viewer,
        f"{guild}/vip/": seeded.vip,
        f"{guild}/vip/list": seeded.vip,
        f"{guild}/vip/log": seeded.vip,
        f"{guild}/slot-calls/": "Gates of Olympus",
        f"{guild}/heist/": seeded.heister,
        f"{guild}/overlays/": "/overlay/",  # each overlay's URL, its token made at first view
        f"{guild}/alerts/": "{who} gifted {amount} subs",  # each kind's words, read per guild
        f"{guild}/events/": pages_seed.viewer_name(seeded.viewers - 1),
        f"{guild}/payments/": "No payments in doubt",  # the seed keeps its points here
        f"/raffle/{seeded.closed_period_id}": seeded.winner,
    }


@dataclass
class Phase:
    name: str
    times: dict[str, list[float]] = field(default_factory=dict)  # seconds, by path
    ticks: int = 0
    tick_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0
    load: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    others: float = 0.0

    def p(self, path: str, q: float) -> float:
        """The ``q`` quantile (0..1) of the path's times in ms, nearest rank."""
        found = sorted(self.times.get(path, []))
        if not found:
            return math.nan
        return found[max(0, math.ceil(q * len(found)) - 1)] * 1000

    def missed(self) -> list[str]:
        return [path for path in self.times if not self.p(path, 0.95) < TARGET_MS]


@dataclass
class PagesFigures:
    viewers: int
    requests: int
    paths: list[str] = field(default_factory=list)  # the pages timed
    setup_seconds: float = 0.0
    phases: list[Phase] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    proof_rows: int = 0  # the ledger rows of the period the proof check reads
    proof_check: dict[str, list[float]] = field(default_factory=dict)  # seconds per round


def run(args: argparse.Namespace, pg_url: str, workdir: Path, report: Report) -> PagesFigures:
    figures = PagesFigures(args.page_viewers, args.page_requests)
    with postgres_database(pg_url) as url:
        began = time.perf_counter()
        seeded = seed(url, args.page_viewers)
        figures.setup_seconds = time.perf_counter() - began
        say(f"  seeded {args.page_viewers:,} viewers in {figures.setup_seconds:.0f} s")
        timed = paths(seeded)
        figures.paths = list(timed)
        with _site(url, workdir) as client:
            _phases(args, url, client, timed, figures)
            say("  the proof page's check in a browser ...")
            figures.proof_rows = _ledger_rows(url, seeded.closed_period_id)
            figures.proof_check = proof_check.browser_check(
                client.application, seeded.closed_period_id, workdir, figures.problems
            )
    report.problems += figures.problems
    return figures


def seed(url: str, viewers: int) -> pages_seed.Seeded:
    """Migrate the new database and fill it (benchmarks/pages_seed.py)."""
    engine = db.create_engine(url)
    try:
        migrate(engine)
        return pages_seed.fill(engine, viewers)
    finally:
        engine.dispose()


def _ledger_rows(url: str, period_id: int) -> int:
    engine = db.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT count(*) FROM raffle_ledger WHERE period_id = :p")
            return int(conn.execute(query, {"p": period_id}).scalar_one())
    finally:
        engine.dispose()


def _phases(args, url: str, client: FlaskClient, pages: dict[str, str], figures) -> None:  # type: ignore[no-untyped-def]
    measure(client, pages, 1, Phase("warm-up"), figures.problems)
    quiet = measure(client, pages, args.page_requests, Phase("quiet"), figures.problems)
    figures.phases.append(quiet)
    with ticking(url, args.page_viewers, figures.problems) as ticker:
        busy = measure(client, pages, args.page_requests, Phase("ticking"), figures.problems)
    figures.phases.append(busy)
    ticker.copy_to(busy)
    if ticker.count == 0:
        figures.problems.append("pages: no tick ran during the ticking phase")


def measure(
    client: FlaskClient, pages: dict[str, str], rounds: int, phase: Phase, problems: list[str]
) -> Phase:
    """``rounds`` rounds of one request per page; each timed from the call to the whole body."""
    others = OtherLoad()
    started = time.monotonic()
    reported: set[tuple[str, str]] = set()
    for _ in range(rounds):
        for path, shown in pages.items():
            began = time.perf_counter()
            response = client.get(path)
            body = response.get_data()
            phase.times.setdefault(path, []).append(time.perf_counter() - began)
            wrong = response.status_code != 200 or shown.encode() not in body
            if wrong and (phase.name, path) not in reported:
                reported.add((phase.name, path))
                problems.append(
                    f"pages {phase.name}: {path} answered {response.status_code}"
                    + ("" if response.status_code != 200 else f" without {shown!r}")
                )
    phase.seconds = time.monotonic() - started
    phase.load = os.getloadavg()
    phase.others = others.share()
    return phase


@contextmanager
def _site(url: str, workdir: Path) -> Iterator[FlaskClient]:
    """A test client of the web app on a Runtime on ``url``, logged in as the guild's admin
    (who may manage it, as the fake Discord says)."""
    from core.config import load_settings
    from core.runtime import Runtime
    from core.web.app import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's line per request
    with FakeDiscordOAuth() as discord:
        values = {
            "DATABASE_URL": url,
            "DATA_DIR": str(workdir / "pages-data"),
            "OAUTH_BASE_URL": "http://dash.test",
            "FLASK_SECRET_KEY": "pages-bench-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "KICK_PUSHER_ENABLED": "false",
            # A Kick app, so the connections page shows the channel; its calls (none while a
            # page is drawn) would go to a closed loopback port, never off the machine.
            "KICK_CLIENT_ID": "bench-kick-app",
            "KICK_CLIENT_SECRET": "bench-kick-secret",
            "KICK_API_BASE_URL": CLOSED_PORT,
            "KICK_OAUTH_BASE_URL": CLOSED_PORT,
            "DISCORD_CLIENT_ID": CLIENT_ID,
            "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_OAUTH_BASE_URL": discord.oauth_base_url,
        }
        runtime = Runtime(load_settings(values, env_file=None))
        try:
            app = create_app(runtime.web_services())
            admin = discord.add_user(pages_seed.ADMIN, "ana")
            admin.member_of(pages_seed.GUILD, pages_seed.GUILD_NAME, MANAGE_GUILD)
            token = "token-of-the-bench-admin"  # noqa: S105 (the fake Discord's)
            discord.tokens[token] = pages_seed.ADMIN
            dashboard = app.extensions["dashboard"]
            client = app.test_client()
            with client.session_transaction() as session:
                session["sid"] = dashboard.sessions.start(pages_seed.ADMIN, timedelta(hours=8))
                session["uid"] = pages_seed.ADMIN
                session["name"] = "ana"
                session["tok"] = dashboard.tokens.seal(token)
                session["csrf"] = "csrf-of-the-bench-session"
            yield client
        finally:
            runtime.close()


@dataclass
class Ticker:
    count: int = 0
    seconds: list[float] = field(default_factory=list)

    def copy_to(self, phase: Phase) -> None:
        phase.ticks, phase.tick_seconds = self.count, self.seconds


@contextmanager
def ticking(url: str, viewers: int, problems: list[str]) -> Iterator[Ticker]:
    """Watchtime ticks back to back in a process of their own while the block runs."""
    context = multiprocessing.get_context("spawn")
    stop, ready, results = context.Event(), context.Event(), context.Queue()
    process = context.Process(
        target=tick_loop, args=(url, viewers, stop, ready, results), daemon=True
    )
    process.start()
    ticker = Ticker()
    try:
        if not ready.wait(120):
            problems.append("pages: the ticking process did not start")
        yield ticker
    finally:
        stop.set()
        try:
            found = results.get(timeout=120)
        except queue.Empty:
            found = {"problems": ["pages: the ticking process did not report"]}
        process.join(30)
        ticker.count = found.get("ticks", 0)
        ticker.seconds = found.get("seconds", [])
        problems += found.get("problems", [])


def tick_loop(url: str, viewers: int, stop, ready, results) -> None:  # type: ignore[no-untyped-def]
    """The ticking process: ``WatchtimeService.tick`` for the guild at instants 10 s apart until
    ``stop``; each must credit every viewer. Puts what it did on ``results``."""
    import sqlalchemy as sa

    from core.config import WatchtimeSettings
    from core.features.watchtime.service import WatchtimeService

    engine = db.create_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    service = WatchtimeService(engine, WatchtimeSettings(), clock=lambda: now)
    renew = sa.text(
        "UPDATE watch_presence SET last_active_at = :at, active_bucket = NULL, "
        "earlier_active_at = NULL WHERE guild_id = :g"
    )
    found: dict[str, Any] = {"ticks": 0, "seconds": [], "problems": []}
    try:
        _renew(engine, renew, now)
        service.tick(pages_seed.GUILD, now)  # sets the guild's clock, credits nothing
        ready.set()
        while not stop.is_set():
            now += TICK_STEP
            if found["ticks"] % RENEW_EVERY == RENEW_EVERY - 1:
                _renew(engine, renew, now)
            began = time.perf_counter()
            result = service.tick(pages_seed.GUILD, now)
            found["seconds"].append(time.perf_counter() - began)
            found["ticks"] += 1
            if result.credited_viewers != viewers:
                found["problems"].append(
                    f"pages: a tick credited {result.credited_viewers:,} of {viewers:,} viewers"
                )
                break
    except Exception as exc:  # reported, not raised: the process's end is the report
        found["problems"].append(f"pages: the ticking process failed: {exc!r}")
    finally:
        ready.set()
        engine.dispose()
        results.put(found)


def _renew(engine: Any, renew: Any, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(renew, {"at": now - timedelta(seconds=5), "g": pages_seed.GUILD})


def print_figures(figures: PagesFigures, report: Report, shorten: Callable[[str], str]) -> None:
    say()
    say(
        f"DASHBOARD PAGES: {figures.viewers:,} viewers, {figures.requests} requests per page "
        "and phase, server time (request to whole body, Flask test client), ms"
    )
    header = f"{'page':<34}" + "".join(
        f"{phase.name + ' p50':>14}{'p95':>8}" for phase in figures.phases
    )
    say(header)
    say("-" * len(header))
    for path in figures.phases[0].times if figures.phases else []:
        say(
            f"{shorten(path):<34}"
            + "".join(
                f"{fmt(ph.p(path, 0.5)):>14}{fmt(ph.p(path, 0.95)):>8}" for ph in figures.phases
            )
        )
    for phase in figures.phases:
        load = " ".join(f"{value:.2f}" for value in phase.load)
        extra = ""
        if phase.tick_seconds:
            extra = (
                f", {phase.ticks} ticks ran meanwhile (median "
                f"{statistics.median(phase.tick_seconds):.2f} s each)"
            )
        say(
            f"{phase.name}: {phase.seconds:.0f} s, load average {load} at the end, other "
            f"processes {phase.others:.0%} of the CPUs{extra}"
        )
    say(f"set-up (seeding, untimed): {figures.setup_seconds:.0f} s")
    for phase in figures.phases:
        missed = phase.missed()
        worst = max((phase.p(path, 0.95) for path in phase.times), default=math.nan)
        measured = f"worst p95 {fmt(worst)} ms"
        if missed:
            measured += " MISS: " + ", ".join(shorten(path) for path in missed)
        report.target(
            f"every page's p95 < {TARGET_MS:.0f} ms, {figures.viewers:,} viewers, {phase.name}",
            measured,
            not missed,
        )
    for what, seconds in figures.proof_check.items():
        if not seconds:
            continue
        size = f"{figures.proof_rows:,} ledger rows" if what == proof_check.PAGE else "BLS check"
        rounds = " ".join(f"{value:.2f}" for value in seconds)
        report.target(
            f"the proof check in a browser < {proof_check.TARGET_SECONDS:.0f} s: {what} ({size})",
            f"median {statistics.median(seconds):.2f} s (rounds: {rounds})",
            statistics.median(seconds) < proof_check.TARGET_SECONDS,
        )


def shorten(path: str) -> str:
    return path.replace(f"/dashboard/{pages_seed.GUILD}/", "guild/")
