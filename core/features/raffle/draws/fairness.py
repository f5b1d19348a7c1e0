"""The draw's arithmetic, as pure functions: the canonical snapshot, winners and beacon rounds
(:mod:`core.features.raffle.draws.verification` checks a published draw with them).

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
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any

from core.events import utc

SNAPSHOT_FORMAT = "streamkeeper-raffle-snapshot"
# Version 1: an entry names its admin by Discord id. Version 2 (periods closed since migration
# 0036): by a per-period pseudonym, "admin-<16 hex>" (:mod:`core.features.raffle.draws.actors`).
# Version 3: as 2, and the header fixes the period's end, its close and the beacon chain and
# round the draws must use (:class:`RoundFix`), so the hash announced at the close pins the round.
# A period keeps the version it was closed in: its hash covers the lines as they were written.
SNAPSHOT_VERSION = 3
SNAPSHOT_VERSIONS = (1, 2, 3)
PROOF_FORMATS = {v: f"streamkeeper-raffle-proof/{v}" for v in SNAPSHOT_VERSIONS}
LEDGER_FORMATS = {v: f"streamkeeper-raffle-ledger/{v}" for v in SNAPSHOT_VERSIONS}
# The ledger export's name for an entry's admin, by version.
ACTOR_FIELDS = {1: "actor_id", 2: "actor", 3: "actor"}
# How the reason of a reroll of one winner starts; the verifiers check the winner it names.
REPLACED = re.compile(r"in place of winner ([0-9]{1,6}) \(([^()]*)\): ")
ROUND_FIXED_FROM = 3  # the first version whose header fixes the beacon round


@dataclass(frozen=True)
class RoundFix:
    """What a version 3 snapshot's header holds besides the period: its end and close (UTC)
    and the beacon chain (its hash) and round the rules fixed at the close; None for a chain
    not known at the close (then no beacon draw verifies)."""

    ends_at: datetime
    closed_at: datetime
    chain_hash: str | None
    beacon_round: int | None

    def fields(self) -> list[Any]:
        return [
            format_time(self.ends_at),
            format_time(self.closed_at),
            self.chain_hash,
            self.beacon_round,
        ]


@dataclass(frozen=True)
class SnapshotEntry:
    """One ledger row as it is hashed and exported. ``actor``: the admin who made a change by
    hand, or None; their Discord id in a version 1 snapshot, their pseudonym ("admin-<hex>")
    in a version 2 one."""

    id: int
    platform: str
    platform_user_id: str
    amount: int
    source: str
    source_ref: str
    actor: int | str | None
    reason: str
    created_at: str  # UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"

    @property
    def participant(self) -> str:
        return participant_key(self.platform, self.platform_user_id)

    def exported(self, version: int) -> dict[str, Any]:
        """The entry as the ledger file of a ``version`` snapshot holds it (docs/raffle.md)."""
        row = dict(self.__dict__)
        return {ACTOR_FIELDS[version] if k == "actor" else k: v for k, v in row.items()}


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


def _header(guild_id: int, period_id: int, version: int, fix: RoundFix | None = None) -> bytes:
    if version not in SNAPSHOT_VERSIONS:
        raise ValueError(f"there is no snapshot version {version}")
    if version < ROUND_FIXED_FROM:
        if fix is not None:
            raise ValueError(f"a version {version} snapshot's header fixes no beacon round")
        return _line([SNAPSHOT_FORMAT, version, guild_id, period_id])
    if fix is None:
        raise ValueError(f"a version {version} snapshot's header fixes the beacon round")
    return _line([SNAPSHOT_FORMAT, version, guild_id, period_id, *fix.fields()])


def canonical_snapshot(
    guild_id: int,
    period_id: int,
    entries: Iterable[SnapshotEntry],
    eligible: Iterable[str],
    version: int = 1,
    fix: RoundFix | None = None,
) -> bytes:
    """The frozen ledger as bytes: a header line (with ``version``, and from version 3
    ``fix``), one line per entry by id, one line per eligible participant in sorted order;
    each line compact JSON (UTF-8) ending in a newline. The versions differ only in the header
    and in what the entries' actors hold (the caller's entries hold it already)."""
    parts = [_header(guild_id, period_id, version, fix)]
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
                    e.actor,
                    e.reason,
                    e.created_at,
                ]
            )
        )
    parts.extend(_line(["eligible", key]) for key in sorted(set(eligible)))
    return b"".join(parts)


def snapshot_hash(
    guild_id: int,
    period_id: int,
    entries: Iterable[SnapshotEntry],
    eligible: Iterable[str],
    version: int = 1,
    fix: RoundFix | None = None,
) -> str:
    snapshot = canonical_snapshot(guild_id, period_id, entries, eligible, version, fix)
    return hashlib.sha256(snapshot).hexdigest()


def entry_line(row: Sequence[Any]) -> str:
    """One ledger row's line of the snapshot, without its newline; ``row`` is ``(id, platform,
    platform_user_id, amount, source, source_ref, actor, reason, created_at text)``."""
    return _encode(["entry", *row])


class SnapshotHasher:
    """:func:`snapshot_hash` of a ledger that streams by in ascending id order, in constant
    memory: feed it batches of rows (:meth:`add`, shaped as for :func:`entry_line`) or of
    lines built elsewhere (:meth:`add_lines`), then :meth:`finish` with the eligible
    participants. ``version``: the header's (the lines fed must hold that version's actors),
    with ``fix`` from version 3."""

    def __init__(
        self, guild_id: int, period_id: int, version: int = 1, fix: RoundFix | None = None
    ) -> None:
        self._sha = hashlib.sha256(_header(guild_id, period_id, version, fix))
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


@dataclass(frozen=True)
class DrawInputs:
    """What fixes a draw's picks besides the tickets (docs/raffle.md): the period's seed and
    snapshot hash, the beacon's randomness (empty for a forced draw), the participants who won
    the period's earlier draws, the counter of the first pick and how many winners to pick."""

    seed_hex: str
    snapshot_hash_hex: str
    randomness_hex: str
    already_won: Sequence[str]
    first_counter: int
    count: int

    def ticket(self, counter: int, in_play: int) -> int:
        """The ticket the pick with ``counter`` draws among ``in_play`` tickets (from 0)."""
        value = draw_value(self.seed_hex, self.snapshot_hash_hex, self.randomness_hex, counter)
        return value % in_play


