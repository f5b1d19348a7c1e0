"""A forget that keeps rows only for now (a seat in a heist under way, a VIP grant still
running) records the person's accounts, and the hourly job deletes those rows once the heist
ends or the grant is removed, then drops the record (core/features/privacy/finishing.py). On
SQLite and PostgreSQL; the command line's words on SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.heist.tables import heist_participants, heists
from core.features.person_data import find_person, named_accounts, person_rows
from core.features.person_forget import forget
from core.features.privacy.finishing import finish_forgets
from core.features.privacy.tables import privacy_forgets_to_finish
from core.features.vip.repository import close_grant
from core.features.vip.tables import vip_audit, vip_grants
from core.storage.tables import outbox
from tests.features.heist.test_history import add_heist
from tests.features.raffle.support import add_viewer
from tests.features.test_person_data import ANA, BOB, exported, seeded  # noqa: F401 - a fixture
from tests.support.clock import Clock
from tests.support.waiting import PROCESS_HANG_SECONDS, eventually
from tests.test_cli import GUILD, cli, cli_env  # noqa: F401 - cli_env is a fixture

T0 = datetime(2026, 11, 27, 12, tzinfo=UTC)


def _seat(engine: Engine, heist_id: int, user_id: str, username: str, *, on: str = "kick"):
    with engine.begin() as conn:
        conn.execute(heist_participants.insert().values(
            heist_id=heist_id, guild_id=int(GUILD), platform=on, platform_user_id=user_id,
            username=username, stake=100, risk="low", joined_at=T0))  # fmt: skip


def _grant(engine: Engine, user_id: str, member: int, expires_at: datetime) -> int:
    """A Kick grant (a temporary Discord role) for the linked member, running until then."""
    with engine.begin() as conn:
        return int(conn.execute(vip_grants.insert().values(
            guild_id=int(GUILD), platform="kick", broadcaster_user_id="77",
            platform_user_id=user_id, username=f"{user_id}_name", source="redemption",
            granted_at=T0, expires_at=expires_at, discord_user_id=member, role_id=5,
        )).inserted_primary_key[0])  # fmt: skip


def _open_heist(engine: Engine) -> int:
    with engine.begin() as conn:
        return add_heist(conn, int(GUILD), "open", None)


def _resolve(engine: Engine, heist_id: int, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(heists).where(heists.c.id == heist_id).values(
            state="resolved", open_key=None, resolved_at=at))  # fmt: skip


def _seats(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(heist_participants.c.platform_user_id).order_by("platform_user_id")
        return list(conn.execute(query).scalars())


def _grants(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        query = sa.select(vip_grants.c.platform_user_id).order_by("platform_user_id")
        return list(conn.execute(query).scalars())


def _recorded(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        t = privacy_forgets_to_finish.c
        query = sa.select(t.discord_user_id, t.platform, t.platform_user_id).order_by(t.id)
        return [tuple(row) for row in conn.execute(query)]


def test_an_admins_vip_action_is_found_by_their_id_kept_as_text(engine: Engine) -> None:
    """vip_audit keeps the acting admin's Discord id as text: PostgreSQL compares it with the
    id as text (comparing text with a number is an error there)."""
    with engine.begin() as conn:
        conn.execute(vip_audit.insert().values(
            guild_id=int(GUILD), platform="twitch", broadcaster_user_id="77",
            platform_user_id="t-bob", username="bob_tv", action="granted",
            actor_kind="discord", actor_id=str(ANA), at=T0))  # fmt: skip
        person = find_person(conn, ANA)
        assert [r["platform_user_id"] for r in person_rows(conn, person)["vip_audit"]] == ["t-bob"]
        report = forget(conn, person, T0, delete=True)
    assert report.kept["vip_audit"][0] == 1  # Bob's grant, Ana as the admin: it stays


def _forget_member(engine: Engine, member: int, now: datetime):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return forget(conn, find_person(conn, member), now, delete=True)


def test_the_job_deletes_the_kept_seat_and_grant_once_they_end(engine: Engine) -> None:
    """Ana's seat in a heist under way and her VIP grant still running stay when she is
    forgotten, with her account recorded; the job deletes the seat once the heist is resolved
    and the grant once it is removed (an expired grant waits for its removal), then drops the
    record. Bob's seat and grant are his, throughout."""
    clock = Clock(T0)
    add_viewer(engine, "k-ana", "ana_kick", discord_id=ANA)
    add_viewer(engine, "k-bob", "bob_kick", discord_id=BOB)
    heist_id = _open_heist(engine)
    for user_id, name in (("k-ana", "ana_kick"), ("k-bob", "bob_kick")):
        _seat(engine, heist_id, user_id, name)
    ana_grant = _grant(engine, "k-ana", ANA, T0 + timedelta(hours=2))
    _grant(engine, "k-bob", BOB, T0 + timedelta(hours=2))

    report = _forget_member(engine, ANA, clock())

    assert report.deleted["account_links"] == 1
    assert report.for_now == {"heist_participants": 1, "vip_grants": 1}
    assert report.kept["privacy_forgets_to_finish"][0] == 1
    assert _recorded(engine) == [(ANA, "kick", "k-ana")]  # ids only: no name
    with engine.connect() as conn:  # her export in between: the kept rows, found again
        person = find_person(conn, ANA)
        shown = person_rows(conn, person)
    assert person.accounts == {("kick", "k-ana")}
    assert [r["username"] for r in shown["heist_participants"]] == ["ana_kick"]
    assert [r["id"] for r in shown["vip_grants"]] == [ana_grant]
    assert "account_links" not in shown
    assert "viewers" not in shown

    assert finish_forgets(engine, clock).deleted == 0  # nothing has ended: all stays
    assert _seats(engine) == ["k-ana", "k-bob"]
    assert _recorded(engine) == [(ANA, "kick", "k-ana")]

    _resolve(engine, heist_id, clock.advance(minutes=5))
    run = finish_forgets(engine, clock)
    assert (run.deleted, run.finished, run.waiting) == (1, 0, 1)
    assert _seats(engine) == ["k-bob"]
    assert _grants(engine) == ["k-ana", "k-bob"]

    clock.advance(hours=3)  # her grant is over, its role not removed yet: the removal needs it
    assert finish_forgets(engine, clock).deleted == 0
    assert _grants(engine) == ["k-ana", "k-bob"]
    with engine.begin() as conn:
        assert close_grant(conn, ana_grant, clock(), "expired", if_expired=True)
    run = finish_forgets(engine, clock)
    assert (run.deleted, run.finished, run.waiting) == (1, 1, 0)
    assert _grants(engine) == ["k-bob"]
    assert _recorded(engine) == []
    with engine.connect() as conn:
        assert find_person(conn, ANA).accounts == frozenset()
        bob = person_rows(conn, find_person(conn, BOB))
    assert [r["username"] for r in bob["heist_participants"]] == ["bob_kick"]
    assert [r["platform_user_id"] for r in bob["vip_grants"]] == ["k-bob"]
    assert [r["username"] for r in bob["account_links"]] == ["bob_kick"]
    assert finish_forgets(engine, clock).finished == 0  # nothing recorded: nothing to do


