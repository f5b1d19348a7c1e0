"""Checking a drand round's BLS12-381 signature offline, with py_ecc (pure Python).

- ``bls-unchained-g1-rfc9380`` (quicknet): the signature is on G1, the key on G2, the message
  SHA-256(round as 8 bytes big-endian), hashed to G1 by RFC 9380 with the DST
  ``BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_``.
- ``pedersen-bls-chained`` (the default chain): the signature is on G2, the key on G1, the
  message SHA-256(previous signature || round as 8 bytes big-endian), hashed to G2 with the DST
  ``BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_``.

The check is e(signature, generator) == e(H(message), key), computed as one product of two Miller
loops and one final exponentiation. Both points are decoded from their compressed form and must
lie in the prime-order subgroup. A round's randomness is SHA-256 of its signature.

One check takes about 0.2 s (quicknet) to 0.35 s (default chain) in CPython 3.11; docs/raffle.md
has the measurements. Checks that passed are remembered (a reroll reuses its round).
"""

from __future__ import annotations

import hashlib
import re
import sys
from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

from core.features.raffle.beacons.chains import CHAINED, UNCHAINED_G1

DST_G1 = b"BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"
DST_G2 = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


@cache
def _ecc() -> SimpleNamespace:
    """py_ecc, imported on first use: importing it takes about a second, and it raises the
    interpreter's recursion limit to 100,000 for the whole process (py_ecc/__init__.py), which
    would let deeply nested JSON overflow the C stack elsewhere; the limit is put back."""
    limit = sys.getrecursionlimit()
    try:
        from py_ecc.bls.hash_to_curve import hash_to_G1, hash_to_G2
        from py_ecc.bls.point_compression import decompress_G1, decompress_G2
        from py_ecc.optimized_bls12_381 import (
            FQ12,
            G1,
            G2,
            curve_order,
            final_exponentiate,
            is_inf,
            multiply,
            neg,
        )
        from py_ecc.optimized_bls12_381.optimized_pairing import miller_loop
    finally:
        sys.setrecursionlimit(limit)
    return SimpleNamespace(
        hash_to_G1=hash_to_G1,
        hash_to_G2=hash_to_G2,
        decompress_G1=decompress_G1,
        decompress_G2=decompress_G2,
        FQ12=FQ12,
        G1=G1,
        G2=G2,
        curve_order=curve_order,
        final_exponentiate=final_exponentiate,
        is_inf=is_inf,
        multiply=multiply,
        neg=neg,
        miller_loop=miller_loop,
    )


class SignatureRefused(ValueError):
    """The round's signature is malformed or does not verify; the words say which."""


def randomness_of(signature_hex: str) -> str:
    """A drand round's randomness: SHA-256 of its signature bytes, hex."""
    return hashlib.sha256(_bytes(signature_hex, "signature")).hexdigest()


def message_of(scheme: str, beacon_round: int, previous_signature_hex: str | None) -> bytes:
    """The 32 bytes a round's signature signs (before hashing to the curve)."""
    if type(beacon_round) is not int or not 0 <= beacon_round < 2**64:
        raise SignatureRefused("the round is not a whole number from 0 to 2**64 - 1")
    number = beacon_round.to_bytes(8, "big")
    if scheme == CHAINED:
        if not previous_signature_hex:
            raise SignatureRefused("a round of a chained scheme needs its previous signature")
        previous = _bytes(previous_signature_hex, "previous signature")
        return hashlib.sha256(previous + number).digest()
    if scheme == UNCHAINED_G1:
        return hashlib.sha256(number).digest()
    shown = repr(scheme[:40]) if isinstance(scheme, str) else f"of type {type(scheme).__name__}"
    raise SignatureRefused(f"the scheme {shown} is not supported")


def check_signature(
    scheme: str,
    public_key_hex: str,
    beacon_round: int,
    signature_hex: str,
    previous_signature_hex: str | None = None,
) -> None:
    """Return if ``signature_hex`` is the chain's signature of ``beacon_round``; else raise
    :class:`SignatureRefused`."""
    message = message_of(scheme, beacon_round, previous_signature_hex)
    key, signature = _hex(public_key_hex, "public key"), _hex(signature_hex, "signature")
    if not _verified(scheme, key, message, signature):
        raise SignatureRefused("the signature does not verify against the chain's public key")


@lru_cache(maxsize=512)
def _verified(scheme: str, key_hex: str, message: bytes, signature_hex: str) -> bool:
    # Only results are cached, never exceptions: a malformed input is refused every time.
    ecc = _ecc()
    if scheme == UNCHAINED_G1:
        key = _g2_point(key_hex, "public key")
        signature = _g1_point(signature_hex, "signature")
        hashed = ecc.hash_to_G1(message, DST_G1, hashlib.sha256)
        # e(signature, G2) * e(-H(m), key) == 1
        product = ecc.miller_loop(ecc.G2, signature, False) * ecc.miller_loop(
            key, ecc.neg(hashed), False
        )
    else:
        key = _g1_point(key_hex, "public key")
        signature = _g2_point(signature_hex, "signature")
        hashed = ecc.hash_to_G2(message, DST_G2, hashlib.sha256)
        # e(G1, signature) * e(-key, H(m)) == 1
        product = ecc.miller_loop(signature, ecc.G1, False) * ecc.miller_loop(
            hashed, ecc.neg(key), False
        )
    return ecc.final_exponentiate(product) == ecc.FQ12.one()


def _hex(value: str, what: str) -> str:
    # Text only: str() of an integer of over 4,300 digits or of a deeply nested list raises.
    text = value.lower() if isinstance(value, str) else ""
    if not _HEX.fullmatch(text):
        raise SignatureRefused(f"the {what} is not hexadecimal")
    return text


def _bytes(value: str, what: str) -> bytes:
    return bytes.fromhex(_hex(value, what))


@lru_cache(maxsize=16)
def _g1_point(hex_text: str, what: str) -> Any:
    raw = _bytes(hex_text, what)
    if len(raw) != 48:
        raise SignatureRefused(f"the {what} is not a compressed G1 point (48 bytes)")
    try:
        point = _ecc().decompress_G1(int.from_bytes(raw, "big"))
    except ValueError as exc:
        raise SignatureRefused(f"the {what} is not a point of the curve") from exc
    return _in_subgroup(point, what)


@lru_cache(maxsize=16)
def _g2_point(hex_text: str, what: str) -> Any:
    raw = _bytes(hex_text, what)
    if len(raw) != 96:
        raise SignatureRefused(f"the {what} is not a compressed G2 point (96 bytes)")
    try:
        halves = (int.from_bytes(raw[:48], "big"), int.from_bytes(raw[48:], "big"))
        point = _ecc().decompress_G2(halves)
    except ValueError as exc:
        raise SignatureRefused(f"the {what} is not a point of the curve") from exc
    return _in_subgroup(point, what)


def _in_subgroup(point: Any, what: str) -> Any:
    ecc = _ecc()
    if ecc.is_inf(point) or not ecc.is_inf(ecc.multiply(point, ecc.curve_order)):
        raise SignatureRefused(f"the {what} is not in the curve's prime-order subgroup")
    return point
