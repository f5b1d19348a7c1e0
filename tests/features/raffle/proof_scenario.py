"""A raffle month built through the service, always the same, and its exported proof files.

Watchtime converted over several ticks (baselines, viewers first seen after the open, hours
carried across ticks and converted again at the close), gifts (one replayed), tickets given and
removed by hand (a non-ASCII reason), an excluded and an unlinked holder, a draw of three and a
reroll as rerolls were made before they waited for a round of their own (on the period's
round). ``tests/fixtures/raffle/`` holds what the code before the set-based conversion and the
balance-based draw exported for it (raffle-1-*.json, snapshot version 1: ``python -m
tests.features.raffle.proof_scenario OUT_DIR 1`` writes them again) and what the code exported
when it closed the month in version 2 (raffle-v2-1-*.json, admins named by pseudonyms;
``... OUT_DIR 2``) and in version 3 (raffle-v3-1-*.json, the snapshot fixes the beacon round;
``... OUT_DIR 3``); ``test_proof_format.py`` checks that they still verify and that today's
code exports the very same bytes.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import shutil
import sqlite3
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from core.events import Viewer
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.fairness import SNAPSHOT_VERSION
from core.features.raffle.draws.repository import Draw
from core.features.raffle.ports import BeaconInfo, BeaconRound
from core.features.raffle.service import RaffleService
from core.features.schema import migrate
from core.storage.db import create_engine
from tests.conftest import sqlite_template
from tests.fakes.beacon_server import GENESIS
from tests.features.raffle.support import (
    GUILD,
    add_viewer,
    gift,
    make_service,
    set_watchtime,
)
from tests.support.clock import Clock

HOUR = 3600
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "raffle"


def unsigned_randomness(beacon_round: int) -> str:
    """What the fake beacon answered before rounds were signed; the committed proof has it."""
    return hashlib.sha256(f"fake-beacon:{beacon_round}".encode()).hexdigest()


class FixedBeacon:
    """A beacon of the kind the code had before signatures were checked: timing and randomness,
    no chain hash, no signatures; in process, under a fixed URL (so the proof is the same bytes
    every run, and the same as the committed one)."""

    url = "https://beacon.example"

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.genesis_time = int(GENESIS.timestamp())

    def info(self) -> BeaconInfo:
        return BeaconInfo(self.genesis_time, 30)

    def fetch_round(self, number: int, chain: BeaconInfo | None = None) -> BeaconRound | None:
        if self.genesis_time + (number - 1) * 30 > self.clock().timestamp():
            return None
        return BeaconRound(number, unsigned_randomness(number))


def build(engine: Engine, version: int = SNAPSHOT_VERSION) -> tuple[RaffleService, int]:
    """Run the month on a fresh, migrated database, closing it in snapshot ``version``;
    return the service and the period id."""
    clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
    return _service(engine, clock, version), _run_month(engine, clock, version)


def built(engine: Engine) -> tuple[RaffleService, int]:
    """:func:`build`'s month on ``engine`` (a migrated, empty SQLite database), copied from the
    one this process built first: the month takes a second to build, and each test of the
    raffle pages wants one of its own. The service is a new one, with the clock where the
    month left it."""
    template, period_id, end = _month_on_file()
    with sqlite3.connect(template) as source, engine.connect() as conn:
        source.backup(conn.connection.driver_connection)
    return _service(engine, Clock(end)), period_id


@functools.cache
def _month_on_file() -> tuple[Path, int, datetime]:
    folder = Path(tempfile.mkdtemp(prefix="streamkeeper-month-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = shutil.copyfile(sqlite_template(), folder / "month.sqlite3")
    engine = create_engine(f"sqlite:///{path}")
    try:
        clock = Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))
        period_id = _run_month(engine, clock)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL: the file is the database
    return path, period_id, clock()


def _service(engine: Engine, clock: Clock, version: int = SNAPSHOT_VERSION) -> RaffleService:
    raffle = make_service(engine, clock, snapshot_version=version)
    raffle.draws.beacon = FixedBeacon(clock)
    return raffle


def _run_month(engine: Engine, clock: Clock, version: int = SNAPSHOT_VERSION) -> int:
    raffle = _service(engine, clock, version)
    for n in range(12):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    add_viewer(engine, "n\u00fc", "n\u00fcrnberger", discord_id=200)
    add_viewer(engine, "ghost", "unlinked")
    for n in range(6):  # watched before the period: their baseline
        set_watchtime(engine, f"u{n}", 2 * HOUR + 60 * n)
    raffle.periods.start(GUILD)

    watched = {f"u{n}": 2 * HOUR + 60 * n for n in range(6)}
    for tick in range(1, 4):
        clock.advance(hours=1)
        for n in range(9):
            watched[f"u{n}"] = watched.get(f"u{n}", 0) + (n + 1) * 1500
            set_watchtime(engine, f"u{n}", watched[f"u{n}"])
        set_watchtime(engine, "ghost", tick * 4000)
        set_watchtime(engine, "n\u00fc", tick * 3700)
        raffle.run_scheduled()

    at = clock()
    raffle.record_gift(GUILD, gift("g1", Viewer("u3", "viewer3"), ("ana", "bo"), at))
    raffle.record_gift(GUILD, gift("g1-pusher", Viewer("u3", "viewer3"), ("bo", "ana"), at))
    raffle.record_gift(GUILD, gift("g2", Viewer("ghost", "unlinked"), ("cy",), at))
    for n in range(12):
        raffle.admin.give(
            GUILD, actor_id=1, member_id=100 + n, tickets=5 + 7 * n, reason="", reference=f"m{n}"
        )
    raffle.admin.give(
        GUILD,
        actor_id=1,
        member_id=200,
        tickets=33,
        reason="Gewinnspiel \u00fc \u2713",
        reference="x1",
    )
    raffle.admin.give(GUILD, actor_id=2, member_id=104, tickets=-4, reason="", reference="x2")
    raffle.admin.exclude(GUILD, actor_id=1, member_id=111, username=None)

    clock.now = datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    for n in range(9):  # the last hours, converted by the close
        set_watchtime(engine, f"u{n}", watched[f"u{n}"] + HOUR + 10)
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()
    clock.advance(minutes=1)
    first = raffle.draws.request(GUILD, actor_id=1, winners=3, prize="a hoodie")
    clock.advance(minutes=1)
    _reroll_as_before(engine, raffle, first, reason="no answer \u2013 ask again")
    return first.period_id


def _reroll_as_before(engine: Engine, raffle: RaffleService, first: Draw, reason: str) -> None:
    """A reroll as the code that exported the fixtures asked for it: a row without a round of
    its own, so it draws on the period's round (already out), as such rows still do."""
    with engine.begin() as conn:
        draw_id = draws_repository.create_draw(
            conn,
            guild_id=GUILD,
            period_id=first.period_id,
            winners_wanted=first.winners_wanted,
            prize=first.prize,
            requested_by=1,
            now=raffle.draws.clock(),
            reroll_of=first.id,
            reason=reason,
        )
    raffle.draws.complete(draw_id)


def export_bytes(raffle: RaffleService, period_id: int) -> dict[str, bytes]:
    """What ``python -m core raffle export`` writes, by file name."""
    proof = raffle.views.export(period_id)
    return {
        f"raffle-{period_id}-{kind}.json": (
            json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        ).encode("utf-8")
        for kind, document in (("proof", proof.document), ("ledger", proof.ledger))
    }


def main(out: str, version: int) -> None:  # pragma: no cover (writes the fixtures)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{folder}/scenario.sqlite3")
        migrate(engine)
        raffle, period_id = build(engine, version)
        for name, data in export_bytes(raffle, period_id).items():
            if version != 1:
                name = name.replace("raffle-", f"raffle-v{version}-", 1)
            (Path(out) / name).write_bytes(data)
            print(Path(out) / name)  # noqa: T201
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    main(
        sys.argv[1] if len(sys.argv) > 1 else str(FIXTURES),
        int(sys.argv[2]) if len(sys.argv) > 2 else SNAPSHOT_VERSION,
    )