def test_forgetting_twice_records_once_and_a_second_forget_finishes_what_ended(
    engine: Engine,
) -> None:
    clock = Clock(T0)
    add_viewer(engine, "k-ana", "ana_kick", discord_id=ANA)
    add_viewer(engine, "t-ana", "ana_tv", discord_id=ANA, platform=Platform.TWITCH)
    heist_id = _open_heist(engine)
    _seat(engine, heist_id, "k-ana", "ana_kick")

    _forget_member(engine, ANA, clock())
    again = _forget_member(engine, ANA, clock())

    assert again.deleted == {}
    assert again.for_now == {"heist_participants": 1}
    assert again.kept["privacy_forgets_to_finish"][0] == 2
    assert _recorded(engine) == [(ANA, "kick", "k-ana"), (ANA, "twitch", "t-ana")]
    _resolve(engine, heist_id, clock.advance(minutes=5))
    third = _forget_member(engine, ANA, clock())  # the operator, before the job: the same
    assert third.deleted == {"heist_participants": 1}
    assert third.kept == {}
    assert (_seats(engine), _recorded(engine)) == ([], [])


def test_a_viewer_forgotten_by_name_is_finished_by_their_account(engine: Engine) -> None:
    """Carl never linked: the operator names his Twitch account. The record holds the account
    without a Discord id; his seat goes when the heist ends."""
    clock = Clock(T0)
    add_viewer(engine, "t-carl", "carl_tv", platform=Platform.TWITCH)
    add_viewer(engine, "k-bob", "bob_kick", discord_id=BOB)
    heist_id = _open_heist(engine)
    _seat(engine, heist_id, "t-carl", "carl_tv", on="twitch")
    _seat(engine, heist_id, "k-bob", "bob_kick")
    with engine.begin() as conn:
        person = find_person(conn, None, named_accounts(["twitch:carl_tv"]))
        report = forget(conn, person, clock(), delete=True)
    assert report.deleted["viewers"] == 1
    assert _recorded(engine) == [(None, "twitch", "t-carl")]

    _resolve(engine, heist_id, clock.advance(minutes=5))
    run = finish_forgets(engine, clock)

    assert (run.deleted, run.finished) == (1, 1)
    assert (_seats(engine), _recorded(engine)) == (["k-bob"], [])


