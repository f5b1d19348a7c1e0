"""``python -m core privacy forget``: the rows about one person go, each table as
core/features/person_forget.py decides; what stays is said with its reason (a closed raffle
period's published evidence, an admin's own actions on others); another member's data and the
closed period's proof are untouched; without ``--yes`` nothing is deleted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.bus.embedded import EmbeddedBus
from core.events import AccountLinked, Followed, KicksGifted, Platform, Subscribed, Viewer
from core.features.linking.service import LinkingService, LinkRefused
from core.features.person_data import Person, find_person, matched_columns, person_rows
from core.features.person_forget import FORGET, KEPT, forget
from core.features.schema import all_tables
from core.storage.tables import bus_events
from tests.features.heist.test_history import add_heist
from tests.features.raffle.support import add_viewer
from tests.features.test_person_data import ANA, BOB, exported, seeded  # noqa: F401 - seeded: a fixture
from tests.support.events import chat_message
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture


@pytest.fixture
def with_raffle(seeded):  # noqa: F811
    """A closed period (drawn into its proof) and an open one, Ana holding tickets in both."""
    raffle, guild = seeded.raffle, int(GUILD)
    raffle.periods.start(guild)
    raffle.admin.give(guild, actor_id=BOB, member_id=ANA, tickets=7, reason="", reference="r1")
    raffle.admin.give(guild, actor_id=ANA, member_id=BOB, tickets=3, reason="", reference="r2")
    closed = raffle.periods.end(guild).period
    # Two winners of two: Ana is one whatever the seed (no beacon here: it waits, then is forced).
    raffle.draws.request(guild, actor_id=BOB, winners=2)
    raffle.draws.force(guild, actor_id=BOB)
    raffle.periods.start(guild)
    raffle.admin.give(guild, actor_id=BOB, member_id=ANA, tickets=5, reason="", reference="r3")
    # Ana's seat in a finished heist, and in one under way (its result still pays her stake).
    tables, now = all_tables().tables, seeded.clock()
    with seeded.engine.begin() as conn:
        for state, finished in (("resolved", now), ("open", None)):
            heist_id = add_heist(conn, guild, state, finished)
            conn.execute(sa.insert(tables["heist_participants"]).values(
                heist_id=heist_id, guild_id=guild, platform="kick", platform_user_id="k-ana",
                username="ana_kick", stake=100, risk="low", joined_at=now))  # fmt: skip
    return seeded, closed


def assert_proof_still_verifies(env: dict[str, str], period_id: int) -> None:
    """The closed period's proof, exported now, is still a match for ``raffle verify``."""
    out = Path(env["DATA_DIR"]).parent / "proof"
    written = cli(env, "raffle", "export", str(period_id), "--out", str(out))
    assert written.returncode == 0, written.stderr
    files = [str(out / f"raffle-{period_id}-{part}.json") for part in ("proof", "ledger")]
    verified = cli(env, "raffle", "verify", *files)
    assert (verified.returncode, verified.stdout.split(":")[0]) == (0, "match"), verified.stdout


def test_without_yes_it_only_says_what_it_would_do(cli_env, with_raffle):  # noqa: F811
    before = exported(cli_env, "--member", str(ANA))

    result = cli(cli_env, "privacy", "forget", "--member", str(ANA))

    assert result.returncode == 0, result.stderr
    assert "would delete 1 row(s) of account_links" in result.stdout
    # Ana's line of the closed period, and the tickets she gave Bob there as an admin.
    assert "would keep 2 row(s) of raffle_ledger: a closed period's ledger" in result.stdout
    assert result.stdout.strip().endswith("run it again with --yes to delete.")
    assert exported(cli_env, "--member", str(ANA)) == before


