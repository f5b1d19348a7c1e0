"""Several drand relays, asked in order: the first good answer wins; a relay that answers a bad
signature, other randomness or a lie about a pinned chain is skipped and logged."""

from __future__ import annotations

import gzip
import json
import logging
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.features.raffle.beacons.chains import DEFAULT, QUICKNET
from core.features.raffle.beacons.relays import HttpBeacon, pinned_info
from core.features.raffle.ports import BeaconInfo, BeaconUnavailable
from tests.fakes.beacon_server import FakeBeacon, fake_randomness, fake_signature
from tests.support.clock import Clock

ROUNDS = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "raffle" / "drand-rounds.json").read_text()
)
DOWN = "http://127.0.0.1:9"  # the discard port: nothing answers


@pytest.fixture
def clock():
    return Clock(datetime(2026, 1, 1, 0, 1, tzinfo=UTC))


def test_a_pinned_chain_needs_no_info_from_any_relay(clock):
    with FakeBeacon(clock=clock) as relay:
        beacon = HttpBeacon([relay.url], chain="quicknet")
        assert beacon.info() == pinned_info(QUICKNET)
        assert HttpBeacon([relay.url], chain="default").info() == pinned_info(DEFAULT)
        assert relay.requests == []


def test_the_first_good_relay_answers_after_one_down_and_one_with_a_bad_signature(clock, caplog):
    with FakeBeacon(clock=clock) as liar, FakeBeacon(clock=clock) as honest:
        liar.bad_signature = True
        beacon = HttpBeacon([DOWN, liar.url, honest.url], timeout=2)
        chain = beacon.info()  # the down relay is skipped for the info too
        caplog.set_level(logging.WARNING, "core.features.raffle.beacons.relays")
        fetched = beacon.fetch_round(2, chain)
        assert (fetched.signature, fetched.randomness) == (fake_signature(2), fake_randomness(2))
        assert liar.requests[-1] == f"/{chain.chain_hash}/public/2"
        assert honest.requests[-1] == f"/{chain.chain_hash}/public/2"
        skipped = [r.getMessage() for r in caplog.records]
        assert any(DOWN in m and "did not answer" in m for m in skipped)
        assert any(liar.url in m and "bad signature for round 2" in m for m in skipped)


def test_only_relays_with_bad_answers_make_the_round_unavailable(clock):
    with FakeBeacon(clock=clock) as liar:
        liar.bad_signature = True
        beacon = HttpBeacon([liar.url])
        chain = beacon.info()
        with pytest.raises(BeaconUnavailable, match=r"no relay gave round 2.*bad signature"):
            beacon.fetch_round(2, chain)


def test_a_round_not_out_yet_on_one_relay_waits_even_if_another_lies(clock):
    with FakeBeacon(clock=clock) as liar, FakeBeacon(clock=clock) as honest:
        liar.bad_signature = True
        beacon = HttpBeacon([liar.url, honest.url])
        assert beacon.fetch_round(99, beacon.info()) is None


def test_a_relay_sending_its_answer_slowly_is_skipped_once_its_time_is_up(clock, caplog):
    """Each read had its own time limit and the whole answer none: a relay sending a byte every
    few seconds held the draw (and `!raffledraw`, and every guild's waiting draws) for hours."""
    seconds = [0.0]
    with FakeBeacon(clock=clock) as slow, FakeBeacon(clock=clock) as honest:
        slow.between_halves = lambda: seconds.__setitem__(0, seconds[0] + 11)
        beacon = HttpBeacon([slow.url, honest.url], timeout=10, clock=lambda: seconds[0])
        chain = beacon.info()
        caplog.set_level(logging.WARNING, "core.features.raffle.beacons.relays")
        fetched = beacon.fetch_round(2, chain)
        assert fetched.signature == fake_signature(2)
        assert honest.requests[-1] == f"/{chain.chain_hash}/public/2"
        skipped = [r.getMessage() for r in caplog.records]
        assert any(slow.url in m and "took over 10 s to answer" in m for m in skipped)