def test_the_runtime_finishes_forgets_by_its_scheduled_job(make_runtime) -> None:
    clock = Clock(T0)
    runtime = make_runtime(clock=clock)
    add_viewer(runtime.engine, "k-ana", "ana_kick", discord_id=ANA)
    heist_id = _open_heist(runtime.engine)
    _seat(runtime.engine, heist_id, "k-ana", "ana_kick")
    _forget_member(runtime.engine, ANA, clock())
    _resolve(runtime.engine, heist_id, clock.advance(minutes=5))

    async def run_the_job() -> None:
        stop = asyncio.Event()
        job = asyncio.create_task(runtime.scheduler.loops["finishing forgets"](stop))
        await eventually(lambda: _recorded(runtime.engine) == [], within=PROCESS_HANG_SECONDS)
        stop.set()
        await job

    asyncio.run(run_the_job())
    assert _seats(runtime.engine) == []


def test_the_command_line_says_what_is_kept_for_now_and_the_export_finds_it(
    cli_env,  # noqa: F811
    seeded,  # noqa: F811
) -> None:
    """The auditor's case, by the command line: after the heist ends, the job deletes the seat,
    and neither Ana's export nor the tables hold it any more."""
    heist_id = _open_heist(seeded.engine)
    _seat(seeded.engine, heist_id, "k-ana", "ana_kick")

    dry = cli(cli_env, "privacy", "forget", "--member", str(ANA))
    first = cli(cli_env, "privacy", "forget", "--member", str(ANA), "--yes")

    assert "1 row(s) would be kept for now (heist_participants)" in dry.stdout
    assert first.returncode == 0, first.stderr
    assert "kept 1 row(s) of heist_participants: a seat in a heist under way" in first.stdout
    assert (
        "2 row(s) kept for now (heist_participants, outbox) are deleted when the heist ends or "
        "the call is made"
    ) in first.stdout  # the call that takes back her roles names her until it is made
    between = exported(cli_env, "--member", str(ANA))
    assert between["accounts"] == ["kick:k-ana"]
    assert [r["username"] for r in between["tables"]["heist_participants"]] == ["ana_kick"]
    # Her account, and the call that takes back her roles (found by her id once it is made).
    recorded = between["tables"]["privacy_forgets_to_finish"]
    [call] = between["tables"]["outbox"]
    assert {(r["platform"], r["platform_user_id"]) for r in recorded} == {
        ("kick", "k-ana"),
        ("outbox", str(call["id"])),
    }

    _resolve(seeded.engine, heist_id, datetime.now(UTC))
    with seeded.engine.begin() as conn:  # the Discord worker took her roles back
        conn.execute(sa.update(outbox).values(state="done", finished_at=datetime.now(UTC)))
    finish_forgets(seeded.engine, Clock())

    after = exported(cli_env, "--member", str(ANA))
    assert after["accounts"] == []
    assert "heist_participants" not in after["tables"]
    assert "privacy_forgets_to_finish" not in after["tables"]
    assert "outbox" not in after["tables"]
    assert _seats(seeded.engine) == []