def test_forget_deletes_what_is_about_them_and_keeps_the_closed_periods_evidence(
    cli_env,  # noqa: F811
    with_raffle,
):
    runtime, closed = with_raffle
    bob_before = exported(cli_env, "--member", str(BOB))

    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert result.returncode == 0, result.stderr
    assert "deleted 1 row(s) of account_links" in result.stdout
    # Her links are gone; her seat in the heist under way is kept for now, so her account is
    # recorded until it goes, and her export still finds what is kept under it.
    left = exported(cli_env, "--member", str(ANA))["tables"]
    assert set(left) == {
        "kick_connections", "points_ledger", "raffle_ledger", "raffle_balances",
        "raffle_frozen_ranges", "raffle_watch_progress", "raffle_winners",
        "heist_participants", "privacy_forgets_to_finish", "outbox",
    }  # fmt: skip
    # The call that takes back her roles names her until the Discord worker has made it.
    [call] = left["outbox"]
    assert (call["kind"], call["finished_at"]) == ("linking.forgotten", None)
    recorded = {(r["platform"], r["platform_user_id"]) for r in left["privacy_forgets_to_finish"]}
    assert recorded == {("kick", "k-ana"), ("outbox", str(call["id"]))}
    # What stays: what Ana did as an admin, and the closed period's ledger (her line in it too).
    # Ana gave Bob 70 points as the admin; her own 50 went.
    assert {r["platform_user_id"] for r in left["points_ledger"]} == {"k-bob"}
    tables = all_tables().tables
    with runtime.engine.connect() as conn:
        ledger = tables["raffle_ledger"]
        kept = conn.execute(
            sa.select(ledger.c.period_id, ledger.c.amount).where(
                ledger.c.platform_user_id == "k-ana"
            )
        ).all()
        watched = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables["watchtime"])
            .where(tables["watchtime"].c.platform_user_id == "k-ana")
        ).scalar_one()
        seats = (
            conn.execute(
                sa.select(tables["heists"].c.state).join(
                    tables["heist_participants"],
                    tables["heist_participants"].c.heist_id == tables["heists"].c.id,
                )
            )
            .scalars()
            .all()
        )
    assert [tuple(row) for row in kept] == [(closed.id, 7)]  # the open period's 5 went
    assert watched == 0
    assert seats == ["open"]  # the finished heist's seat went; the one under way stays
    assert "kept 1 row(s) of heist_participants: a seat in a heist under way" in result.stdout
    assert [r["connected_by"] for r in left["kick_connections"]] == [ANA]
    assert "kept 1 row(s) of kick_connections: a channel's connection an admin made" in (
        result.stdout
    )
    # Bob's data, and the closed period's proof, are as they were.
    # (The lines about Ana that Bob wrote as an admin were about her: left out of the match.)
    bob_after = exported(cli_env, "--member", str(BOB))
    assert _without_ana(bob_after) == _without_ana(bob_before)
    assert_proof_still_verifies(cli_env, closed.id)

    again = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")
    assert [line for line in again.stdout.splitlines() if line.startswith("deleted")] == []
    assert "2 row(s) kept for now (heist_participants, outbox) are deleted when the heist ends" in (
        again.stdout
    )


def test_an_account_they_only_tried_to_link_is_not_theirs_to_forget(
    cli_env,  # noqa: F811
    seeded,  # noqa: F811
):
    """Ana's browser was signed in to Kick as Bob's account (a shared computer), so her link
    was refused, and the refusal is in the link history with Bob's account. That account is
    Bob's: Ana's export does not show his link or watchtime, and forgetting Ana keeps them.
    An account she linked once and Bob links now is his too."""
    with pytest.raises(LinkRefused):
        seeded.linking.link(
            guild_id=int(GUILD), discord_user_id=ANA, platform=Platform.KICK,
            platform_user_id="k-bob", username="bob_kick",
        )  # fmt: skip
    bob_before = exported(cli_env, "--member", str(BOB))

    document = exported(cli_env, "--member", str(ANA))
    assert sorted(document["accounts"]) == ["kick:k-ana"]
    assert {r["discord_user_id"] for r in document["tables"]["account_links"]} == {ANA}
    assert {r["platform_user_id"] for r in document["tables"]["watchtime"]} == {"k-ana"}
    # Her own refused attempt is about her: it is in her export (and goes when she is forgotten).
    assert [r["action"] for r in document["tables"]["link_history"]].count("refused") == 1

    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 row(s) of account_links" in result.stdout
    assert "deleted 1 row(s) of watchtime" in result.stdout
    assert seeded.linking.link_of(BOB) is not None
    bob_after = _without_ana(exported(cli_env, "--member", str(BOB)))["tables"]
    for table, rows in _without_ana(bob_before)["tables"].items():
        if table != "link_history":  # Ana's refused attempt on his account went with her
            assert bob_after.get(table) == rows, table
    assert [r["discord_user_id"] for r in bob_before["tables"]["link_history"]] == [ANA]
    assert "link_history" not in bob_after