def pick_winners(
    inputs: DrawInputs, *, balances_: dict[str, int], eligible: Iterable[str]
) -> list[Pick]:
    """Up to ``inputs.count`` winners, never one in ``inputs.already_won`` nor the same one
    twice.

    Each pick uses the next counter: the winning ticket is the draw value modulo the tickets
    still in play, and its holder leaves the pool before the next pick.
    """
    pool = set(eligible) - set(inputs.already_won)
    picks: list[Pick] = []
    counter = inputs.first_counter
    while len(picks) < inputs.count:
        ranges = ticket_ranges(balances_, pool)
        total = sum(tickets for _, _, tickets in ranges)
        if total == 0:
            break
        ticket = inputs.ticket(counter, total)
        holder = next(key for key, start, tickets in ranges if start <= ticket < start + tickets)
        picks.append(Pick(holder, ticket, counter))
        pool.discard(holder)
        counter += 1
    return picks


def pick_winners_fast(
    inputs: DrawInputs, *, balances_: dict[str, int], eligible: Iterable[str]
) -> list[Pick]:
    """:func:`pick_winners` (the same picks, the rule in docs/raffle.md) for many
    participants: the ticket ranges are laid out once and each holder is found by binary
    search (:func:`pick_from_layout`), instead of rebuilding the ranges per pick."""
    won = set(inputs.already_won)
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

    def holder_at(laid_out: int) -> tuple[str, int, int]:
        index = bisect.bisect_right(ends, laid_out)
        start = ends[index - 1] if index else 0
        return keys[index], start, ends[index] - start

    return pick_from_layout(inputs, total, [], holder_at)


def pick_from_layout(
    inputs: DrawInputs,
    total: int,
    out_of_play: list[tuple[int, int]],
    holder_at: Callable[[int], tuple[str, int, int]],
) -> list[Pick]:
    """:func:`pick_winners` over ticket ranges laid out once, ``total`` tickets in all, without
    laying them out again after each pick.

    A pick's ticket counts only the tickets still in play, so it is mapped past the ranges out
    of play (``out_of_play``: (first ticket, tickets) of each, by first ticket; those of
    ``inputs.already_won`` when the layout holds them) to its place among all the ranges.
    ``holder_at(place)`` names the holder there and its range's (first ticket, tickets); that
    range is out of play for the next pick.
    """
    gone = list(out_of_play)
    picks: list[Pick] = []
    counter = inputs.first_counter
    while len(picks) < inputs.count:
        in_play = total - sum(tickets for _, tickets in gone)
        if in_play <= 0:
            break
        ticket = inputs.ticket(counter, in_play)
        laid_out = ticket  # the ticket's number among all ranges, the drawn ones included
        for start, tickets in gone:
            if laid_out < start:
                break
            laid_out += tickets
        holder, start, tickets = holder_at(laid_out)
        bisect.insort(gone, (start, tickets))
        picks.append(Pick(holder, ticket, counter))
        counter += 1
    return picks


# --- beacon rounds -------------------------------------------------------------------------


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