def test_a_relay_whose_randomness_is_not_the_hash_of_its_signature_is_skipped(clock):
    with FakeBeacon(clock=clock) as relay:
        beacon = HttpBeacon([relay.url])
        chain = beacon.info()
        relay.round = lambda n: {  # type: ignore[method-assign]
            "round": n,
            "randomness": "00" * 32,
            "signature": fake_signature(n),
        }
        with pytest.raises(BeaconUnavailable, match="not SHA-256 of its signature"):
            beacon.fetch_round(2, chain)


def test_a_real_round_of_each_pinned_chain_comes_through_a_relay():
    for name, chain in (("quicknet", QUICKNET), ("default", DEFAULT)):
        row = ROUNDS[name]["rounds"][-1]
        out = chain.genesis_time + (row["round"] - 1) * chain.period_seconds
        clock = Clock(datetime.fromtimestamp(out, UTC) + timedelta(seconds=1))
        with FakeBeacon(clock=clock, chain=chain, published={row["round"]: row}) as relay:
            beacon = HttpBeacon(relay.url, chain=name)
            fetched = beacon.fetch_round(row["round"], beacon.info())
            assert fetched.signature == row["signature"]
            assert fetched.previous_signature == row.get("previous_signature")
            relay.bad_signature = True
            with pytest.raises(BeaconUnavailable, match="bad signature"):
                beacon.fetch_round(row["round"], beacon.info())


def test_a_relay_lying_about_a_pinned_chains_info_is_skipped(clock):
    with FakeBeacon(clock=clock, chain=QUICKNET, published={}) as relay:
        relay.info = lambda: {  # type: ignore[method-assign]
            "public_key": DEFAULT.public_key,
            "period": 3,
            "genesis_time": QUICKNET.genesis_time,
            "hash": QUICKNET.hash,
            "schemeID": QUICKNET.scheme,
        }
        with pytest.raises(BeaconUnavailable, match="differs from the pinned one"):
            HttpBeacon(relay.url).info()  # no chain named: the relay's root chain


def test_a_relay_serving_another_chain_than_the_one_asked_for_is_skipped(clock):
    with FakeBeacon(clock=clock) as relay, pytest.raises(BeaconUnavailable, match="HTTP 404"):
        HttpBeacon(relay.url, chain="ab" * 32).info()


def test_an_unpinned_chain_of_an_unsupported_scheme_is_refused(clock):
    with FakeBeacon(clock=clock) as relay:
        relay.info = lambda: {**FakeBeacon.info(relay), "schemeID": "bls-unchained-on-g1"}  # type: ignore[method-assign]
        with pytest.raises(
            BeaconUnavailable, match="scheme 'bls-unchained-on-g1' is not supported"
        ):
            HttpBeacon(relay.url).info()


def test_a_chain_without_hash_or_key_is_never_fetched_from_relays(clock):
    with FakeBeacon(clock=clock) as relay:
        with pytest.raises(BeaconUnavailable, match="names no chain whose signatures"):
            HttpBeacon(relay.url).fetch_round(2, BeaconInfo(relay.genesis_time, 30))
        assert relay.requests == []


ODD_INFO = [
    b'{"genesis_time": Infinity, "period": 3, "hash": "' + b"ab" * 32 + b'"}',
    b'{"genesis_time": 1e30, "period": 3, "hash": "' + b"ab" * 32 + b'"}',
    b'{"genesis_time": 1700000000, "period": 0, "hash": "' + b"ab" * 32 + b'"}',
    b'{"genesis_time": 1700000000, "period": NaN, "hash": "' + b"ab" * 32 + b'"}',
    b"[" * 5000 + b"]" * 5000,
    b'{"genesis_time": 1' + b"0" * 400 + b', "period": 3}',
]


