"""An import run again after ``privacy forget`` brings nothing of the forgotten person back, and
says how many of the source's rows it skipped as forgotten."""

from __future__ import annotations

import threading
import time
from collections.abc import Collection, Mapping
from datetime import timedelta

import pytest
import sqlalchemy as sa

from core.events import Platform
from core.features import guild_forget
from core.features.importers import kwb_writes
from core.features.importers import repository as imports
from core.features.importers.forgotten import hold_against_imports
from core.features.importers.report import render
from core.features.linking import repository as linking
from core.features.person_data import Person, find_person, person_rows
from core.features.person_forget import forget
from core.features.points.repository import balance_of
from core.features.raffle import ledger_repository
from core.features.watchtime import standings_repository as standings
from tests.fakes.streamelements_server import CHANNEL_ID
from tests.features.importers import kwb_rows
from tests.features.importers import test_kwb_import as kwb
from tests.features.importers import test_se_points as se_points
from tests.features.importers.kwb_rows import ALICE, BOB, D_ALICE, SERVER_A, SERVER_B
from tests.features.importers.test_se_points import GUILD, NOW, TWITCH, guild, se  # noqa: F401 - fixtures

KICK = Platform.KICK


def forgotten(count) -> int:  # type: ignore[no-untyped-def]
    return count.forgotten


async def helix_knows_ann(logins: Collection[str]) -> Mapping[str, str]:
    return {login: f"t-{login}" for login in logins if login == "ann"}


def test_a_forgotten_viewers_streamelements_balance_does_not_come_back(engine, se, guild):  # noqa: F811
    se.points.update({"ann": 500, "bob": 120})
    ann = Person(None, frozenset({("twitch", "t-ann")}), {})
    assert se_points.numbers(se_points.run(engine, se)) == (2, 0, 0)
    with engine.begin() as conn:
        forget(conn, ann, NOW, delete=True)
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 0

    again = se_points.run(engine, se, twitch=helix_knows_ann)  # her viewer row went too

    count = again.report.counts["points"]
    assert (count.imported, count.already, forgotten(count)) == (0, 1, 1)
    assert count.total == 2
    line = "  points           imported 0; already there 1; left out 0; skipped as forgotten 1"
    assert f"{line} (of 2)" in render([again.report], dry_run=False)
    with engine.connect() as conn:
        assert balance_of(conn, GUILD, TWITCH, "t-ann") == 0
        assert balance_of(conn, GUILD, TWITCH, "t-bob") == 120
        # What is kept of her is hers to see: her export lists it.
        markers = person_rows(conn, ann)["import_markers"]
    assert [m["source_ref"] for m in markers] == [f"streamelements:{CHANNEL_ID}:id:t-ann"]


def test_a_forgotten_members_kick_watchtime_bot_rows_do_not_come_back(
    engine, kick, source_url, period_id
):
    first = kwb.run(engine, kick, source_url)[SERVER_A]
    assert kwb.numbers(first) == kwb.FIRST_A
    with engine.begin() as conn:
        forget(conn, find_person(conn, D_ALICE), kwb.NOW, delete=True)

    again = kwb.run(engine, kick, source_url, now=kwb.NOW + timedelta(minutes=5))[SERVER_A]

    counts = again.counts
    assert {t: (c.imported, forgotten(c)) for t, c in counts.items()} == {
        "watchtime": (0, 2),  # "Alice_W" and "alice_w"
        "links": (0, 1),
        "role tiers": (0, 0),
        "raffle tickets": (0, 1),
        "raffle winners": (0, 1),
    }
    alice = str(ALICE[0])
    with engine.connect() as conn:
        assert standings.get_viewer(conn, SERVER_A, KICK, alice) is None
        assert linking.find_link_by_discord_user(conn, KICK, D_ALICE) is None
        assert linking.find_link_by_account(conn, KICK, alice) is None
        ledger = ledger_repository.list_ledger(conn, SERVER_A, period_id)
        assert {e.platform_user_id for e in ledger} == {str(BOB[0])}
        assert imports.list_winners(conn, SERVER_A) == []
        assert standings.get_viewer(conn, SERVER_A, KICK, str(BOB[0])) is not None
        markers = person_rows(conn, find_person(conn, D_ALICE)).get("import_markers", [])
    assert {(m["guild_id"], m["source_ref"]) for m in markers} >= {
        (SERVER_A, f"links:{D_ALICE}"),
        (SERVER_B, f"links:{D_ALICE}"),  # a link is one for every server
    }


