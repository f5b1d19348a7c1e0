"""Checking a published draw: every winner recomputed from the proof and the ledger alone, with
the draw's own arithmetic (:mod:`core.features.raffle.draws.fairness`). What ``python -m core raffle
verify`` and the proof page run; nothing here touches the database or the network."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.features.raffle.beacons import verification as beacon_verification
from core.features.raffle.draws.fairness import (
    ACTOR_FIELDS,
    LEDGER_FORMATS,
    PROOF_FORMATS,
    REPLACED,
    ROUND_FIXED_FROM,
    DrawInputs,
    Pick,
    RoundFix,
    SnapshotEntry,
    balances,
    commitment_of,
    expected_round,
    first_round_after,
    pick_winners,
    snapshot_hash,
)


@dataclass(frozen=True)
class Verification:
    problems: tuple[str, ...]
    draws_checked: int
    notes: tuple[str, ...] = ()  # what was checked besides (the beacon's signatures)

    @property
    def matches(self) -> bool:
        return not self.problems


def _actor(value: Any, version: int) -> int | str | None:
    """An entry's admin as a ``version`` ledger holds it: a Discord id (1), a pseudonym (2)."""
    if value is None:
        return None
    return int(value) if version == 1 else str(value)


def entries_from_export(ledger: dict[str, Any], version: int | None = None) -> list[SnapshotEntry]:
    """The ledger file's entries; ``version``: the snapshot version to read them as (by default
    the one its format names, else 1)."""
    if version is None:
        version = _known(ledger.get("format"), LEDGER_FORMATS) or 1
    field = ACTOR_FIELDS[version]
    return [
        SnapshotEntry(
            id=int(row["id"]),
            platform=str(row["platform"]),
            platform_user_id=str(row["platform_user_id"]),
            amount=int(row["amount"]),
            source=str(row["source"]),
            source_ref=str(row["source_ref"]),
            actor=_actor(row[field], version),
            reason=str(row["reason"]),
            created_at=str(row["created_at"]),
        )
        for row in ledger["entries"]
    ]


