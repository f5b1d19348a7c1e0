"""Fuzz: the parts of a raffle proof that name its drand beacon, read by ``raffle verify`` and the
proof page (core/features/raffle/beacons/: the chain, each draw's round signature, the summary
sentence). Every field is anything JSON can hold, and more than Python can write as text: None,
bools, integers of any size (over 4,300 digits ``str()`` raises), NaN and infinity, text that is
not hexadecimal, of odd length, in other scripts' digits ('٣'), 100,000 characters long, lists
nested thousands deep (``str()`` recurses).

Properties: :func:`message_of`, :func:`check_signature` and :func:`randomness_of` answer or raise
:class:`SignatureRefused`, never another exception, and no hostile key or signature verifies;
:func:`chain_of_proof`, :func:`check_draw` and :func:`summary` never raise, and what they write
(problems, notes, the sentence) stays short whatever the proof holds. A real published round
still verifies, and one character of its signature changed is refused.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.features.raffle.beacons import verification as beacon_verification
from core.features.raffle.beacons.chains import CHAINED, DEFAULT, QUICKNET, SCHEMES, UNCHAINED_G1
from core.features.raffle.beacons.signatures import (
    SignatureRefused,
    check_signature,
    message_of,
    randomness_of,
)
from tests.conftest import FIXTURES
from tests.fuzz.conftest import EXAMPLES, record
from tests.fuzz.strategies import NASTY, json_values

ROUNDS = json.loads((FIXTURES / "raffle" / "drand-rounds.json").read_text("utf-8"))
CHAINS = {"quicknet": QUICKNET, "default": DEFAULT}
REAL = [(CHAINS[name], row) for name in CHAINS for row in ROUNDS[name]["rounds"]]
LONGEST = 500  # characters a problem, a note or a refusal may have, whatever the proof holds


class _Nested(list):  # type: ignore[type-arg]
    """A list nested ``depth`` deep: ``str()`` recurses through it and raises past about 1,000;
    hypothesis prints it as the call that made it (its printer would recurse too)."""

    def __init__(self, depth: int) -> None:
        value: list[Any] = []
        for _ in range(depth - 1):
            value = [value]
        super().__init__([value])
        self.depth = depth

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"_Nested({self.depth})")


def _changed(hex_text: str, index: int, char: str) -> str:
    return hex_text[:index] + char + hex_text[index + 1 :]


# Hexadecimal of every length around a point's (48 and 96 bytes), some with the compressed
# flag set so that decoding gets past the first byte; upper case too.
hex_texts = st.one_of(
    st.binary(max_size=100).map(bytes.hex),
    st.binary(min_size=48, max_size=48).map(lambda b: bytes([b[0] | 0x80]) + b[1:]).map(bytes.hex),
    st.binary(min_size=96, max_size=96).map(lambda b: bytes([b[0] | 0x80]) + b[1:]).map(bytes.hex),
    st.binary(min_size=1, max_size=60).map(lambda b: b.hex()[1:]),  # odd length
    st.binary(max_size=60).map(lambda b: b.hex().upper()),
)
# A real signature or key with one character changed (never only its case: that is the same).
real_hex = st.sampled_from(
    [row["signature"] for _, row in REAL]
    + [row["previous_signature"] for _, row in REAL if row.get("previous_signature")]
    + [QUICKNET.public_key, DEFAULT.public_key]
)
one_changed = (
    st.tuples(real_hex, st.integers(min_value=0), st.characters())
    .filter(lambda t: t[2].lower() != t[0][t[1] % len(t[0])])
    .map(lambda t: _changed(t[0], t[1] % len(t[0]), t[2]))
)
hostile = st.one_of(
    json_values,
    hex_texts,
    one_changed,
    st.sampled_from(
        [*NASTY, "٣٣", "\u0663" * 96, "\uff10" * 96, "ab" * 48 + "\n", " " + "ab" * 48]
    ),
    st.floats(),  # NaN and infinity too
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**80),
    st.integers(min_value=4300, max_value=6000).map(lambda n: 10**n),  # str() raises
    st.integers(min_value=1, max_value=100_000).map(lambda n: "x" * n),
    st.integers(min_value=1, max_value=100_000).map(lambda n: "ab" * n + "a"),
    st.integers(min_value=1, max_value=5000).map(_Nested),  # str() recurses
)
good_rounds = st.one_of(
    st.sampled_from([row["round"] for _, row in REAL]), st.integers(0, 2**64 - 1)
)
rounds = st.one_of(
    good_rounds,
    st.integers(min_value=-(2**64), max_value=2**65),
    st.sampled_from([0, 2**64 - 1, 2**64, -1, True, False, 10**4000]),
    hostile,
)


def mostly(
    good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any] = hostile
) -> st.SearchStrategy[Any]:
    """A field's value: a good one three times in four, so that later checks are reached."""
    return st.integers(0, 3).flatmap(lambda pick: good if pick else bad)


def _refused(exc: SignatureRefused) -> None:
    said = str(exc)
    assert type(exc) is SignatureRefused
    assert 0 < len(said) < LONGEST
    assert "\n" not in said


