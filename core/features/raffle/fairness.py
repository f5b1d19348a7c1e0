"""The draw's arithmetic, as pure functions: the canonical snapshot, winners, and verification.

Nothing here touches the database or the network, so ``python -m core raffle verify`` can
recompute a draw from the exported proof and ledger alone. docs/raffle.md describes the same
rules in words; keep the two in step.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import json
import operator
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from core.events import utc

SNAPSHOT_FORMAT = "streamkeeper-raffle-snapshot"
SNAPSHOT_VERSION = 1
PROOF_FORMAT = "streamkeeper-raffle-proof/1"
LEDGER_FORMAT = "streamkeeper-raffle-ledger/1"


@dataclass(frozen=True)
class SnapshotEntry:
    """One ledger row as it is hashed and exported."""

    id: int
    platform: str
    platform_user_id: str
    amount: int
    source: str
    source_ref: str
    actor_id: int | None
    reason: str
    created_at: str  # UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"

    @property
    def participant(self) -> str:
        return participant_key(self.platform, self.platform_user_id)


@dataclass(frozen=True)
class Pick:
    participant: str
    ticket: int
    counter: int


def participant_key(platform: str, platform_user_id: str) -> str:
    return f"{platform}:{platform_user_id}"


def format_time(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def commitment_of(seed_hex: str) -> str:
    """The published SHA-256 commitment of a seed (hex of the seed's bytes in, hex out)."""
    return hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()


# What ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` writes, without building
# an encoder per call.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _line(value: list[Any]) -> bytes:
    return _encode(value).encode("utf-8") + b"\n"


def canonical_snapshot(
    guild_id: int, period_id: int, entries: Iterable[SnapshotEntry], eligible: Iterable[str]
) -> bytes:
    """The frozen ledger as bytes: a header line, one line per entry by id, one line per eligible
    participant in sorted order; each line compact JSON (UTF-8) ending in a newline."""
    parts = [_line([SNAPSHOT_FORMAT, SNAPSHOT_VERSION, guild_id, period_id])]
    for e in sorted(entries, key=lambda entry: entry.id):
        parts.append(
            _line(
                [
                    "entry",
                    e.id,
                    e.platform,
                    e.platform_user_id,
                    e.amount,
                    e.source,
                    e.source_ref,
                    e.actor_id,
                    e.reason,
                    e.created_at,
                ]
            )
        )
    parts.extend(_line(["eligible", key]) for key in sorted(set(eligible)))
    return b"".join(parts)


def snapshot_hash(
    guild_id: int, period_id: int, entries: Iterable[SnapshotEntry], eligible: Iterable[str]
) -> str:
    return hashlib.sha256(canonical_snapshot(guild_id, period_id, entries, eligible)).hexdigest()


def entry_line(row: Sequence[Any]) -> str:
    """One ledger row's line of the snapshot, without its newline; ``row`` is ``(id, platform,
    platform_user_id, amount, source, source_ref, actor_id, reason, created_at text)``."""
    return _encode(["entry", *row])


class SnapshotHasher:
    """:func:`snapshot_hash` of a ledger that streams by in ascending id order, in constant
    memory: feed it batches of rows (:meth:`add`, shaped as for :func:`entry_line`) or of
    lines built elsewhere (:meth:`add_lines`), then :meth:`finish` with the eligible
    participants."""

    def __init__(self, guild_id: int, period_id: int) -> None:
        self._sha = hashlib.sha256(_line([SNAPSHOT_FORMAT, SNAPSHOT_VERSION, guild_id, period_id]))
        self._last_id: int | None = None

    def add(self, rows: Iterable[Sequence[Any]]) -> None:
        last = self._last_id
        lines = []
        for row in rows:
            if last is not None and row[0] <= last:
                raise ValueError("ledger rows must come in ascending id order")
            last = row[0]
            lines.append(entry_line(row))
        self.add_lines(lines)
        self._last_id = last

    def add_lines(self, lines: list[str]) -> None:
        """Entry lines (without newlines) already in id order, as :func:`entry_line` makes them."""
        if lines:
            self._sha.update(("\n".join(lines) + "\n").encode("utf-8"))

    def add_text(self, data: bytes) -> None:
        """Whole entry lines in id order, UTF-8, each ending in a newline."""
        self._sha.update(data)

    def finish(self, eligible: Iterable[str]) -> str:
        # ``_line(["eligible", key])`` for each key, written out: the string encoder is the one
        # ``_encode`` uses, and one update for all (a close has 100,000 keys).
        lines = "".join(f'["eligible",{encode_basestring(key)}]\n' for key in sorted(set(eligible)))
        self._sha.update(lines.encode("utf-8"))
        return self._sha.hexdigest()


def balances(entries: Iterable[SnapshotEntry]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for entry in entries:
        totals[entry.participant] = totals.get(entry.participant, 0) + entry.amount
    return totals


def ticket_ranges(balances_: dict[str, int], eligible: Iterable[str]) -> list[tuple[str, int, int]]:
    """``(participant, first ticket, tickets)`` for each eligible participant with tickets, in
    ascending order of ``"platform:user_id"``; ticket numbers count up from 0."""
    ranges = []
    start = 0
    for key in sorted(set(eligible)):
        tickets = balances_.get(key, 0)
        if tickets > 0:
            ranges.append((key, start, tickets))
            start += tickets
    return ranges


def draw_value(seed_hex: str, snapshot_hash_hex: str, randomness_hex: str, counter: int) -> int:
    """HMAC-SHA256 keyed by the seed over snapshot hash || beacon randomness || counter (8 bytes,
    big-endian), read as a big-endian integer. A forced draw has empty randomness."""
    message = bytes.fromhex(snapshot_hash_hex) + bytes.fromhex(randomness_hex)
    message += counter.to_bytes(8, "big")
    digest = hmac.new(bytes.fromhex(seed_hex), message, hashlib.sha256).digest()
    return int.from_bytes(digest, "big")


def pick_winners(
    *,
    seed_hex: str,
    snapshot_hash_hex: str,
    randomness_hex: str,
    balances_: dict[str, int],
    eligible: Iterable[str],
    already_won: Iterable[str],
    first_counter: int,
    count: int,
) -> list[Pick]:
    """Up to ``count`` winners, never one in ``already_won`` nor the same one twice.

    Each pick uses the next counter: the winning ticket is the draw value modulo the tickets
    still in play, and its holder leaves the pool before the next pick.
    """
    pool = set(eligible) - set(already_won)
    picks: list[Pick] = []
    counter = first_counter
    while len(picks) < count:
        ranges = ticket_ranges(balances_, pool)
        total = sum(tickets for _, _, tickets in ranges)
        if total == 0:
            break
        ticket = draw_value(seed_hex, snapshot_hash_hex, randomness_hex, counter) % total
        holder = next(key for key, start, tickets in ranges if start <= ticket < start + tickets)
        picks.append(Pick(holder, ticket, counter))
        pool.discard(holder)
        counter += 1
    return picks


def pick_winners_fast(
    *,
    seed_hex: str,
    snapshot_hash_hex: str,
    randomness_hex: str,
    balances_: dict[str, int],
    eligible: Iterable[str],
    already_won: Iterable[str],
    first_counter: int,
    count: int,
) -> list[Pick]:
    """:func:`pick_winners` (the same picks, the rule in docs/raffle.md) for many
    participants: the ticket ranges are laid out once, and a later pick maps its ticket, which
    counts only the tickets still in play, past the ranges of the holders already picked to
    find the holder by binary search, instead of rebuilding the ranges."""
    won = set(already_won)
    keys: list[str] = []
    ends: list[int] = []  # ends[i]: the first ticket after keys[i]'s range
    total = 0
    ordered = list(eligible)
    if not all(map(operator.lt, ordered, itertools.islice(ordered, 1, None))):
        ordered = sorted(set(ordered))  # a frozen period's list is sorted already
    for key in ordered:
        tickets = balances_.get(key, 0)
        if tickets > 0 and key not in won:
            total += tickets
            keys.append(key)
            ends.append(total)
    gone: list[tuple[int, int]] = []  # (first ticket, tickets) of the picked, by first ticket
    picks: list[Pick] = []
    counter = first_counter
    while len(picks) < count:
        in_play = total - sum(tickets for _, tickets in gone)
        if in_play <= 0:
            break
        ticket = draw_value(seed_hex, snapshot_hash_hex, randomness_hex, counter) % in_play
        laid_out = ticket
        for start, tickets in gone:
            if laid_out < start:
                break
            laid_out += tickets
        index = bisect.bisect_right(ends, laid_out)
        start = ends[index - 1] if index else 0
        bisect.insort(gone, (start, ends[index] - start))
        picks.append(Pick(keys[index], ticket, counter))
        counter += 1
    return picks


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    problems: tuple[str, ...]
    draws_checked: int

    @property
    def matches(self) -> bool:
        return not self.problems


def first_round_after(moment: datetime, genesis_time: int, period_seconds: int) -> int:
    """The first beacon round published strictly after ``moment`` (round 1 is at genesis)."""
    elapsed = utc(moment).timestamp() - genesis_time
    if elapsed < 0:
        return 1
    return int(elapsed // period_seconds) + 2


def round_time(beacon_round: int, genesis_time: int, period_seconds: int) -> int:
    return genesis_time + (beacon_round - 1) * period_seconds


def expected_round(
    ends_at: datetime, closed_at: datetime, genesis_time: int, period_seconds: int
) -> int:
    """The round fixed for a period: the first after its end, unless the ledger was frozen only
    after that round was out (a bot down over the end), then the first after the freeze."""
    fixed = first_round_after(ends_at, genesis_time, period_seconds)
    if round_time(fixed, genesis_time, period_seconds) <= utc(closed_at).timestamp():
        return first_round_after(closed_at, genesis_time, period_seconds)
    return fixed


def entries_from_export(ledger: dict[str, Any]) -> list[SnapshotEntry]:
    return [
        SnapshotEntry(
            id=int(row["id"]),
            platform=str(row["platform"]),
            platform_user_id=str(row["platform_user_id"]),
            amount=int(row["amount"]),
            source=str(row["source"]),
            source_ref=str(row["source_ref"]),
            actor_id=None if row["actor_id"] is None else int(row["actor_id"]),
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
    if proof.get("format") != PROOF_FORMAT:
        problems.append(f"the proof is not in the {PROOF_FORMAT} format")
    if ledger.get("format") != LEDGER_FORMAT:
        problems.append(f"the ledger is not in the {LEDGER_FORMAT} format")
    guild_id, period_id = int(proof["guild_id"]), int(proof["period_id"])
    if (int(ledger["guild_id"]), int(ledger["period_id"])) != (guild_id, period_id):
        problems.append("the ledger belongs to another period")
    seed = str(proof["seed"])
    if commitment_of(seed) != proof["commitment"]:
        problems.append("the seed does not match the commitment published when the period opened")
    entries = entries_from_export(ledger)
    eligible = [str(key) for key in ledger["eligible"]]
    recomputed = snapshot_hash(guild_id, period_id, entries, eligible)
    if recomputed != proof["snapshot_hash"]:
        problems.append(
            f"the ledger hashes to {recomputed}, not to the snapshot hash "
            f"{proof['snapshot_hash']} recorded when the period closed"
        )
    beacon = proof.get("beacon") or {}
    fixed_round = None
    if beacon.get("genesis_time") is not None and beacon.get("period_seconds"):
        fixed_round = expected_round(
            datetime.fromisoformat(proof["ends_at"]),
            datetime.fromisoformat(proof["closed_at"]),
            int(beacon["genesis_time"]),
            int(beacon["period_seconds"]),
        )
        if beacon.get("round") is not None and int(beacon["round"]) != fixed_round:
            problems.append(f"the beacon round should be {fixed_round}, not {beacon['round']}")
    totals = balances(entries)
    won: list[str] = []
    checked = 0
    for draw in proof["draws"]:
        label = f"draw {draw['id']}"
        if draw.get("forced"):
            randomness = ""
        else:
            randomness = str(draw["beacon_randomness"])
            if fixed_round is None:
                # Without the chain's timing any published round would pass.
                problems.append(
                    f"{label} used the beacon, but the proof lacks the beacon's genesis_time "
                    "and period_seconds, so its round cannot be checked"
                )
            elif int(draw["beacon_round"]) != fixed_round:
                problems.append(f"{label} used beacon round {draw['beacon_round']}")
        if int(draw["first_counter"]) != len(won):
            problems.append(f"{label} should start at counter {len(won)}")
        recorded = [
            Pick(str(w["participant"]), int(w["ticket"]), int(w["counter"]))
            for w in draw["winners"]
        ]
        expected = pick_winners(
            seed_hex=seed,
            snapshot_hash_hex=str(proof["snapshot_hash"]),
            randomness_hex=randomness,
            balances_=totals,
            eligible=eligible,
            already_won=won,
            first_counter=len(won),
            count=int(draw["winners_wanted"]),
        )
        if expected != recorded:
            problems.append(
                f"{label}: recomputed winners {_describe(expected)}, "
                f"the proof says {_describe(recorded)}"
            )
        won.extend(pick.participant for pick in recorded)
        checked += 1
    return Verification(tuple(problems), checked)


def _describe(picks: Sequence[Pick]) -> str:
    if not picks:
        return "none"
    return ", ".join(f"{p.participant} (ticket {p.ticket}, counter {p.counter})" for p in picks)