def verify(proof: dict[str, Any], ledger: dict[str, Any]) -> Verification:
    """Recompute every draw in ``proof`` from it and ``ledger``; list whatever does not match.

    Raises ``KeyError``/``ValueError``/``TypeError``/``AttributeError`` when either document
    is malformed.
    """
    if not isinstance(proof, dict) or not isinstance(ledger, dict):
        raise TypeError("the proof and the ledger must each be a JSON object")
    problems: list[str] = []
    version = _version(proof, ledger, problems)
    guild_id, period_id = int(proof["guild_id"]), int(proof["period_id"])
    if (int(ledger["guild_id"]), int(ledger["period_id"])) != (guild_id, period_id):
        problems.append("the ledger belongs to another period")
    seed = str(proof["seed"])
    if commitment_of(seed) != proof["commitment"]:
        problems.append("the seed does not match the commitment published when the period opened")
    entries = entries_from_export(ledger, version)
    eligible = [str(key) for key in ledger["eligible"]]
    beacon = proof.get("beacon") or {}
    fix = _round_fix(proof, beacon) if version >= ROUND_FIXED_FROM else None
    recomputed = snapshot_hash(guild_id, period_id, entries, eligible, version, fix)
    if recomputed != proof["snapshot_hash"]:
        problems.append(
            f"the ledger hashes to {recomputed}, not to the snapshot hash "
            f"{proof['snapshot_hash']} recorded when the period closed"
        )
    chain = beacon_verification.chain_of_proof(beacon, problems)
    if chain is not None and chain.pinned is not None:
        # A pinned chain's timing is the code's: a proof cannot move its round.
        beacon = {
            **beacon,
            "genesis_time": chain.genesis_time,
            "period_seconds": chain.period_seconds,
        }
    fixed_round = None
    notes = [f"snapshot hash {recomputed}: compare it with the one announced at the close"]
    if beacon.get("genesis_time") is not None and beacon.get("period_seconds"):
        fixed_round = expected_round(
            datetime.fromisoformat(proof["ends_at"]),
            datetime.fromisoformat(proof["closed_at"]),
            int(beacon["genesis_time"]),
            int(beacon["period_seconds"]),
        )
        if beacon.get("round") is not None and int(beacon["round"]) != fixed_round:
            problems.append(f"the beacon round should be {fixed_round}, not {beacon['round']}")
    # The round every beacon draw must use: the snapshot's (version 3), else the rules' from
    # the proof's own times.
    draw_round = fixed_round if fix is None else fix.beacon_round
    used_beacon = False  # a draw used the period's round
    own_rounds = False  # a reroll used a round of its own
    totals = balances(entries)
    won: list[str] = []
    checked = 0
    earlier: dict[str, dict[str, Any]] = {}  # by id as written: nothing else reads it
    for draw in proof["draws"]:
        label = f"draw {draw['id']}"
        if draw.get("reroll_of") is not None:
            _check_replaced(draw, label, earlier, problems)
        earlier[str(draw["id"])] = draw
        randomness = "" if draw.get("forced") else str(draw["beacon_randomness"])
        if draw.get("forced"):
            notes.append(f"{label} was forced: {FORCED}")
        elif not _HEX64.fullmatch(randomness):
            # A forced draw's empty randomness, say: winners known before any round.
            problems.append(f"{label} used the beacon, but its randomness is not 64 hex digits")
            randomness = ""
        else:
            if fixed_round is None:
                # Without the chain's timing any published round would pass.
                problems.append(
                    f"{label} used the beacon, but the proof lacks the beacon's genesis_time "
                    "and period_seconds, so its round cannot be checked"
                )
            elif draw_round is None:
                problems.append(f"{label} used the beacon, but the snapshot fixes no round")
            elif draw.get("reroll_of") is not None and int(draw["beacon_round"]) != draw_round:
                own_rounds = True
                _check_reroll_round(draw, label, beacon, notes, problems)
            elif int(draw["beacon_round"]) != draw_round:
                problems.append(f"{label} used beacon round {draw['beacon_round']}{_not(fix)}")
            else:
                used_beacon = True
                if draw.get("reroll_of") is not None:
                    _note_reused_round(draw, label, beacon, notes)
            note = beacon_verification.check_draw(draw, label, chain, problems)
            if note is None and chain is None and not draw.get("beacon_signature"):
                note = beacon_verification.ABSENT
            if note is not None and note not in notes:
                notes.append(note)
        if int(draw["first_counter"]) != len(won):
            problems.append(f"{label} should start at counter {len(won)}")
        recorded = [
            Pick(str(w["participant"]), int(w["ticket"]), int(w["counter"]))
            for w in draw["winners"]
        ]
        inputs = DrawInputs(
            seed_hex=seed,
            snapshot_hash_hex=str(proof["snapshot_hash"]),
            randomness_hex=randomness,
            already_won=won,
            first_counter=len(won),
            count=int(draw["winners_wanted"]),
        )
        expected = pick_winners(inputs, balances_=totals, eligible=eligible)
        if expected != recorded:
            problems.append(
                f"{label}: recomputed winners {_describe(expected)}, "
                f"the proof says {_describe(recorded)}"
            )
        won.extend(pick.participant for pick in recorded)
        checked += 1
    if used_beacon:
        notes.insert(1, _round_note(draw_round, version, own_rounds))
    return Verification(tuple(problems), checked, tuple(notes))


FORCED = (
    "it skipped the beacon, so its winners follow from the seed and the ledger alone, "
    "and whoever ran the bot could know them in advance"
)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


def _round_fix(proof: dict[str, Any], beacon: dict[str, Any]) -> RoundFix:
    """What a version 3 snapshot's header holds, as the proof gives it."""
    chain_hash, round_ = beacon.get("chain_hash"), beacon.get("round")
    return RoundFix(
        datetime.fromisoformat(proof["ends_at"]),
        datetime.fromisoformat(proof["closed_at"]),
        None if chain_hash is None else str(chain_hash),
        None if round_ is None else int(round_),
    )


def _not(fix: RoundFix | None) -> str:
    return "" if fix is None else f", not round {fix.beacon_round}, which the snapshot fixes"


def _round_after(draw: dict[str, Any], beacon: dict[str, Any]) -> int:
    """The first round published after the draw was asked for: a reroll's own round."""
    asked_at = datetime.fromisoformat(str(draw["requested_at"]))
    return first_round_after(asked_at, int(beacon["genesis_time"]), int(beacon["period_seconds"]))


