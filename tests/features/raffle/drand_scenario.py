"""A period drawn from a real published drand round, through the service and a fake relay that
replays that round (tests/fixtures/raffle/drand-rounds.json); and forged versions of its proof.

The period closes one second before the round is out (``!raffleend``), so the rules fix exactly
that round; the draw then fetches it, checks its signature against the pinned key, and exports
a proof with the chain and the signature in it. The CLI tests and the browser tests use it.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.features.raffle.beacons.chains import DEFAULT, QUICKNET, Chain
from core.features.raffle.draws import fairness
from core.features.raffle.draws.verification import entries_from_export
from tests.fakes import drand_signing
from tests.fakes.beacon_server import FakeBeacon
from tests.features.raffle.support import GUILD, add_viewer, make_service
from tests.support.clock import Clock

ROUNDS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "raffle" / "drand-rounds.json").read_text()
)
CHAINS = {"quicknet": QUICKNET, "default": DEFAULT}


def real_rounds() -> list[tuple[Chain, dict[str, Any]]]:
    return [(CHAINS[name], row) for name in CHAINS for row in ROUNDS[name]["rounds"]]


def round_time(chain: Chain, beacon_round: int) -> datetime:
    seconds = fairness.round_time(beacon_round, chain.genesis_time, chain.period_seconds)
    return datetime.fromtimestamp(seconds, UTC)


def entry(
    entry_id: int, user_id: str, amount: int, actor: int | str | None = None, reason: str = ""
) -> fairness.SnapshotEntry:
    """A ledger row given by hand to ``kick:<user_id>``."""
    return fairness.SnapshotEntry(
        entry_id,
        "kick",
        user_id,
        amount,
        "admin",
        f"discord:{entry_id}",
        actor,
        reason,
        "2026-03-05T10:00:00.000000Z",
    )


def composed_proof(
    entries: list[fairness.SnapshotEntry],
    eligible: list[str],
    draws: list[tuple[int, bool]],
    *,
    version: int = fairness.SNAPSHOT_VERSION,
    beacon_round: int = 1000,
    closed_at: datetime | None = None,
) -> tuple[dict, dict]:
    """A proof and ledger as the export writes them, without the database: the period ends two
    seconds before quicknet ``beacon_round`` (a real round of the fixture) and closes a second
    later (or at ``closed_at``); ``draws``: (winners wanted, forced) of each draw in turn, the
    winners picked by the rules."""
    ends_at = round_time(QUICKNET, beacon_round) - timedelta(seconds=2)
    closed_at = closed_at or ends_at + timedelta(seconds=1)
    row = next(r for r in ROUNDS["quicknet"]["rounds"] if r["round"] == beacon_round)
    fix = fairness.RoundFix(ends_at, closed_at, QUICKNET.hash, beacon_round)
    snapshot = fairness.snapshot_hash(
        7, 9, entries, eligible, version, fix if version >= fairness.ROUND_FIXED_FROM else None
    )
    seed = "11" * 32
    documents = []
    for n, (wanted, forced) in enumerate(draws):
        document: dict[str, Any] = {
            "id": 100 + n,
            "requested_at": closed_at.isoformat(),
            "drawn_at": closed_at.isoformat(),
            "winners_wanted": wanted,
            "prize": "",
            "reroll_of": None if n == 0 else 100,
            "reason": "" if n == 0 else "again",
            "forced": forced,
            "forced_by": "admin-0123456789abcdef" if forced else None,
            "beacon_round": None if forced else beacon_round,
            "beacon_randomness": None if forced else row["randomness"],
        }
        if not forced:
            document["beacon_signature"] = row["signature"]
        documents.append({**document, "first_counter": 0, "winners": []})
    proof = {
        "format": fairness.PROOF_FORMATS[version],
        "guild_id": 7,
        "period_id": 9,
        "starts_at": (ends_at - timedelta(days=30)).isoformat(),
        "ends_at": ends_at.isoformat(),
        "closed_at": closed_at.isoformat(),
        "commitment": fairness.commitment_of(seed),
        "seed": seed,
        "snapshot_hash": snapshot,
        "beacon": {
            "url": "https://api.drand.sh",
            "round": beacon_round,
            "genesis_time": QUICKNET.genesis_time,
            "period_seconds": QUICKNET.period_seconds,
            "chain_hash": QUICKNET.hash,
            "scheme": QUICKNET.scheme,
            "public_key": QUICKNET.public_key,
        },
        "draws": documents,
    }
    ledger = {
        "format": fairness.LEDGER_FORMATS[version],
        "guild_id": 7,
        "period_id": 9,
        "entries": [e.exported(version) for e in entries],
        "eligible": sorted(set(eligible)),
    }
    return with_winners_recomputed(proof, ledger), ledger


def signed_proof(engine: Engine, chain: Chain, row: dict[str, Any]) -> tuple[dict, dict]:
    """The proof and ledger of a period drawn (3 winners of 8) from ``row``'s real round."""
    out = round_time(chain, row["round"])
    clock = Clock(out - timedelta(hours=1))
    with FakeBeacon(clock=clock, chain=chain, published={row["round"]: row}) as relay:
        raffle = make_service(engine, clock, relay.url)
        for n in range(8):
            add_viewer(engine, f"r{n}", f"viewer{n}", discord_id=500 + n)
        raffle.periods.start(GUILD)
        for n in range(8):
            raffle.admin.give(
                GUILD,
                actor_id=1,
                member_id=500 + n,
                tickets=3 + 5 * n,
                reason="",
                reference=f"d{n}",
            )
        clock.now = out - timedelta(seconds=1)
        raffle.periods.end(GUILD)
        clock.now = out + timedelta(seconds=1)
        draw = raffle.draws.request(GUILD, actor_id=1, winners=3, prize="a real round")
        assert draw.status == "done", draw.last_error
        proof = raffle.views.proof(GUILD)
    assert proof.document is not None
    assert proof.ledger is not None
    return proof.document, proof.ledger


