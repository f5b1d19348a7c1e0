"""The public ledger names an admin by a per-period pseudonym: a period closed now exports no
Discord id of an admin anywhere, still verifies (and stops verifying when edited), the operator
maps each pseudonym back, and a period closed in version 1 keeps its ids and verifies."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.features.raffle.draws import fairness, verification
from core.features.raffle.draws.actors import PSEUDONYM, ActorPseudonyms
from core.features.raffle.errors import RaffleRefused
from core.features.raffle.service import RaffleService
from tests.conftest import TEST_FERNET_KEY
from tests.features.raffle.support import (
    ACTOR_SECRET,
    GUILD,
    SETTING_SECRET,
    add_viewer,
    make_service,
)
from tests.support.cli import run as run_cli
from tests.support.clock import Clock

ANA = 723456789012345678  # admins' Discord ids: long enough to search the files for
BO = 823456789012345679


def _close_a_month(engine, raffle: RaffleService, clock: Clock) -> int:
    """March with tickets given and taken by two admins, closed on April 1; a draw requested
    by ANA and forced by BO (the beacon is down). Returns the period id."""
    for n in range(4):
        add_viewer(engine, f"u{n}", f"viewer{n}", discord_id=100 + n)
    raffle.periods.start(GUILD)
    for n in range(4):
        raffle.admin.give(
            GUILD, actor_id=ANA, member_id=100 + n, tickets=5 + n, reason="", reference=f"a{n}"
        )
    raffle.admin.give(GUILD, actor_id=BO, member_id=101, tickets=-2, reason="oops", reference="b")
    clock.now = datetime(2026, 4, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()
    clock.advance(minutes=1)
    draw = raffle.draws.request(GUILD, actor_id=ANA, winners=2)
    if draw.status != "done":
        raffle.draws.force(GUILD, actor_id=BO)
    return draw.period_id


def _texts(proof) -> str:
    return json.dumps(proof.document) + json.dumps(proof.ledger)


def test_a_period_closed_now_names_its_admins_by_pseudonyms_only(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    beacon.down = True  # the draw is forced: the proof names who forced it
    period_id = _close_a_month(engine, raffle, clock)
    proof = raffle.views.export(period_id)

    assert proof.document["format"] == "streamkeeper-raffle-proof/3"
    assert proof.ledger["format"] == "streamkeeper-raffle-ledger/3"
    assert str(ANA) not in _texts(proof)
    assert str(BO) not in _texts(proof)
    by_hand = [e for e in proof.ledger["entries"] if e["source"] == "admin"]
    assert len(by_hand) == 5
    assert all("actor_id" not in e for e in proof.ledger["entries"])
    names = [e["actor"] for e in by_hand]
    assert all(PSEUDONYM.fullmatch(name) for name in names)
    # One pseudonym per admin within the period, and the two admins' differ.
    assert len(set(names[:4])) == 1
    assert names[4] != names[0]
    assert proof.document["draws"][0]["forced_by"] == names[4]
    assert raffle.views.admins(period_id) == {names[0]: ANA, names[4]: BO}
    result = verification.verify(proof.document, proof.ledger)
    assert result.matches, result.problems


def test_editing_a_pseudonymous_ledger_breaks_it(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    period_id = _close_a_month(engine, raffle, clock)
    proof = raffle.views.export(period_id)
    assert verification.verify(proof.document, proof.ledger).matches
    index = next(n for n, e in enumerate(proof.ledger["entries"]) if e["actor"] is not None)

    def problems(change) -> tuple[str, ...]:
        document, ledger = copy.deepcopy(proof.document), copy.deepcopy(proof.ledger)
        change(document, ledger)
        return verification.verify(document, ledger).problems

    def other_admin(_document, ledger):
        ledger["entries"][index]["actor"] = "admin-0123456789abcdef"

    def discord_id_back(_document, ledger):
        entry = ledger["entries"][index]
        entry["actor"] = ANA

    def no_admin(_document, ledger):
        ledger["entries"][index]["actor"] = None

    def as_version_1(document, ledger):
        document["format"] = "streamkeeper-raffle-proof/1"
        ledger["format"] = "streamkeeper-raffle-ledger/1"
        for entry in ledger["entries"]:
            entry["actor_id"] = entry.pop("actor")

    for change in (other_admin, discord_id_back, no_admin):
        assert "snapshot hash" in problems(change)[0], change.__name__
    # A version 1 ledger names admins by Discord id: a pseudonym there is no ledger at all.
    with pytest.raises(ValueError, match="admin-"):
        problems(as_version_1)

    def mixed_formats(document, _ledger):
        document["format"] = "streamkeeper-raffle-proof/1"

    assert problems(mixed_formats) == (
        "the proof is in the streamkeeper-raffle-proof/1 format but the ledger in "
        "streamkeeper-raffle-ledger/3",
    )


def test_the_verify_and_admins_commands(engine, migrated_database_url, clock, beacon, tmp_path):
    """``raffle verify`` matches the exported files, and ``raffle admins`` (the operator, with
    the deployment's secret) maps each pseudonym back to its Discord id."""
    raffle = make_service(engine, clock, beacon.url)
    period_id = _close_a_month(engine, raffle, clock)
    env = {
        "DATABASE_URL": migrated_database_url,
        "DATA_DIR": str(tmp_path / "data"),
        "FLASK_SECRET_KEY": SETTING_SECRET,
        "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
        "RAFFLE_BEACON_URL": beacon.url,
    }
    out = tmp_path / "out"
    exported = run_cli(env, "raffle", "export", str(period_id), "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    proof_path = out / f"raffle-{period_id}-proof.json"
    ledger_path = out / f"raffle-{period_id}-ledger.json"
    files = proof_path.read_text("utf-8") + ledger_path.read_text("utf-8")
    assert str(ANA) not in files
    assert str(BO) not in files
    verified = run_cli(env, "raffle", "verify", str(proof_path), str(ledger_path), cwd=tmp_path)
    assert (verified.returncode, verified.stdout.split(":")[0]) == (0, "match"), verified.stdout

    mapped = run_cli(env, "raffle", "admins", "--period", str(period_id), cwd=tmp_path)
    assert (mapped.returncode, mapped.stderr) == (0, "")
    ledger = json.loads(Path(ledger_path).read_text("utf-8"))
    names = {e["actor"]: None for e in ledger["entries"] if e["actor"]}
    expected = {f"{name} {actor}" for name, actor in raffle.views.admins(period_id).items()}
    assert set(mapped.stdout.splitlines()) == expected
    assert {line.split()[0] for line in expected} == set(names)
    assert {int(line.split()[1]) for line in expected} == {ANA, BO}


def test_a_closed_period_keeps_its_pseudonyms_when_the_secret_changes(engine, clock, beacon):
    """The close keeps the period's key: a new FLASK_SECRET_KEY changes no published name, so
    the proof still verifies and the operator still maps the names back."""
    raffle = make_service(engine, clock, beacon.url)
    period_id = _close_a_month(engine, raffle, clock)
    before = raffle.views.export(period_id)
    rotated = RaffleService(
        engine,
        raffle.periods.settings,
        clock,
        actor_secret="a new secret",
        beacon=raffle.draws.beacon,
    )
    after = rotated.views.export(period_id)
    assert (after.document, after.ledger) == (before.document, before.ledger)
    assert verification.verify(after.document, after.ledger).matches
    assert rotated.views.admins(period_id) == raffle.views.admins(period_id)
    assert set(rotated.views.admins(period_id).values()) == {ANA, BO}


def test_pseudonyms_are_per_period_and_per_secret():
    """The same admin: one name within a period, unrelated names in other periods, guilds or
    deployments; the name is the documented HMAC."""
    import hashlib
    import hmac

    march = ActorPseudonyms.of_period(ACTOR_SECRET, GUILD, 7)
    assert march.name(ANA) == march.name(ANA) != march.name(BO)
    assert march.name(None) is None
    others = [
        ActorPseudonyms.of_period(ACTOR_SECRET, GUILD, 8),
        ActorPseudonyms.of_period(ACTOR_SECRET, GUILD + 1, 7),
        ActorPseudonyms.of_period("another deployment", GUILD, 7),
    ]
    assert len({march.name(ANA), *(o.name(ANA) for o in others)}) == 4
    key = hmac.new(ACTOR_SECRET.encode(), f"raffle-actor/{GUILD}/7".encode(), hashlib.sha256)
    digest = hmac.new(key.digest(), str(ANA).encode(), hashlib.sha256).hexdigest()
    assert march.name(ANA) == "admin-" + digest[:16]


def test_the_next_period_names_the_same_admin_otherwise(engine, clock, beacon):
    raffle = make_service(engine, clock, beacon.url)
    march = _close_a_month(engine, raffle, clock)
    april = raffle.views.info(GUILD).current
    clock.now = datetime(2026, 4, 2, tzinfo=UTC)
    raffle.run_scheduled()  # April opens
    raffle.admin.give(GUILD, actor_id=ANA, member_id=100, tickets=3, reason="", reference="x")
    clock.now = datetime(2026, 5, 1, 0, 0, 5, tzinfo=UTC)
    raffle.run_scheduled()  # April closes
    clock.advance(minutes=1)
    raffle.draws.request(GUILD, actor_id=ANA, period_id=april.id)
    [in_march] = [n for n, a in raffle.views.admins(march).items() if a == ANA]
    assert raffle.views.admins(april.id) == {
        ActorPseudonyms.of_period(ACTOR_SECRET, GUILD, april.id).name(ANA): ANA
    }
    assert in_march not in raffle.views.admins(april.id)
    proof = raffle.views.export(april.id)
    assert verification.verify(proof.document, proof.ledger).matches


def test_a_period_closed_in_version_1_keeps_its_ids_and_verifies(engine, clock, beacon):
    """A period closed before pseudonyms (version 1) exports what it did, whatever version the
    code closes in now: its hash covers the ids."""
    before = make_service(engine, clock, beacon.url, snapshot_version=1)
    period_id = _close_a_month(engine, before, clock)
    now = make_service(engine, clock, beacon.url)  # the current code, on the same database
    proof = now.views.export(period_id)
    assert (proof.document["format"], proof.ledger["format"]) == (
        "streamkeeper-raffle-proof/1",
        "streamkeeper-raffle-ledger/1",
    )
    actors = {e["actor_id"] for e in proof.ledger["entries"] if e["source"] == "admin"}
    assert actors == {ANA, BO}
    assert verification.verify(proof.document, proof.ledger).matches
    with pytest.raises(RaffleRefused, match="before admins had pseudonyms"):
        now.views.admins(period_id)


def test_the_snapshot_version_is_in_the_header():
    entry = fairness.SnapshotEntry(
        1, "kick", "1", 5, "admin", "r", "admin-0123456789abcdef", "", "t"
    )
    v1 = fairness.canonical_snapshot(3, 4, [entry], [], version=1)
    v2 = fairness.canonical_snapshot(3, 4, [entry], [], version=2)
    assert v1.split(b"\n")[0] == b'["streamkeeper-raffle-snapshot",1,3,4]'
    assert v2.split(b"\n")[1:] == v1.split(b"\n")[1:]
    assert v2.split(b"\n")[0] == b'["streamkeeper-raffle-snapshot",2,3,4]'
    fix = fairness.RoundFix(
        datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 1, 0, 0, 5, 7, tzinfo=UTC), "ab", 9
    )
    v3 = fairness.canonical_snapshot(3, 4, [entry], [], version=3, fix=fix)
    assert v3.split(b"\n")[1:] == v2.split(b"\n")[1:]
    assert v3.split(b"\n")[0] == (
        b'["streamkeeper-raffle-snapshot",3,3,4,"2026-04-01T00:00:00.000000Z",'
        b'"2026-04-01T00:00:05.000007Z","ab",9]'
    )
    with pytest.raises(ValueError, match="fixes the beacon round"):
        fairness.canonical_snapshot(3, 4, [entry], [], version=3)
    with pytest.raises(ValueError, match="fixes no beacon round"):
        fairness.canonical_snapshot(3, 4, [entry], [], version=2, fix=fix)
    with pytest.raises(ValueError, match="no snapshot version 4"):
        fairness.canonical_snapshot(3, 4, [entry], [], version=4, fix=fix)