def test_an_account_another_member_linked_after_them_is_not_theirs(engine):
    """Ana linked a Kick account once and unlinked it; Bob linked it after her, watched with it
    and unlinked it too (the account changed hands). What it gathered is Bob's: Ana's export
    does not name it, and forgetting Ana keeps its watchtime and Bob's link history."""
    linking = LinkingService(engine, lambda: datetime(2026, 11, 27, tzinfo=UTC))
    guild, tables = int(GUILD), all_tables().tables
    for member in (ANA, BOB):
        linking.link(guild_id=guild, discord_user_id=member, platform=Platform.KICK,
                     platform_user_id="k-shared", username="shared")  # fmt: skip
        linking.unlink(guild, member, actor_id=member)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables["watchtime"]).values(
                guild_id=guild, platform="kick", platform_user_id="k-shared", seconds=7200
            )
        )

    with engine.begin() as conn:
        assert find_person(conn, ANA).accounts == frozenset()
        assert find_person(conn, BOB).accounts == {("kick", "k-shared")}
        report = forget(conn, find_person(conn, ANA), datetime.now(UTC), delete=True)

    assert "watchtime" not in report.deleted
    assert report.deleted["link_history"] == 2  # her link and unlink
    with engine.connect() as conn:
        seconds = conn.execute(sa.select(tables["watchtime"].c.seconds)).scalar_one()
    assert seconds == 7200
    assert [entry.action for entry in linking.history(guild, BOB)] == ["linked", "unlinked"]


def test_an_imported_rows_marker_is_in_the_export_and_kept_with_its_reason(
    cli_env,  # noqa: F811
    seeded,  # noqa: F811
):
    """The kick-watchtime-bot import remembers each watchtime row it took by the Kick name
    (``watchtime:Ana_Kick``). That is Ana's name: her export shows it, and forgetting her keeps
    it and says why (importing again would bring her watchtime back). Bob's marker is his."""
    markers, now = all_tables().tables["import_markers"], seeded.clock()
    with seeded.engine.begin() as conn:
        for ref in ("watchtime:Ana_Kick", "watchtime:bob_kick", "raffle_tickets:7"):
            conn.execute(sa.insert(markers).values(
                guild_id=int(GUILD), source="kick-watchtime-bot", source_ref=ref,
                imported_at=now))  # fmt: skip

    document = exported(cli_env, "--member", str(ANA))
    assert [r["source_ref"] for r in document["tables"]["import_markers"]] == ["watchtime:Ana_Kick"]
    assert "import_markers" not in exported(cli_env, "--account", "twitch:carl_tv")["tables"]

    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")
    assert result.returncode == 0, result.stderr
    assert (
        "kept 1 row(s) of import_markers: the other bot's watchtime row already imported"
        in result.stdout
    )
    with seeded.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(markers)).scalar_one() == 3


