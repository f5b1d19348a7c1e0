"""Fuzz: what a drand relay answers (core/features/raffle/beacons/relays.py): a round
(``GET /{chain}/public/{round}``: ``round``, ``randomness``, ``signature`` and, on the chained
scheme, ``previous_signature``) and a chain's ``/info``. The bodies are real published rounds
(tests/fixtures/raffle/drand-rounds.json) and the League of Entropy's own /info
(core/features/raffle/beacons/chains.py) with fields removed, retyped or replaced, arbitrary JSON,
JSON Python reads but JSON forbids, nesting near Python's recursion limit, and bytes; under any
status. test_drand_proof_parts.py fuzzes the same fields as a raffle proof holds them; this is the
relay's side, before anything is written into a proof.

Properties: a round is given only when it is the round asked for, its randomness SHA-256 of its
signature and its signature hex (checked against the chain's key: a hostile one never
verifies); a relay that has not published it yet (404, 425) gives None; anything else is
:class:`BeaconUnavailable` in a few words, never another exception. An /info is the pinned
chain, one of the schemes we can check with a hex key and sane timing, or BeaconUnavailable.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.features.raffle.beacons.chains import DEFAULT, QUICKNET, SCHEMES
from core.features.raffle.beacons.relays import (
    MAX_GENESIS_TIME,
    MAX_PERIOD_SECONDS,
    HttpBeacon,
    pinned_info,
)
from core.features.raffle.ports import BeaconInfo, BeaconRound, BeaconUnavailable
from tests.conftest import FIXTURES
from tests.fuzz.conftest import record
from tests.fuzz.replies import any_bodies, body_of, edits_of

ROUNDS = json.loads((FIXTURES / "raffle" / "drand-rounds.json").read_text("utf-8"))
CHAINS = {"quicknet": QUICKNET, "default": DEFAULT}
# A round's fields as a relay sends them (the fixture's "source" is where it was copied from).
REAL = [
    (CHAINS[name], {k: v for k, v in row.items() if k != "source"})
    for name in CHAINS
    for row in ROUNDS[name]["rounds"]
]
RELAY = "https://relay.drand.test"
LONGEST = 500  # characters a relay's refusal may run to, whatever it answered
statuses = st.sampled_from([200, 200, 200, 200, 404, 425, 500, 302])


class AnsweringRelay(HttpBeacon):
    """One relay that answers every request ``status`` with ``body``, without a socket."""

    def __init__(self, status: int, body: bytes, *, chain: str | None = None) -> None:
        super().__init__(RELAY, chain=chain)
        self.answer = (status, body)

    def _get(self, url: str, path: str) -> httpx.Response:
        status, body = self.answer
        return httpx.Response(status, content=body, request=httpx.Request("GET", url + path))


def nested(depth: int, leaf: Any = "ab") -> bytes:
    """JSON text ``depth`` lists deep: Python reads up to about its recursion limit, and
    str() of what it read recurses as deep again."""
    return b"[" * depth + json.dumps(leaf).encode() + b"]" * depth


def _as_info(chain: Any) -> BeaconInfo:
    return pinned_info(chain)


def _assert_unavailable(error: BeaconUnavailable) -> None:
    said = str(error)
    assert 0 < len(said) < LONGEST
    assert "\n" not in said


@st.composite
def round_replies(draw: st.DrawFn) -> tuple[Any, dict[str, Any], int, bytes]:
    chain, row = draw(st.sampled_from(REAL))
    depth = st.integers(1, 1200)
    body = draw(
        st.one_of(
            any_bodies(row) | edits_of(row),
            st.builds(
                lambda field, d: body_of({**row, field: None}).replace(b"null", nested(d)),
                st.sampled_from(["signature", "previous_signature", "randomness", "round"]),
                depth,
            ),
        )
    )
    return chain, row, draw(statuses), body


@given(round_replies())
@example((QUICKNET, REAL[0][1], 200, body_of(REAL[0][1])))
@example((QUICKNET, REAL[0][1], 200, body_of({**REAL[0][1], "round": True})))
@example((DEFAULT, REAL[-1][1], 200, body_of({**REAL[-1][1], "previous_signature": None})))
@example((QUICKNET, REAL[0][1], 200, body_of({**REAL[0][1], "signature": "ab" * 50_000})))
@example((QUICKNET, REAL[0][1], 200, b'{"round": 123, "signature": ' + nested(960) + b"}"))
def test_a_relay_round_is_the_verified_round_asked_for_none_or_unavailable(
    case: tuple[Any, dict[str, Any], int, bytes],
) -> None:
    chain, row, status, body = case
    relay = AnsweringRelay(status, body)
    try:
        found = relay._relay_round(RELAY, row["round"], _as_info(chain))
    except BeaconUnavailable as exc:
        _assert_unavailable(exc)
        record("drand-relay-round", "unavailable")
        return
    if found is None:
        assert status in (404, 425)
        record("drand-relay-round", "not yet")
        return
    assert isinstance(found, BeaconRound)
    assert found.round == row["round"]
    assert found.signature == row["signature"]  # only the published one verifies
    assert found.randomness == hashlib.sha256(bytes.fromhex(found.signature)).hexdigest()
    record("drand-relay-round", "round")


INFOS = [
    {
        "public_key": chain.public_key,
        "period": chain.period_seconds,
        "genesis_time": chain.genesis_time,
        "hash": chain.hash,
        "groupHash": chain.genesis_seed,
        "schemeID": chain.scheme,
        "metadata": {"beaconID": chain.beacon_id},
    }
    for chain in (QUICKNET, DEFAULT)
]
UNPINNED = {**INFOS[0], "hash": "ab" * 32}


@given(
    st.sampled_from([200, 200, 200, 404, 500]),
    any_bodies(*INFOS, UNPINNED) | edits_of(UNPINNED) | edits_of(INFOS[1]),
)
@example(200, body_of(UNPINNED))
@example(200, body_of({**UNPINNED, "schemeID": "x" * 100_000}))
@example(200, body_of({**UNPINNED, "schemeID": None}).replace(b"null", nested(960)))
@example(200, body_of({**UNPINNED, "period": 10**400, "genesis_time": 1e308}))
def test_a_relay_info_is_a_chain_we_can_check_or_unavailable(status: int, body: bytes) -> None:
    relay = AnsweringRelay(status, body)
    try:
        info = relay._relay_info(RELAY, "")
    except BeaconUnavailable as exc:
        _assert_unavailable(exc)
        record("drand-relay-info", "unavailable")
        return
    if info.chain_hash in (QUICKNET.hash, DEFAULT.hash):
        assert info in (pinned_info(QUICKNET), pinned_info(DEFAULT))
        record("drand-relay-info", "pinned")
        return
    assert info.scheme in SCHEMES
    assert info.public_key
    assert int(info.public_key, 16) >= 0
    assert 0 <= info.genesis_time <= MAX_GENESIS_TIME
    assert 0 < info.period_seconds <= MAX_PERIOD_SECONDS
    record("drand-relay-info", "unpinned")


@pytest.mark.parametrize("status", [404, 425])
def test_a_round_not_out_yet_is_none_whatever_the_body(status: int) -> None:
    chain, row = REAL[0]
    relay = AnsweringRelay(status, b"\xff not json")
    assert relay._relay_round(RELAY, row["round"], _as_info(chain)) is None
