"""A VIP change Twitch rate-limits after the Helix client's own waiting: a short wait (Twitch's
10 s window) is waited out and the change made; an absurd wait, or 429 after 429, is not, so a
moderator's ``!vip add`` answers "try again" instead of hanging for as long as Twitch says
(a billion seconds) or for ever."""

from __future__ import annotations

import pytest

from core.features.vip.ports import TwitchBusy
from tests.features.vip.conftest import Vip
from tests.features.vip.doubles import GUILD

ADMIN = 900


@pytest.mark.parametrize(
    "answers",
    [[1e9], [float("inf")], [5.0] * 50],
    ids=["a billion seconds", "infinity", "429 after 429"],
)
async def test_a_grant_by_hand_twitch_keeps_refusing_answers_at_once_and_grants_nothing(
    vip: Vip, answers: list[float]
) -> None:
    vip.twitch.users["carol"] = "77"
    vip.twitch.busy = [TwitchBusy("429", retry_after=wait) for wait in answers]

    with pytest.raises(TwitchBusy):
        await vip.service.manual.grant(GUILD, ADMIN, "carol", 5)

    assert sum(vip.sleeps) <= 30  # waited out a few short limits at most
    assert vip.twitch.vips == set()
    assert await vip.service.list_vips(GUILD) == []


async def test_a_short_rate_limit_is_still_waited_out_and_the_grant_made(vip: Vip) -> None:
    vip.twitch.users["carol"] = "77"
    vip.twitch.busy = [TwitchBusy("429", retry_after=10.0)]

    await vip.service.manual.grant(GUILD, ADMIN, "carol", 5)

    assert vip.sleeps == [10.0]
    assert vip.twitch.vips == {"77"}
