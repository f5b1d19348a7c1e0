"""Checking a proof's beacon offline: the chain it names, and each draw's round signature.

Part of :func:`core.features.raffle.draws.verification.verify`; static/beacon.js does the same in
the browser with the same words (a browser test compares them). A proof exported before signatures
were recorded names no chain: it verifies as before, and a note says the signature is absent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.beacons.signatures import (
    SignatureRefused,
    check_signature,
    randomness_of,
)


@dataclass(frozen=True)
class BeaconChain:
    """The chain a proof's rounds are checked against."""

    chain_hash: str
    scheme: str
    public_key: str
    genesis_time: int | None
    period_seconds: int | None
    pinned: drand_chains.Chain | None

    @property
    def whose_key(self) -> str:
        if self.pinned is not None:
            return f"the pinned public key of drand {drand_chains.describe(self.chain_hash)}"
        return "the public key in the proof"


def chain_of_proof(beacon: dict[str, Any], problems: list[str]) -> BeaconChain | None:
    """The proof's chain, or None for a proof without one; what is wrong goes to ``problems``
    (whatever the fields hold: nothing raises). A pinned chain's scheme, key and timing come
    from the code, and the proof must agree."""
    chain_hash = _text(beacon.get("chain_hash") or "").lower()
    if not chain_hash:
        return None
    pinned = drand_chains.pinned(chain_hash)
    if pinned is not None:
        named = {
            "scheme": (beacon.get("scheme"), pinned.scheme),
            "public key": (_lower(beacon.get("public_key")), pinned.public_key),
            "genesis time": (_int(beacon.get("genesis_time")), pinned.genesis_time),
            "period": (_int(beacon.get("period_seconds")), pinned.period_seconds),
        }
        for what, (value, expected) in named.items():
            if value is not None and value != expected:
                problems.append(
                    f"the proof names the chain hash of drand {pinned.name} with another "
                    f"{what} than the pinned one"
                )
        return BeaconChain(
            chain_hash,
            pinned.scheme,
            pinned.public_key,
            pinned.genesis_time,
            pinned.period_seconds,
            pinned,
        )
    count = len(problems)
    scheme, public_key = _text(beacon.get("scheme") or ""), _lower(beacon.get("public_key"))
    if scheme not in drand_chains.SCHEMES:
        problems.append(f"the beacon's scheme {_cut(scheme)!r} is not supported")
    genesis_time, period = _int(beacon.get("genesis_time")), _int(beacon.get("period_seconds"))
    for what, value in (("genesis_time", genesis_time), ("period_seconds", period)):
        if isinstance(value, str):
            problems.append(f"the beacon's {what} is not a whole number")
    if not public_key:
        problems.append(
            f"the beacon's chain {chain_hash[:8]}... is not pinned and the proof has no "
            "public_key to check its signatures with"
        )
    if len(problems) > count:
        return None
    return BeaconChain(
        chain_hash,
        scheme,
        public_key or "",
        None if isinstance(genesis_time, str) else genesis_time,  # (a problem above)
        None if isinstance(period, str) else period,
        None,
    )


def check_draw(
    draw: dict[str, Any], label: str, chain: BeaconChain | None, problems: list[str]
) -> str | None:
    """Check a beacon draw's signature; the note to print when it checks out, else None.
    Raises only where ``int()`` cannot read the draw's round (``raffle verify`` then refuses
    the file)."""
    signature = draw.get("beacon_signature")
    if chain is None:
        if signature:
            problems.append(f"{label} carries a beacon signature, but the proof names no chain")
        return None
    round_ = int(draw["beacon_round"])
    if not signature:
        problems.append(f"{label} has no beacon_signature, though the proof names a chain")
        return None
    previous = draw.get("beacon_previous_signature")
    if chain.scheme == drand_chains.CHAINED and not previous:
        problems.append(f"{label} has no beacon_previous_signature, which the chained scheme signs")
        return None
    count = len(problems)
    try:
        if randomness_of(_text(signature)) != _text(draw["beacon_randomness"]).lower():
            problems.append(f"{label}: the beacon randomness is not SHA-256 of the signature")
        check_signature(chain.scheme, chain.public_key, round_, _text(signature), previous)
    except SignatureRefused:
        problems.append(
            f"{label}: the signature of beacon round {_cut(_text(round_))} does not verify against "
            f"{chain.whose_key}"
        )
    if len(problems) > count:
        return None
    note = f"beacon: the signature of round {round_} was checked against {chain.whose_key}"
    if chain.pinned is None:
        note += (
            f"; chain {chain.chain_hash[:8]}... is not pinned, so whoever ran the bot could "
            "have made that key"
        )
    return note


ABSENT = (
    "beacon: this proof has no beacon signatures (exported before they were recorded); "
    "its randomness is taken as written: compare it with a drand relay yourself"
)


_NOT_A_NUMBER = "not a whole number"  # what _int reads where no whole number is: equals none


def _text(value: Any) -> str:
    """``str(value)``, or its type's name where Python cannot write it: an integer of more than
    4,300 digits, a list nested thousands deep."""
    if isinstance(value, str):
        return value
    try:
        return str(value)
    except (ValueError, RecursionError):
        return f"({type(value).__name__})"


def _cut(text: str, limit: int = 40) -> str:
    """``text`` for a message: a proof's field can be any length."""
    return text if len(text) <= limit else text[:limit] + "..."


def _lower(value: Any) -> str | None:
    return None if value is None else _text(value).lower()


def _int(value: Any) -> int | str | None:
    if value is None:
        return None
    try:
        return int(value)
    except (ArithmeticError, TypeError, ValueError):  # "x", [], NaN, infinity, 5,000 digits
        return _NOT_A_NUMBER


FORCED_ONLY = (
    "no draw used the beacon: each was forced (!raffleforce), so the winners follow from the "
    "seed and the ledger alone, and whoever ran the bot could know them in advance"
)


def summary(proof: dict[str, Any]) -> str:
    """One sentence on the proof's beacon, for ``!fair`` and the proof page; that no draw used
    it when every draw was forced."""
    draws = proof.get("draws") or []
    if draws and all(isinstance(d, dict) and d.get("forced") for d in draws):
        return FORCED_ONLY
    beacon = proof.get("beacon") or {}
    round_ = _cut(_text(beacon.get("round")))
    chain_hash = _text(beacon.get("chain_hash") or "").lower()
    if not chain_hash:
        return (
            f"drand round {round_}; no signature was recorded (drawn before signatures were "
            "checked), so compare its randomness with a drand relay yourself"
        )
    chain = drand_chains.pinned(chain_hash)
    if chain is not None:
        return (
            f"drand {chain.name} round {round_}: its BLS signature was checked against the "
            "chain's pinned public key before the draw used it"
        )
    return (
        f"round {round_} of drand chain {chain_hash[:8]}... (not pinned): its signature was "
        "checked against the key the relay gave, which binds it only to that key"
    )