def with_winners_recomputed(proof: dict, ledger: dict) -> dict:
    """``proof`` with each draw's winners recomputed from its (maybe forged) randomness: what a
    forger would publish so that only the beacon gives it away."""
    proof = copy.deepcopy(proof)
    entries = entries_from_export(ledger)
    won: list[str] = []
    for draw in proof["draws"]:
        inputs = fairness.DrawInputs(
            seed_hex=proof["seed"],
            snapshot_hash_hex=proof["snapshot_hash"],
            randomness_hex="" if draw["forced"] else draw["beacon_randomness"],
            already_won=won,
            first_counter=len(won),
            count=draw["winners_wanted"],
        )
        picks = fairness.pick_winners(
            inputs, balances_=fairness.balances(entries), eligible=ledger["eligible"]
        )
        draw["winners"] = [
            {
                "position": n,
                "participant": p.participant,
                "username": None,
                "ticket": p.ticket,
                "counter": p.counter,
            }
            for n, p in enumerate(picks, start=1)
        ]
        draw["first_counter"] = len(won)
        won.extend(p.participant for p in picks)
    return proof


def rehashed(proof: dict, ledger: dict) -> dict:
    """``proof`` as if its period had closed with the times, chain and round it now names: the
    snapshot hash of a version 3 proof covers them (the winners are recomputed with it)."""
    proof = copy.deepcopy(proof)
    beacon = proof["beacon"]
    fix = fairness.RoundFix(
        datetime.fromisoformat(proof["ends_at"]),
        datetime.fromisoformat(proof["closed_at"]),
        beacon.get("chain_hash"),
        beacon.get("round"),
    )
    proof["snapshot_hash"] = fairness.snapshot_hash(
        proof["guild_id"],
        proof["period_id"],
        entries_from_export(ledger),
        ledger["eligible"],
        3,
        fix,
    )
    return with_winners_recomputed(proof, ledger)


def _flip(hex_text: str, index: int) -> str:
    raw = bytearray.fromhex(hex_text)
    raw[index] ^= 0x01
    return raw.hex()


def _resign(draw: dict, signature: str) -> None:
    draw["beacon_signature"] = signature
    draw["beacon_randomness"] = drand_signing.randomness(signature)


def forged_by_another_key(proof: dict, ledger: dict) -> dict:
    """A self-consistent round: signed by a key of the forger's, randomness and winners match."""
    forged = copy.deepcopy(proof)
    scheme = forged["beacon"]["scheme"]
    for draw in forged["draws"]:
        previous = draw.get("beacon_previous_signature")
        _resign(draw, drand_signing.sign(draw["beacon_round"], scheme, previous))
    return with_winners_recomputed(forged, ledger)


def forged_one_byte(proof: dict, ledger: dict) -> dict:
    """One byte of the signature changed (randomness and winners made to match)."""
    forged = copy.deepcopy(proof)
    for draw in forged["draws"]:
        _resign(draw, _flip(draw["beacon_signature"], 7))
    return with_winners_recomputed(forged, ledger)


def forged_key_under_known_hash(proof: dict, ledger: dict) -> dict:
    """Another key named under the pinned chain's hash, with rounds that key signed."""
    forged = forged_by_another_key(proof, ledger)
    forged["beacon"]["public_key"] = drand_signing.public_key(forged["beacon"]["scheme"])
    return forged


def forged_previous_signature(proof: dict, ledger: dict) -> dict:
    """A chained round whose previous signature was changed (the rest as published)."""
    forged = copy.deepcopy(proof)
    for draw in forged["draws"]:
        draw["beacon_previous_signature"] = _flip(draw["beacon_previous_signature"], 3)
    return forged
