"""Signing drand-style rounds with a test key (py_ecc), for the fake beacon and forged rounds.

A round signed here is self-consistent (its randomness is SHA-256 of its signature, and the
signature verifies against :func:`public_key`), but no League of Entropy key signed it: checked
against a pinned chain's key, it must fail.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from core.features.raffle.beacons.chains import CHAINED, UNCHAINED_G1
from core.features.raffle.beacons.signatures import DST_G1, DST_G2, _ecc, message_of

_ecc()  # py_ecc imported with the recursion limit put back (drand_signatures says why)
from py_ecc.bls.hash_to_curve import hash_to_G1, hash_to_G2  # noqa: E402
from py_ecc.bls.point_compression import compress_G1, compress_G2  # noqa: E402
from py_ecc.optimized_bls12_381 import G1, G2, multiply  # noqa: E402

TEST_SECRET = 0x5EC12E7_0F_7E57  # any scalar below the curve order


def _g1_hex(point) -> str:  # type: ignore[no-untyped-def]
    return compress_G1(point).to_bytes(48, "big").hex()


def _g2_hex(point) -> str:  # type: ignore[no-untyped-def]
    z1, z2 = compress_G2(point)
    return z1.to_bytes(48, "big").hex() + z2.to_bytes(48, "big").hex()


@lru_cache(maxsize=8)
def public_key(scheme: str = UNCHAINED_G1, secret: int = TEST_SECRET) -> str:
    if scheme == UNCHAINED_G1:
        return _g2_hex(multiply(G2, secret))
    return _g1_hex(multiply(G1, secret))


@lru_cache(maxsize=4096)
def sign(
    beacon_round: int,
    scheme: str = UNCHAINED_G1,
    previous_signature: str | None = None,
    secret: int = TEST_SECRET,
) -> str:
    message = message_of(scheme, beacon_round, previous_signature)
    if scheme == CHAINED:
        return _g2_hex(multiply(hash_to_G2(message, DST_G2, hashlib.sha256), secret))
    return _g1_hex(multiply(hash_to_G1(message, DST_G1, hashlib.sha256), secret))


def randomness(signature: str) -> str:
    return hashlib.sha256(bytes.fromhex(signature)).hexdigest()
