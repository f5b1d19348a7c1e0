"""The bot fetches Kick's webhook key from Kick (a fake on 127.0.0.1) and stores it only when it
is a usable RSA key; a Kick that fails, hangs or sends garbage leaves the last good key."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from core.features.connections.kick.public_key import (
    ASKED_FETCH_GAP,
    FETCH_EVERY,
    RETRY_AFTER_FAILURE,
    KickPublicKeys,
)
from core.platforms.kick.api import KickApi
from core.platforms.kick.signing import generate_key_pair
from core.platforms.kick.webhook_keys import canonical_pem
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock
from tests.support.waiting import no_sleep

KEY_PATH = "/public/v1/public-key"
BUNDLED = "-----BEGIN PUBLIC KEY-----\nnot the fake's\n-----END PUBLIC KEY-----\n"


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:
        yield fake


@pytest.fixture
def keys(kick: FakeKick, engine) -> KickPublicKeys:
    return KickPublicKeys(
        engine,
        Clock(),
        make_api=lambda: KickApi(kick.url, sleep=no_sleep),
        bundled_pem=BUNDLED,
        # Generous: the fake answers at once, but a loaded machine (make test-loaded) once took
        # over 5 s for the first fetch. Only the hang test below needs the limit to run out.
        time_limit_seconds=60.0,
    )


def public_pem(key) -> str:  # type: ignore[no-untyped-def]
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def weak_rsa_key():  # type: ignore[no-untyped-def]
    """A key too weak to be Kick's, to be refused."""
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505


def kick_reply(pem: object) -> dict[str, object]:
    return {"data": {"public_key": pem}, "message": "OK"}


async def test_the_key_kick_serves_is_stored_with_when_it_was_fetched(kick, keys):
    assert keys.health_check().detail == "the bundled key; none fetched from Kick yet"

    assert await keys.refresh() is True

    stored = keys.stored()
    assert stored is not None
    assert stored.pem == canonical_pem(kick.private_key.public_key())
    assert stored.fetched_at == keys.clock()
    assert keys.stored_pem() == stored.pem
    assert kick.requests_to(KEY_PATH)[0].auth == "none"
    assert "Kick's key fetched at" in keys.health_check().detail


async def test_a_rotated_key_replaces_the_stored_one(kick, keys):
    await keys.refresh()
    first = keys.stored()
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)
    keys.clock.advance(hours=6)

    await keys.refresh()

    stored = keys.stored()
    assert stored.pem == new_pem
    assert stored.changed_at == keys.clock() > first.changed_at


async def test_the_same_key_again_moves_only_the_fetch_time(kick, keys):
    await keys.refresh()
    first = keys.stored()
    keys.clock.advance(hours=6)

    await keys.refresh()

    again = keys.stored()
    assert (again.pem, again.changed_at) == (first.pem, first.changed_at)
    assert again.fetched_at == keys.clock()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>Just a moment...</html>", id="not-json"),
        pytest.param(
            kick_reply("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"), id="bad-pem"
        ),
        pytest.param(kick_reply(None), id="no-key"),
        pytest.param(kick_reply(["a list"]), id="not-text"),
        pytest.param(kick_reply("x" * 20_000), id="oversized-key"),
        pytest.param(b'{"data": {"public_key": "' + b"A" * 200_000 + b'"}}', id="oversized-body"),
        pytest.param(kick_reply(public_pem(ec.generate_private_key(ec.SECP256R1()))), id="not-rsa"),
        pytest.param(
            kick_reply(public_pem(weak_rsa_key())),
            id="rsa-1024",
        ),
    ],
)
async def test_an_unusable_answer_keeps_the_last_good_key(kick, keys, body, caplog):
    await keys.refresh()
    good = keys.stored()
    kick.fail_next(KEY_PATH, 200, body=body, times=2)
    keys.clock.advance(hours=6)

    with caplog.at_level(logging.DEBUG, logger="core.features.connections.kick.public_key"):
        assert await keys.refresh() is False
        assert await keys.refresh() is False

    assert keys.stored() == good
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1  # once, however many times it fails
    assert "the last good key stays in use" in warnings[0].getMessage()
    assert await keys.refresh() is True  # Kick answers well again


