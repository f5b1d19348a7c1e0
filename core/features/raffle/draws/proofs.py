"""A closed period's proof and frozen ledger, as ``!fair`` shows them and ``python -m core raffle
export`` writes them (docs/raffle.md, "Proof files").

Additions stay compatible: a period whose round comes from a chain with signatures adds
``chain_hash``, ``scheme`` and ``public_key`` to ``beacon``, and each of its draws adds
``beacon_signature`` (and ``beacon_previous_signature`` on a chained scheme); older periods export
the very same bytes as before. A period closed in snapshot version 2 exports proof and
ledger format 2: the ledger's entries name their admin in ``actor`` (a pseudonym, never the
Discord id) instead of ``actor_id``, and the proof's ``forced_by`` is a pseudonym too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Engine

from core.events import utc
from core.features.raffle import ledger_repository
from core.features.raffle.draws import fairness
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.draws.actors import ActorPseudonyms
from core.features.raffle.draws.repository import Draw
from core.features.raffle.periods.repository import Period
from core.features.viewers.repository import usernames_of


@dataclass(frozen=True)
class Proof:
    """What ``!fair`` shows and ``python -m core raffle export`` writes."""

    period: Period
    draws: tuple[Draw, ...]
    document: dict[str, Any] | None  # None until a draw is done (the seed stays secret)
    ledger: dict[str, Any] | None  # None too when it was not asked for (``with_ledger``)
    entry_count: int = 0  # the frozen ledger's entries, with or without the ledger
    time_zone: str = "UTC"  # the guild's raffle time zone, for showing the times to people


def snapshot_entries(
    conn: Connection, guild_id: int, period_id: int, actors: ActorPseudonyms | None = None
) -> list[fairness.SnapshotEntry]:
    """The period's ledger as the snapshot holds it: each admin named by ``actors``'
    pseudonym (version 2), or by their Discord id without ``actors`` (version 1)."""
    name = (lambda actor_id: actor_id) if actors is None else actors.name
    return [
        fairness.SnapshotEntry(
            id=e.id,
            platform=str(e.platform),
            platform_user_id=e.platform_user_id,
            amount=e.amount,
            source=e.source,
            source_ref=e.source_ref,
            actor=name(e.actor_id),
            reason=e.reason,
            created_at=fairness.format_time(e.created_at),
        )
        for e in ledger_repository.list_ledger(conn, guild_id, period_id)
    ]


def proof_of_period(
    engine: Engine,
    beacon_url: str | None,
    period: Period,
    actors: ActorPseudonyms | None,
    *,
    with_ledger: bool = True,
) -> Proof:
    """``with_ledger=False``: the proof document and the ledger's size only (the public proof
    page), without reading a busy period's tens of thousands of entries. ``actors``: the
    period's pseudonyms, which a version 2 period's ledger and proof name admins by (the
    entries' actors and who forced a draw)."""
    version = period.snapshot_version
    if (version > 1) != (actors is not None):
        raise ValueError(f"a version {version} period's proof names admins otherwise")
    with engine.connect() as conn:
        draws = tuple(draws_repository.list_draws_of_period(conn, period.guild_id, period.id))
        done = [d for d in draws if d.status == "done"]
        if period.status != "closed" or not done:
            return Proof(period, draws, None, None)
        if with_ledger:
            entries = snapshot_entries(conn, period.guild_id, period.id, actors)
            entry_count = len(entries)
        else:
            entry_count = ledger_repository.count_ledger_entries(conn, period.guild_id, period.id)
        keys = sorted(
            {
                fairness.participant_key(str(w.platform), w.platform_user_id)
                for d in done
                for w in d.winners
            }
        )
        names = usernames_of(conn, [tuple(k.split(":", 1)) for k in keys])
    beacon: dict[str, Any] = {
        "url": beacon_url,
        "round": period.beacon_round,
        "genesis_time": period.beacon_genesis_time,
        "period_seconds": period.beacon_period_seconds,
    }
    if period.beacon_chain_hash:
        beacon["chain_hash"] = period.beacon_chain_hash
        beacon["scheme"] = period.beacon_scheme
        beacon["public_key"] = period.beacon_public_key
    document = {
        "format": fairness.PROOF_FORMATS[version],
        "guild_id": period.guild_id,
        "period_id": period.id,
        "starts_at": utc(period.starts_at).isoformat(),
        "ends_at": utc(period.ends_at).isoformat(),
        "closed_at": utc(period.closed_at or period.ends_at).isoformat(),
        "commitment": period.commitment,
        "seed": period.seed,
        "snapshot_hash": period.snapshot_hash,
        "beacon": beacon,
        "draws": [_draw_document(d, names, actors) for d in done],
    }
    if not with_ledger:
        return Proof(period, draws, document, None, entry_count)
    ledger = {
        "format": fairness.LEDGER_FORMATS[version],
        "guild_id": period.guild_id,
        "period_id": period.id,
        "entries": [entry.exported(version) for entry in entries],
        "eligible": sorted(period.eligible or ()),
    }
    return Proof(period, draws, document, ledger, entry_count)


def _draw_document(
    draw: Draw, names: dict[str, str], actors: ActorPseudonyms | None
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": draw.id,
        "requested_at": utc(draw.requested_at).isoformat(),
        "drawn_at": utc(draw.drawn_at).isoformat() if draw.drawn_at else None,
        "winners_wanted": draw.winners_wanted,
        "prize": draw.prize,
        "reroll_of": draw.reroll_of,
        "reason": draw.reason,
        "forced": draw.forced,
        "forced_by": draw.forced_by if actors is None else actors.name(draw.forced_by),
        "beacon_round": draw.beacon_round,
        "beacon_randomness": draw.beacon_randomness,
    }
    if draw.beacon_signature:
        document["beacon_signature"] = draw.beacon_signature
        if draw.beacon_previous_signature:
            document["beacon_previous_signature"] = draw.beacon_previous_signature
    document["first_counter"] = draw.first_counter
    document["winners"] = [
        {
            "position": w.position,
            "participant": (key := fairness.participant_key(str(w.platform), w.platform_user_id)),
            "username": names.get(key),
            "ticket": w.ticket,
            "counter": w.counter,
        }
        for w in draw.winners
    ]
    return document
