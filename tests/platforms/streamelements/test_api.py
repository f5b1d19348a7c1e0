"""The StreamElements points client against the loopback fake: balances, changes, the JWT kept
secret, bounded parsing, and no blind retry of a change that may have been applied."""

from __future__ import annotations

import logging

import pytest

from core.platforms.streamelements.api import (
    SeChannel,
    StreamElementsPoints,
    StreamElementsRefused,
    StreamElementsUncertain,
    StreamElementsUnreachable,
)
from tests.fakes.streamelements_server import (
    CHANNEL_ID,
    JWT,
    OWNER_ID,
    OWNER_LOGIN,
    FakeStreamElements,
)
from tests.support.waiting import no_sleep


@pytest.fixture
def se():
    with FakeStreamElements() as fake:
        yield fake


@pytest.fixture
async def client(se):
    async with StreamElementsPoints(base_url=se.base_url, sleep=no_sleep) as points:
        yield points


async def test_balance_add_and_take(se, client):
    se.points["ann"] = 500
    assert await client.balance(CHANNEL_ID, JWT, "Ann") == 500
    assert await client.balance(CHANNEL_ID, JWT, "nobody") is None
    assert await client.add(CHANNEL_ID, JWT, "ann", 250) == 750
    assert await client.add(CHANNEL_ID, JWT, "@ann", -100) == 650
    assert se.puts == [("ann", 250), ("ann", -100)]
    assert set(se.authorizations) == {f"Bearer {JWT}"}


async def test_a_wrong_jwt_is_refused_and_never_shown(se, client, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StreamElementsRefused) as refused:
        await client.balance(CHANNEL_ID, "wrong-secret-jwt", "ann")
    assert refused.value.status == 401
    assert "wrong-secret-jwt" not in str(refused.value)
    assert "wrong-secret-jwt" not in caplog.text


async def test_reads_retry_rate_limits_and_errors(se, client):
    se.points["ann"] = 1
    se.fail_next("429", "500")
    assert await client.balance(CHANNEL_ID, JWT, "ann") == 1


async def test_a_change_is_retried_only_when_it_was_not_applied(se, client):
    se.fail_next("429")
    assert await client.add(CHANNEL_ID, JWT, "ann", 10) == 10
    se.fail_next("500_after_apply")
    with pytest.raises(StreamElementsUncertain):
        await client.add(CHANNEL_ID, JWT, "ann", 10)
    se.fail_next("drop_after_apply")
    with pytest.raises(StreamElementsUncertain):
        await client.add(CHANNEL_ID, JWT, "ann", 10)
    assert se.puts == [("ann", 10), ("ann", 10), ("ann", 10)]  # never a fourth, blind retry


async def test_unreachable_is_said_plainly():
    async with StreamElementsPoints(base_url="http://127.0.0.1:9/kappa/v2", sleep=no_sleep) as c:
        with pytest.raises(StreamElementsUnreachable):
            await c.balance(CHANNEL_ID, JWT, "ann")


async def test_a_reply_that_is_not_a_balance_is_refused(se, client):
    se.fail_next("garbage")
    with pytest.raises(StreamElementsRefused, match="not JSON"):
        await client.balance(CHANNEL_ID, JWT, "ann")


@pytest.mark.parametrize(
    ("channel", "user", "amount"),
    [
        ("not-an-id", "ann", 1),
        (CHANNEL_ID, "ann/../../x", 1),
        (CHANNEL_ID, "", 1),
        (CHANNEL_ID, "ann", 0),
        (CHANNEL_ID, "ann", 10**13),
    ],
)
async def test_bad_arguments_never_reach_the_network(se, client, channel, user, amount):
    with pytest.raises(ValueError, match=r"StreamElements|points change"):
        await client.add(channel, JWT, user, amount)
    assert se.puts == []


async def test_the_channel_a_jwt_is_for(se, client):
    found = await client.channel_of(JWT)
    assert found == SeChannel(CHANNEL_ID, OWNER_LOGIN, "twitch", OWNER_ID)
    with pytest.raises(StreamElementsRefused, match="refused the JWT"):
        await client.channel_of("another.jwt.nobody-made")
    se.fail_next("garbage")
    with pytest.raises(StreamElementsRefused, match="not JSON"):
        await client.channel_of(JWT)