@pytest.mark.parametrize("status", [500, 503, 429, 404])
async def test_kick_down_fails_softly(kick, keys, status):
    kick.fail_next(KEY_PATH, status, times=10)

    assert await keys.refresh() is False

    assert keys.stored() is None
    assert keys.health_check().ok


async def test_kick_unreachable_fails_softly(engine):
    with FakeKick() as gone:
        url = gone.url
    keys = KickPublicKeys(
        engine,
        Clock(),
        make_api=lambda: KickApi(url, sleep=no_sleep),
        bundled_pem=BUNDLED,
    )

    assert await keys.refresh() is False
    assert keys.is_failing


async def test_a_kick_that_hangs_is_given_up_on_and_the_key_kept(kick, engine):
    keys = KickPublicKeys(
        engine,
        Clock(),
        make_api=lambda: KickApi(kick.url, sleep=no_sleep),
        bundled_pem=BUNDLED,
        time_limit_seconds=0.2,  # the hang below lasts until released, however slow the machine
    )
    await keys.refresh()
    good = keys.stored()
    hang = kick.hang_next(KEY_PATH, 3600)
    try:
        assert await keys.refresh() is False
    finally:
        hang.release()

    assert keys.stored() == good


async def test_an_operators_key_is_never_fetched(kick, engine):
    keys = KickPublicKeys(engine, Clock(), make_api=None, bundled_pem=BUNDLED)

    assert await keys.refresh() is False

    assert kick.requests_to(KEY_PATH) == []
    assert keys.stored_pem() is None
    assert "KICK_WEBHOOK_PUBLIC_KEY" in keys.health_check().detail


async def fetches_by_the_job(kick: FakeKick, keys: KickPublicKeys, *, minutes: int) -> list[int]:
    """The minutes (from now) at which the timed job, run every minute, fetched from Kick."""
    fetched = []
    for minute in range(minutes):
        before = len(kick.requests_to(KEY_PATH))
        await keys.refresh_if_due()
        if len(kick.requests_to(KEY_PATH)) > before:
            fetched.append(minute)
        keys.clock.advance(minutes=1)
    return fetched


async def test_the_job_fetches_at_start_then_every_six_hours(kick, keys):
    every = int(FETCH_EVERY.total_seconds() // 60)

    assert await fetches_by_the_job(kick, keys, minutes=2 * every + 1) == [0, every, 2 * every]


async def test_a_restarted_bot_does_not_fetch_a_key_fetched_lately(kick, keys, engine):
    await keys.refresh()
    restarted = KickPublicKeys(
        engine, keys.clock, make_api=keys.make_api, bundled_pem=BUNDLED, time_limit_seconds=60.0
    )
    keys.clock.advance(hours=1)

    assert await restarted.refresh_if_due() is False
    assert len(kick.requests_to(KEY_PATH)) == 1


async def test_a_web_process_asking_for_the_key_brings_a_fetch_within_minutes(kick, keys):
    """A delivery no key verified (Kick may have rotated its key): the job fetches at its next
    run, not hours later; more asking (a flood of forgeries) fetches at most every few minutes."""
    await keys.refresh()
    keys.clock.advance(minutes=10)
    new_private, new_pem = generate_key_pair()
    kick.rotate_key(new_private, new_pem)

    keys.ask_soon()
    assert await keys.refresh_if_due() is True
    assert keys.stored().pem == new_pem

    gap = int(ASKED_FETCH_GAP.total_seconds() // 60)
    fetched = []
    for minute in range(1, 3 * gap + 1):
        keys.clock.advance(minutes=1)
        keys.ask_soon()
        before = len(kick.requests_to(KEY_PATH))
        await keys.refresh_if_due()
        if len(kick.requests_to(KEY_PATH)) > before:
            fetched.append(minute)
    assert fetched == [gap, 2 * gap, 3 * gap]


async def test_a_failing_kick_is_asked_again_only_after_the_retry_wait(kick, keys):
    await keys.refresh()
    keys.clock.advance(hours=6)
    kick.fail_next(KEY_PATH, 503, times=1000)
    retry = int(RETRY_AFTER_FAILURE.total_seconds() // 60)

    fetched = await fetches_by_the_job(kick, keys, minutes=2 * retry + 1)

    assert fetched == [0, retry, 2 * retry]
    assert keys.stored().fetched_at < keys.clock() - FETCH_EVERY  # the last good key stays