@pytest.mark.parametrize("body", ODD_INFO, ids=range(len(ODD_INFO)))
def test_a_relay_answering_odd_json_is_skipped_and_the_next_one_asked(body, clock, caplog):
    """Infinity, NaN, numbers no clock holds and JSON nested past what Python reads are a relay
    to skip, like any other bad answer: the draw asks the next relay, never crashes."""
    caplog.set_level(logging.WARNING, "core.features.raffle.beacons.relays")
    with FakeBeacon(clock=clock) as odd, FakeBeacon(clock=clock) as honest:
        odd.odd_body = body
        beacon = HttpBeacon([odd.url, honest.url], timeout=2)

        chain = beacon.info()
        fetched = beacon.fetch_round(2, chain)

    assert chain.chain_hash == honest.chain_hash
    assert fetched.signature == fake_signature(2)
    assert any(odd.url in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("says_length", [True, False], ids=["with-length", "until-close"])
def test_a_relay_answering_megabytes_is_skipped_unread(says_length, clock, caplog):
    """A round is under 1 KB and an /info a few: a relay answering 4 MiB (a good answer padded
    with spaces, said in Content-Length or not) is not read into memory but skipped, and the
    next relay asked."""
    caplog.set_level(logging.WARNING, "core.features.raffle.beacons.relays")
    with FakeBeacon(clock=clock) as huge, FakeBeacon(clock=clock) as honest:
        beacon = HttpBeacon([huge.url, honest.url], timeout=5)
        huge.says_length = says_length
        huge.odd_body = json.dumps(huge.info()).encode() + b" " * (4 << 20)
        chain = beacon.info()
        huge.odd_body = json.dumps(huge.round(2)).encode() + b" " * (4 << 20)
        fetched = beacon.fetch_round(2, chain)
        assert huge.requests[-1] == f"/{chain.chain_hash}/public/2"
        with pytest.raises(BeaconUnavailable, match=r"its answer is over 64 KiB"):
            HttpBeacon(huge.url).fetch_round(2, chain)

    assert fetched.signature == fake_signature(2)
    skipped = [r.getMessage() for r in caplog.records if huge.url in r.getMessage()]
    assert len(skipped) == 3
    assert all("its answer is over 64 KiB" in message for message in skipped)


def test_a_relay_answering_a_gzip_bomb_is_skipped_without_inflating_it(clock, caplog):
    """A good round padded with 10 MB of spaces, gzipped to a few KB: the relay is skipped as
    over 64 KiB, and no more than about that is ever inflated (httpx's own decoder would inflate
    the whole network chunk, all 10 MB, before any cap is looked at)."""
    caplog.set_level(logging.WARNING, "core.features.raffle.beacons.relays")
    with FakeBeacon(clock=clock) as bomb, FakeBeacon(clock=clock) as honest:
        chain = HttpBeacon(honest.url).info()
        padded = json.dumps(bomb.round(2)).encode() + b" " * (10 << 20)
        bomb.odd_body = gzip.compress(padded, compresslevel=9)
        bomb.odd_headers = {"Content-Encoding": "gzip"}
        assert len(bomb.odd_body) < 64 * 1024
        tracemalloc.start()
        try:
            with pytest.raises(BeaconUnavailable, match=r"its answer is over 64 KiB"):
                HttpBeacon(bomb.url, timeout=5).fetch_round(2, chain)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        fetched = HttpBeacon([bomb.url, honest.url], timeout=5).fetch_round(2, chain)

    assert peak < 1 << 20, f"{peak:,} bytes held while reading a 10 MB gzip bomb"
    assert fetched.signature == fake_signature(2)
    assert bomb.accept_encodings[-1] == "gzip"


def test_a_relay_gzipping_its_answer_is_read_and_one_in_another_encoding_skipped(clock):
    """gzip is the one compression asked for: a round gzipped comes through; one compressed
    otherwise (or gzip that is not) is a relay to skip."""
    with FakeBeacon(clock=clock) as relay:
        beacon = HttpBeacon(relay.url, timeout=5)
        chain = beacon.info()
        relay.odd_body = gzip.compress(json.dumps(relay.round(2)).encode())
        relay.odd_headers = {"Content-Encoding": "gzip"}
        assert beacon.fetch_round(2, chain).signature == fake_signature(2)

        relay.odd_headers = {"Content-Encoding": "br"}
        with pytest.raises(BeaconUnavailable, match=r"compressed as 'br'"):
            beacon.fetch_round(2, chain)
        relay.odd_body = b"not gzip at all"
        relay.odd_headers = {"Content-Encoding": "gzip"}
        with pytest.raises(BeaconUnavailable, match=r"its answer is broken gzip"):
            beacon.fetch_round(2, chain)