def _assert_problems(problems: list[str], before: int) -> None:
    assert problems[:before] == ["an earlier problem"] * before
    for problem in problems[before:]:
        assert isinstance(problem, str)
        assert 0 < len(problem) < LONGEST


@given(
    scheme=mostly(st.sampled_from(SCHEMES)),
    beacon_round=mostly(good_rounds, rounds),
    previous=mostly(real_hex),
)
@example(scheme=UNCHAINED_G1, beacon_round=-1, previous=None)
@example(scheme=UNCHAINED_G1, beacon_round=2**64, previous=None)
@example(scheme=UNCHAINED_G1, beacon_round=1.0, previous=None)
@example(scheme="x" * 100_000, beacon_round=1, previous=None)
@example(scheme=CHAINED, beacon_round=1, previous=10**5000)
@example(scheme=CHAINED, beacon_round=1, previous=_Nested(5000))
def test_any_round_scheme_and_previous_signature_give_the_signed_bytes_or_are_refused(
    scheme: Any, beacon_round: Any, previous: Any
) -> None:
    try:
        message = message_of(scheme, beacon_round, previous)
    except SignatureRefused as exc:
        _refused(exc)
        record("drand-message", "refused")
        return
    assert scheme in SCHEMES
    assert type(beacon_round) is int
    assert 0 <= beacon_round < 2**64
    assert len(message) == 32
    record("drand-message", "message")


@given(signature=hostile)
@example(signature="")
@example(signature="AB" * 48)
@example(signature=10**5000)
def test_the_randomness_of_any_signature_is_sha256_of_its_bytes_or_refused(signature: Any) -> None:
    try:
        randomness = randomness_of(signature)
    except SignatureRefused as exc:
        _refused(exc)
        record("drand-randomness", "refused")
        return
    assert randomness == hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    record("drand-randomness", "randomness")


@st.composite
def signature_checks(draw: st.DrawFn) -> dict[str, Any]:
    """A real round's check with its key, its signature or both hostile: the pairing is never
    reached, as no hostile value decodes to a point of the prime-order subgroup."""
    chain, row = draw(st.sampled_from(REAL))
    spoiled = draw(st.sampled_from(["public_key_hex", "signature_hex", "both"]))
    values = {
        "scheme": draw(mostly(st.just(chain.scheme))),
        "public_key_hex": chain.public_key,
        "beacon_round": draw(mostly(st.just(row["round"]))),
        "signature_hex": row["signature"],
        "previous_signature_hex": draw(mostly(st.just(row.get("previous_signature")))),
    }
    for name in ("public_key_hex", "signature_hex"):
        if spoiled in (name, "both"):
            values[name] = draw(hostile)
    return values


@given(signature_checks())
@example(
    {
        "scheme": QUICKNET.scheme,
        "public_key_hex": None,
        "beacon_round": 1,
        "signature_hex": ROUNDS["quicknet"]["rounds"][0]["signature"],
        "previous_signature_hex": None,
    }
)
@example(
    {
        "scheme": QUICKNET.scheme,
        "public_key_hex": QUICKNET.public_key,
        "beacon_round": 1,
        "signature_hex": ["ab"],
        "previous_signature_hex": None,
    }
)
def test_no_hostile_key_or_signature_verifies_and_each_is_refused_in_words(
    values: dict[str, Any],
) -> None:
    try:
        check_signature(**values)
    except SignatureRefused as exc:
        _refused(exc)
        record("drand-check-signature", "refused")
        return
    raise AssertionError(f"a hostile check verified: {values!r:.300}")


@settings(max_examples=min(EXAMPLES, 10))
@given(real=st.sampled_from(REAL), index=st.integers(min_value=0), char=st.characters())
@example(real=REAL[0], index=0, char="0")
@example(real=REAL[-1], index=50, char="٣")
def test_a_real_round_verifies_and_one_character_of_its_signature_changed_is_refused(
    real: tuple[Any, dict[str, Any]], index: int, char: str
) -> None:
    chain, row = real
    signature, previous = row["signature"], row.get("previous_signature")
    check_signature(chain.scheme, chain.public_key, row["round"], signature, previous)
    index %= len(signature)
    if char.lower() == signature[index]:
        char = "0" if signature[index] != "0" else "1"
    try:
        check_signature(
            chain.scheme, chain.public_key, row["round"], _changed(signature, index, char), previous
        )
    except SignatureRefused as exc:
        _refused(exc)
        record("drand-one-character", "refused")
        return
    raise AssertionError(f"round {row['round']} verified with character {index} as {char!r}")


beacon_fields = st.fixed_dictionaries(
    {
        "chain_hash": mostly(
            st.sampled_from([QUICKNET.hash, DEFAULT.hash, QUICKNET.hash.upper(), "ab" * 32])
        ),
        "scheme": mostly(st.sampled_from(SCHEMES)),
        "public_key": mostly(st.sampled_from([QUICKNET.public_key, DEFAULT.public_key])),
    },
    optional={
        "genesis_time": mostly(st.sampled_from([QUICKNET.genesis_time, DEFAULT.genesis_time])),
        "period_seconds": mostly(st.sampled_from([3, 30])),
        "round": rounds,
        "url": hostile,
    },
)


