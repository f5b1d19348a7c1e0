"""The keys a Kick delivery may be signed with: the one held from the start (bundled, or the
operator's), and Kick's as fetched, looked up only when no key held verifies a delivery. And the
check of what Kick serves as its key, fuzzed with Hypothesis."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from core.platforms.kick.signing import generate_key_pair, signed_headers
from core.platforms.kick.webhook import read_headers
from core.platforms.kick.webhook_keys import (
    MAX_KEY_BITS,
    MIN_KEY_BITS,
    WebhookKeys,
    checked_public_key,
)
from tests.conftest import FIXTURES
from tests.support.clock import Clock

PUBLISHED = (FIXTURES / "kick" / "kick-public-key.pem").read_text()
BODY = b'{"message_id": "m"}'


def delivery(private_key):  # type: ignore[no-untyped-def]
    return read_headers(signed_headers(private_key, BODY, event_type="chat.message.sent")), BODY


@pytest.fixture(scope="module")
def pairs():  # type: ignore[no-untyped-def]
    """Three throwaway key pairs: the one held from the start, and two Kick rotates to."""
    return [generate_key_pair() for _ in range(3)]


def test_kicks_published_key_is_taken_as_it_is_served():
    pem, key = checked_public_key(PUBLISHED)
    assert key.key_size == 2048
    assert pem == PUBLISHED.strip() + "\n"
    assert checked_public_key(PUBLISHED.strip().replace("\n", "\\n"))[0] == pem


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no key"),
        ("garbage", "not a PEM public key"),
        (PUBLISHED.replace("MIIB", "MIIC"), "not a PEM public key"),
        (PUBLISHED + "x" * 9000, "over 8,192 characters"),
        (
            ed25519.Ed25519PrivateKey.generate()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
            "not an RSA public key",
        ),
    ],
    ids=["empty", "garbage", "broken", "oversized", "ed25519"],
)
def test_what_is_no_rsa_key_of_a_sane_size_is_refused(text, reason):
    with pytest.raises(ValueError, match=reason):
        checked_public_key(text)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.text(max_size=3000),
        st.builds(
            lambda at, junk: PUBLISHED[:at] + junk + PUBLISHED[at + len(junk) :],
            st.integers(min_value=0, max_value=len(PUBLISHED)),
            st.text(min_size=1, max_size=8),
        ),
    )
)
def test_any_text_is_a_checked_key_or_a_value_error(text):
    try:
        pem, key = checked_public_key(text)
    except ValueError:
        return  # refused, with a reason the job logs
    assert MIN_KEY_BITS <= key.key_size <= MAX_KEY_BITS
    assert checked_public_key(pem)[0] == pem  # canonical: stored and compared as it is


def test_the_held_key_and_every_recent_fetched_key_are_accepted(pairs):
    (held_private, _), (first_private, first_pem), (second_private, second_pem) = pairs
    clock = Clock()
    stored = [first_pem]
    keys = WebhookKeys([held_private.public_key()], look_up=lambda: stored[-1], clock=clock)

    assert keys.verify(*delivery(held_private))
    assert keys.verify(*delivery(first_private))  # looked up once, then held
    stored.append(second_pem)  # Kick rotates again
    clock.advance(61)
    assert keys.verify(*delivery(second_private))
    # The bundled key and the key before stay accepted: deliveries signed before a rotation
    # may still be on their way.
    assert keys.verify(*delivery(held_private))
    assert keys.verify(*delivery(first_private))


def test_a_lookup_that_fails_refuses_without_raising(pairs):
    (held_private, _), (other_private, _), _ = pairs

    def broken() -> str:
        raise ConnectionError("the database is down")

    keys = WebhookKeys([held_private.public_key()], look_up=broken, clock=Clock())

    assert not keys.verify(*delivery(other_private))
    assert keys.verify(*delivery(held_private))


def test_an_unusable_stored_key_is_ignored(pairs):
    (held_private, _), (other_private, _), _ = pairs
    keys = WebhookKeys([held_private.public_key()], look_up=lambda: "garbage", clock=Clock())

    assert not keys.verify(*delivery(other_private))


def test_without_a_lookup_only_the_held_key_verifies(pairs):
    (held_private, _), (other_private, _), _ = pairs
    keys = WebhookKeys([held_private.public_key()], clock=Clock())

    assert not keys.fetches
    assert keys.verify(*delivery(held_private))
    assert not keys.verify(*delivery(other_private))


def test_a_clock_set_back_does_not_hold_the_lookup_off(pairs):
    (held_private, _), (new_private, new_pem), _ = pairs
    clock = Clock()
    stored: list[str | None] = [None]
    keys = WebhookKeys([held_private.public_key()], look_up=lambda: stored[-1], clock=clock)

    assert not keys.verify(*delivery(new_private))
    stored.append(new_pem)
    clock.advance(-3600)

    assert keys.verify(*delivery(new_private))