def test_the_alerts_naming_them_are_in_the_export_and_forgotten(cli_env, seeded):  # noqa: F811
    """Ana followed and cheered: the alerts overlay showed her name (and her cheer's words).
    Her export lists both alerts, and forgetting her deletes them (shown once, they are
    evidence of nothing); Bob's follow alert stays."""
    alerts, now = seeded.overlays.event_alerts, seeded.clock()
    for event_id, viewer in (("f-ana", Viewer("k-ana", "ana_kick")),
                             ("f-bob", Viewer("k-bob", "bob_kick"))):  # fmt: skip
        alerts.handle(int(GUILD), Followed(platform=Platform.KICK, broadcaster_user_id="77",
                      event_id=event_id, occurred_at=now, viewer=viewer))  # fmt: skip
    alerts.handle(int(GUILD), KicksGifted(platform=Platform.KICK, broadcaster_user_id="77",
                  event_id="k-1", occurred_at=now, viewer=Viewer("k-ana", "ana_kick"), amount=5,
                  message="my phone is 555-0100"))  # fmt: skip

    document = exported(cli_env, "--member", str(ANA))
    assert [r["title"] for r in document["tables"]["overlay_alerts"]] == [
        "ana_kick just followed!",
        "ana_kick sent 5 KICKs!",
    ]
    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert result.returncode == 0, result.stderr
    assert "deleted 2 row(s) of overlay_alerts" in result.stdout
    table = all_tables().tables["overlay_alerts"]
    with seeded.engine.connect() as conn:
        left = conn.execute(sa.select(table.c.title, table.c.detail)).all()
    assert [tuple(row) for row in left] == [("bob_kick just followed!", "")]


def test_a_settled_streamelements_stake_goes_and_one_under_way_stays(cli_env, seeded):  # noqa: F811
    """StreamElements keys points by Twitch login, and Ana's is ana_tv: her stake in a heist
    that ended (settled) goes with her; her stake in a heist under way stays, for its result
    to pay or refund. Carl's settled stake is his."""
    add_viewer(seeded.engine, "t-ana", "Ana_TV", discord_id=ANA, platform=Platform.TWITCH)
    holds, now = all_tables().tables["points_se_holds"], seeded.clock()
    with seeded.engine.begin() as conn:
        for ref, login, settled in (("h1:ana", "ana_tv", now), ("h2:ana", "ana_tv", None),
                                    ("h1:carl", "carl_tv", now)):  # fmt: skip
            conn.execute(sa.insert(holds).values(
                guild_id=int(GUILD), username=login, amount=100, source="heist", source_ref=ref,
                created_at=now, settled_at=settled))  # fmt: skip

    document = exported(cli_env, "--member", str(ANA))
    assert [r["source_ref"] for r in document["tables"]["points_se_holds"]] == ["h1:ana", "h2:ana"]
    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert result.returncode == 0, result.stderr
    assert "deleted 1 row(s) of points_se_holds" in result.stdout
    kept = "kept 1 row(s) of points_se_holds: a StreamElements stake held for a heist under way"
    assert kept in result.stdout
    with seeded.engine.connect() as conn:
        left = conn.execute(sa.select(holds.c.source_ref).order_by(holds.c.id)).scalars().all()
    assert left == ["h2:ana", "h1:carl"]


def _publish_ana_and_bob_events(bus: EmbeddedBus, engine: sa.Engine) -> dict[str, str]:
    """Ana's chat line set aside as dead, her Kick sub told by name only (Pusher) still
    waiting, her chat line delivered; Bob's dead chat line quoting Ana's name, and a guild
    event about Ana (her link) waiting. Their keys, by what they are."""
    at = datetime(2026, 11, 27, tzinfo=UTC)
    events = {
        "ana dead": chat_message("my phone is 555-0100", user_id="k-ana", username="ana_kick",
                                 broadcaster="77", at=at),
        "ana waiting": Subscribed(platform=Platform.KICK, event_id="s-1", occurred_at=at,
                                  broadcaster_user_id="77", viewer=Viewer(None, "Ana_Kick")),
        "ana delivered": chat_message("hi", user_id="k-ana", username="ana_kick",
                                      broadcaster="77", at=at),
        "bob dead": chat_message("ana_kick k-ana hi", user_id="k-bob", username="bob_kick",
                                 broadcaster="77", at=at),
        "ana linked": AccountLinked(platform=Platform.KICK, event_id="l-1", occurred_at=at,
                                    guild_id=int(GUILD), discord_user_id=ANA,
                                    viewer=Viewer("k-ana", "ana_kick")),
    }  # fmt: skip
    for event in events.values():
        assert bus.publish(event)
    e = bus_events.c
    with engine.begin() as conn:  # as the bus leaves them
        dead = [events["ana dead"].key, events["bob dead"].key]
        conn.execute(sa.update(bus_events).where(e.event_key.in_(dead)).values(
            dead_at=at, attempts=5, last_error="boom"))  # fmt: skip
        conn.execute(sa.update(bus_events).where(
            e.event_key == events["ana delivered"].key).values(acked_at=at))  # fmt: skip
    return {what: event.key for what, event in events.items()}