@given(beacon=beacon_fields, before=st.integers(0, 2))
@example(beacon={"chain_hash": 10**5000}, before=0)
@example(beacon={"chain_hash": "ab" * 32, "scheme": "x" * 100_000, "public_key": "k"}, before=0)
@example(beacon={"chain_hash": "ab" * 32, "scheme": _Nested(5000), "public_key": "k"}, before=0)
@example(beacon={"chain_hash": QUICKNET.hash, "genesis_time": "x"}, before=1)
@example(beacon={"chain_hash": QUICKNET.hash, "genesis_time": float("inf")}, before=0)
@example(beacon={"chain_hash": QUICKNET.hash, "period_seconds": [3]}, before=0)
@example(beacon={"chain_hash": QUICKNET.hash, "public_key": 10**5000}, before=0)
@example(beacon={"chain_hash": "ab" * 32, "public_key": "k", "genesis_time": "9" * 5000}, before=0)
def test_any_beacon_names_its_chain_or_says_what_is_wrong_in_short_words(
    beacon: dict[str, Any], before: int
) -> None:
    problems = ["an earlier problem"] * before
    chain = beacon_verification.chain_of_proof(beacon, problems)
    _assert_problems(problems, before)
    sentence = beacon_verification.summary({"beacon": beacon})
    assert isinstance(sentence, str)
    assert 0 < len(sentence) < LONGEST
    if chain is None:
        record("drand-chain", "problems" if len(problems) > before else "no chain")
        return
    assert isinstance(chain.chain_hash, str)
    assert chain.chain_hash
    if chain.pinned is not None:
        assert (chain.scheme, chain.public_key) == (chain.pinned.scheme, chain.pinned.public_key)
        record("drand-chain", "pinned with problems" if len(problems) > before else "pinned")
        return
    assert len(problems) == before
    assert chain.scheme in SCHEMES
    assert chain.public_key
    for timing in (chain.genesis_time, chain.period_seconds):
        assert timing is None or type(timing) is int
    record("drand-chain", "unpinned")


@st.composite
def draws(draw: st.DrawFn) -> tuple[dict[str, Any], beacon_verification.BeaconChain | None]:
    """A draw of a real round whose signature is hostile (the pairing is never reached), under
    its pinned chain, an unpinned copy of it, or no chain."""
    chain, row = draw(st.sampled_from(REAL))
    under = draw(st.sampled_from(["pinned", "unpinned", "none"]))
    named = beacon_verification.chain_of_proof({"chain_hash": chain.hash}, [])
    assert named is not None
    if under == "unpinned":
        named = beacon_verification.BeaconChain(
            "ab" * 32, chain.scheme, chain.public_key, 0, 3, None
        )
    fields = {
        # A round int() cannot read is verify's refusal: it reads the round itself first.
        "beacon_round": draw(
            st.one_of(
                st.just(row["round"]),
                st.integers(),
                st.sampled_from([-1, 2**64, 10**4000, True, "٣", " 7 ", 1e308, 2.5]),
            )
        ),
        "beacon_signature": draw(hostile),
        "beacon_previous_signature": draw(mostly(st.just(row.get("previous_signature")))),
        "beacon_randomness": draw(mostly(st.just(row["randomness"]))),
    }
    # verify reads the round and the randomness before; the signatures may be absent.
    absent = draw(st.sets(st.sampled_from(["beacon_signature", "beacon_previous_signature"])))
    made = {name: value for name, value in fields.items() if name not in absent}
    return made, (None if under == "none" else named)


@given(draws())
@example(({"beacon_round": -1, "beacon_signature": "ab", "beacon_randomness": "ab"}, None))
def test_any_draw_beacon_is_noted_or_a_short_problem(
    case: tuple[dict[str, Any], beacon_verification.BeaconChain | None],
) -> None:
    draw, chain = case
    problems = ["an earlier problem"]
    note = beacon_verification.check_draw(draw, "draw 1", chain, problems)
    _assert_problems(problems, 1)
    if note is not None:
        assert len(problems) == 1
        assert len(note) < LONGEST
    record("drand-draw", "noted" if note else "problem" if len(problems) > 1 else "nothing")


def test_a_real_draw_is_noted_and_the_same_draw_with_a_round_out_of_range_is_a_problem() -> None:
    chain, row = REAL[0]
    named = beacon_verification.chain_of_proof({"chain_hash": chain.hash}, [])
    draw = {
        "beacon_round": row["round"],
        "beacon_signature": row["signature"],
        "beacon_previous_signature": row.get("previous_signature"),
        "beacon_randomness": row["randomness"],
    }
    problems: list[str] = []
    note = beacon_verification.check_draw(draw, "draw 1", named, problems)
    assert problems == []
    assert note is not None
    assert "pinned public key" in note
    for beacon_round in (-1, 2**64, 10**4000):
        problems = []
        assert (
            beacon_verification.check_draw(
                {**draw, "beacon_round": beacon_round}, "draw 1", named, problems
            )
            is None
        )
        assert len(problems) == 1
        assert "does not verify" in problems[0]
        assert len(problems[0]) < LONGEST
