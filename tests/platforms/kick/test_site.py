"""Kick's site API for a channel's internal ids (unofficial): every odd answer is None, never an
exception, and only real ids come back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.platforms.kick.site import InternalIds, look_up_internal_ids
from tests.fakes.kick_server import FakeKick

SLUG = "streamer"
PATH = f"/api/v2/channels/{SLUG}"


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick(user_id=7, username=SLUG) as fake:
        fake.add_channel(SLUG, 7, channel_id=70, chatroom_id=700)
        yield fake


async def test_the_ids_of_a_channel_are_read(kick: FakeKick) -> None:
    assert await look_up_internal_ids(kick.url, SLUG) == InternalIds(70, 700, "7")


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": Infinity, "chatroom": {"id": 1}}',
        b'{"id": 1e30, "chatroom": {"id": 1}}',
        b'{"id": 70, "chatroom": {"id": false}}',
        b'{"id": -5, "chatroom": {"id": 700}}',
        b'{"id": 70, "chatroom": null}',
        b'{"id": "70x", "chatroom": {"id": 700}}',
        b"[" * 100_000 + b"]" * 100_000,
        b"<html>Just a moment...</html>",
        b"[]",
    ],
    ids=range(9),
)
async def test_an_answer_without_two_real_ids_is_none(kick: FakeKick, body: bytes) -> None:
    kick.fail_next(PATH, 200, body=body)

    assert await look_up_internal_ids(kick.url, SLUG) is None


async def test_a_user_id_that_is_not_one_is_left_out(kick: FakeKick) -> None:
    kick.fail_next(PATH, 200, body=b'{"id": 70, "user_id": "x", "chatroom": {"id": 700}}')

    assert await look_up_internal_ids(kick.url, SLUG) == InternalIds(70, 700, None)