def _queued(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(sa.select(bus_events.c.event_key)).scalars())


def test_their_dead_and_waiting_events_are_in_the_export_and_forgotten(
    cli_env,  # noqa: F811
    seeded,  # noqa: F811
):
    """A chat line of Ana's whose handling failed is set aside as dead, and shown in the
    dashboard's event log for a month. Her export lists her dead and waiting events (found by
    her account, her Kick name where the source gave no id, or her Discord id), and forgetting
    her deletes them. Bob's dead line that quotes her name is his; her delivered chat line is
    left to the bus's pruning (7 days)."""
    keys = _publish_ana_and_bob_events(seeded.bus, seeded.engine)

    document = exported(cli_env, "--member", str(ANA))
    listed = {row["event_key"] for row in document["tables"]["bus_events"]}
    assert listed == {keys["ana dead"], keys["ana waiting"], keys["ana linked"]}
    result = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert result.returncode == 0, result.stderr
    assert "deleted 3 row(s) of bus_events" in result.stdout
    assert _queued(seeded.engine) == {keys["ana delivered"], keys["bob dead"]}


def test_undelivered_events_are_forgotten_on_both_backends(engine):
    """The same, in the forget's own transaction on SQLite and PostgreSQL."""
    bus = EmbeddedBus(engine)
    try:
        keys = _publish_ana_and_bob_events(bus, engine)
    finally:
        bus.close()
    ana = Person(ANA, frozenset({("kick", "k-ana")}), {"kick": frozenset({"ana_kick"})})

    with engine.begin() as conn:
        listed = {row["event_key"] for row in person_rows(conn, ana)["bus_events"]}
        report = forget(conn, ana, datetime(2026, 11, 28, tzinfo=UTC), delete=True)

    assert listed == {keys["ana dead"], keys["ana waiting"], keys["ana linked"]}
    assert report.deleted == {"bus_events": 3}
    assert _queued(engine) == {keys["ana delivered"], keys["bob dead"]}


def _without_ana(document: dict) -> dict:
    tables = {
        name: kept
        for name, rows in document["tables"].items()
        if (kept := [row for row in rows if row.get("platform_user_id") != "k-ana"])
    }
    return {**document, "tables": tables}


def test_every_table_the_export_searches_has_a_decision():
    undecided = [
        name
        for name, table in sorted(all_tables().tables.items())
        if matched_columns(name, table) and name not in FORGET and name not in KEPT
    ]
    assert undecided == []
    assert set(FORGET) <= set(all_tables().tables)


def test_the_command_says_where_the_roles_the_bot_gave_are_taken_back(cli_env, seeded):  # noqa: F811
    preview = cli(cli_env, "privacy", "forget", "--member", str(ANA))
    done = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")
    again = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    roles = "the linked, watchtime and Shuffle roles the bot gave them in 1 server(s)"
    assert f"The bot would take back {roles}." in preview.stdout
    assert f"The running bot takes back {roles} (queued;" in done.stdout
    assert "take back" not in again.stdout  # nothing of theirs is left to say where
