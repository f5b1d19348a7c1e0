"""The drand chains this code knows, pinned by hash: public key, genesis, period and scheme.

Each value is the chain's ``/info`` as published by the League of Entropy, cross-checked against
independent public sources (docs/raffle.md, "Pinned chains", names them); a test recomputes each
chain hash from the other fields the way drand does (SHA-256 of the period as 4 bytes, the
genesis time as 8, the public key, the genesis seed and, unless it is "default", the beacon id),
so a wrong digit anywhere fails it.

A chain not listed here may still be used (``RAFFLE_BEACON_CHAIN``), but then its public key comes
from the relay and is written into the proof: the signature binds the randomness to that key, not
to the League of Entropy, and ``raffle verify`` says the chain is unpinned.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

# drand's scheme ids (the ``schemeID`` of a chain's /info).
CHAINED = "pedersen-bls-chained"  # key on G1, signature on G2 over SHA-256(previous sig || round)
UNCHAINED_G1 = "bls-unchained-g1-rfc9380"  # key on G2, signature on G1 over SHA-256(round)
SCHEMES = (CHAINED, UNCHAINED_G1)

_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Chain:
    name: str
    hash: str  # hex
    scheme: str
    public_key: str  # hex, compressed point
    genesis_time: int  # Unix seconds of round 1
    period_seconds: int
    genesis_seed: str  # hex (``groupHash``); round 1's "previous signature" on a chained scheme
    beacon_id: str

    def computed_hash(self) -> str:
        """The chain hash as drand computes it from the other fields."""
        digest = hashlib.sha256()
        digest.update(self.period_seconds.to_bytes(4, "big"))
        digest.update(self.genesis_time.to_bytes(8, "big", signed=True))
        digest.update(bytes.fromhex(self.public_key))
        digest.update(bytes.fromhex(self.genesis_seed))
        if self.beacon_id not in ("", "default"):
            digest.update(self.beacon_id.encode())
        return digest.hexdigest()


QUICKNET = Chain(
    name="quicknet",
    hash="52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
    scheme=UNCHAINED_G1,
    public_key=(
        "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c"
        "8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb"
        "5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a"
    ),
    genesis_time=1692803367,
    period_seconds=3,
    genesis_seed="f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
    beacon_id="quicknet",
)

DEFAULT = Chain(
    name="default",
    hash="8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce",
    scheme=CHAINED,
    public_key=(
        "868f005eb8e6e4ca0a47c8a77ceaa5309a47978a7c71bc5cce96366b5d7a5699"
        "37c529eeda66c7293784a9402801af31"
    ),
    genesis_time=1595431050,
    period_seconds=30,
    genesis_seed="176f93498eac9ca337150b46d21dd58673ea4e3581185f869672e59fa4cb390a",
    beacon_id="default",
)

PINNED: dict[str, Chain] = {chain.hash: chain for chain in (QUICKNET, DEFAULT)}
NAMES: dict[str, Chain] = {chain.name: chain for chain in (QUICKNET, DEFAULT)}


def pinned(chain_hash: str | None) -> Chain | None:
    return PINNED.get((chain_hash or "").lower())


def chain_hash_of(name_or_hash: str) -> str:
    """``quicknet``, ``default`` or a 64-digit hex chain hash, as the hash; raises ValueError."""
    value = name_or_hash.strip().lower()
    if value in NAMES:
        return NAMES[value].hash
    if not _HASH.fullmatch(value):
        raise ValueError("expected quicknet, default or a chain hash (64 hex digits)")
    return value


def describe(chain_hash: str | None) -> str:
    """A short name for messages: ``quicknet (52db9ba7...)`` or the hash's first digits."""
    chain = pinned(chain_hash)
    short = (chain_hash or "?")[:8]
    return f"{chain.name} ({short}...)" if chain else f"chain {short}..."