def _check_reroll_round(
    draw: dict[str, Any],
    label: str,
    beacon: dict[str, Any],
    notes: list[str],
    problems: list[str],
) -> None:
    """A reroll waits for the first round published after it was asked for: one nobody knew
    then (the period's was out, and the seed public with the first draw)."""
    own, used, asked = _round_after(draw, beacon), int(draw["beacon_round"]), draw["requested_at"]
    if used != own:
        problems.append(
            f"{label} is a reroll asked for at {asked}: it should use beacon round {own}, "
            f"the first published after that, not {used}"
        )
        return
    notes.append(
        f"{label} is a reroll of draw {draw['reroll_of']}: it used round {used}, the first "
        f"published after it was asked for ({asked})"
    )


def _check_replaced(
    draw: dict[str, Any], label: str, earlier: dict[str, dict[str, Any]], problems: list[str]
) -> None:
    """A reroll rerolls an earlier draw of the proof; one whose reason names the winner it
    replaces ("in place of winner 2 (kick:42): ...") drew one, in place of that draw's winner."""
    rerolled = earlier.get(str(draw["reroll_of"]))
    if rerolled is None:
        problems.append(
            f"{label} is a reroll of draw {draw['reroll_of']}, which is not an earlier draw "
            "of this proof"
        )
        return
    named = REPLACED.match(str(draw.get("reason") or ""))
    if named is None:
        return
    position, key = int(named.group(1)), named.group(2)
    winners = [str(w["participant"]) for w in rerolled["winners"]]
    if not 1 <= position <= len(winners):
        problems.append(
            f"{label} says it replaces winner {position} ({key}) of draw {draw['reroll_of']}, "
            f"which had {len(winners)} winner(s)"
        )
    elif winners[position - 1] != key:
        problems.append(
            f"{label} says it replaces winner {position} ({key}) of draw {draw['reroll_of']}, "
            f"whose winner {position} is {winners[position - 1]}"
        )
    elif int(draw["winners_wanted"]) != 1:
        problems.append(f"{label} replaces one winner but draws {draw['winners_wanted']}")


def _note_reused_round(
    draw: dict[str, Any], label: str, beacon: dict[str, Any], notes: list[str]
) -> None:
    """A reroll made before rerolls had rounds of their own reused the period's round: it still
    verifies, but its round was out when it was asked for (unless it was asked for before)."""
    used = int(draw["beacon_round"])
    if _round_after(draw, beacon) > used:
        notes.append(
            f"{label} is a reroll of draw {draw['reroll_of']} that reused round {used}, out "
            f"before it was asked for: {REUSED}"
        )


REUSED = "anyone who read the published seed could know its winners before it was asked for"


def _round_note(draw_round: int | None, version: int, own_rounds: bool = False) -> str:
    every = (
        "every beacon draw but the rerolls on rounds of their own"
        if own_rounds
        else ("every beacon draw")
    )
    if version >= ROUND_FIXED_FROM:
        return f"round: {every} used round {draw_round}, which the snapshot hash fixes"
    return (
        f"round: {every} used round {draw_round}, the one the proof's own ends_at and "
        f"closed_at give (a version {version} snapshot does not fix it): compare it with the "
        "round announced at the close"
    )


def _version(proof: dict[str, Any], ledger: dict[str, Any], problems: list[str]) -> int:
    """The snapshot version both files say they are in (the ledger's format names it: version
    2 names admins by pseudonyms); a problem when either is in no known format or they
    differ, and then the ledger's version if it has one, else 1."""
    proof_version = _known(proof.get("format"), PROOF_FORMATS)
    ledger_version = _known(ledger.get("format"), LEDGER_FORMATS)
    if proof_version is None:
        problems.append(f"the proof is not in the {_formats(PROOF_FORMATS)} format")
    if ledger_version is None:
        problems.append(f"the ledger is not in the {_formats(LEDGER_FORMATS)} format")
    if None not in (proof_version, ledger_version) and proof_version != ledger_version:
        problems.append(
            f"the proof is in the {proof['format']} format but the ledger in {ledger['format']}"
        )
    return ledger_version or 1


def _known(value: Any, formats: dict[int, str]) -> int | None:
    return next((version for version, name in formats.items() if name == value), None)


def _formats(formats: dict[int, str]) -> str:
    names = list(formats.values())
    return " or ".join(names)


def _describe(picks: Sequence[Pick]) -> str:
    if not picks:
        return "none"
    return ", ".join(f"{p.participant} (ticket {p.ticket}, counter {p.counter})" for p in picks)