def test_a_server_removed_and_imported_into_again_gets_everyone_but_the_forgotten(
    engine, kick, source_url, period_id
):
    """``guild remove`` deletes the server's rows, its import markers with them (the operator
    adds it again and imports again: a fresh start), but not the markers of people forgotten
    before: those stay out."""
    kwb.run(engine, kick, source_url)
    with engine.begin() as conn:
        forget(conn, find_person(conn, D_ALICE), kwb.NOW, delete=True)
        guild_forget.delete(conn, SERVER_A)
    later = kwb.NOW + timedelta(days=1)
    new_period = kwb_rows.prepare_target(engine, later)

    again = kwb.run(engine, kick, source_url, now=later)[SERVER_A]

    assert {t: (c.imported, c.forgotten) for t, c in again.counts.items()} == {
        "watchtime": (2, 2),  # bob and carol again; not Alice_W, alice_w
        "links": (0, 1),  # Bob's link is one for every server: it stayed
        "role tiers": (2, 0),
        "raffle tickets": (1, 1),
        "raffle winners": (0, 1),
    }
    with engine.connect() as conn:
        assert standings.get_viewer(conn, SERVER_A, KICK, str(ALICE[0])) is None
        assert linking.find_link_by_account(conn, KICK, str(ALICE[0])) is None
        ledger = ledger_repository.list_ledger(conn, SERVER_A, new_period)
        assert {e.platform_user_id for e in ledger} == {str(BOB[0])}


def test_a_forget_during_an_import_waits_for_it_and_then_forgets_what_it_wrote(
    engine, kick, source_url, period_id, monkeypatch
):
    """The forget comes while the import is half way (Alice's watchtime written, not
    committed): it waits for the import, then deletes what the import wrote and marks it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("a second writer runs meanwhile only on PostgreSQL")
    pids: list[int] = []
    workers: list[threading.Thread] = []
    original_links = kwb_writes._ServerWrite.links

    def forget_alice() -> None:
        with engine.begin() as conn:
            pids.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            hold_against_imports(conn)  # as privacy forget --yes does, before finding her
            forget(conn, find_person(conn, D_ALICE), kwb.NOW, delete=True)

    def links_while_forgetting(self):  # type: ignore[no-untyped-def]
        if self.guild_id == SERVER_A and not workers:
            workers.append(threading.Thread(target=forget_alice))
            workers[0].start()
            deadline = time.monotonic() + 20
            while workers[0].is_alive() and not kwb.waits_on_a_lock(engine, pids):
                assert time.monotonic() < deadline, "the forget neither ran nor waited"
                time.sleep(0.01)
        return original_links(self)

    with engine.begin() as conn:  # Alice linked before: the forget finds her by her link
        linking.save_link(
            conn,
            linking.AccountLink(KICK, str(ALICE[0]), D_ALICE, "Alice_W", kwb.NOW),
            SERVER_A,
        )
    monkeypatch.setattr(kwb_writes._ServerWrite, "links", links_while_forgetting)
    kwb.run(engine, kick, source_url, guild_id=SERVER_A)
    workers[0].join(timeout=30)
    monkeypatch.undo()

    with engine.connect() as conn:
        assert standings.get_viewer(conn, SERVER_A, KICK, str(ALICE[0])) is None
    again = kwb.run(engine, kick, source_url, guild_id=SERVER_A)[SERVER_A]
    assert again.counts["watchtime"].forgotten == 2
    with engine.connect() as conn:
        assert standings.get_viewer(conn, SERVER_A, KICK, str(ALICE[0])) is None
