"""``!twitch status``, ``!health`` and the dashboard say what temporary VIP could not do as the
streamer while their connection needs re-authorization: redemptions that wait, refunds not told
in chat; nothing when there are none."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.features.connections.checks import twitch_checks
from core.features.connections.status import ConnectionStatus
from tests.features.connections.test_twitch_transport_lines import CHANNEL, WORDS, status

MARKED = ConnectionStatus(1, False, True, "twitchdev", "141981764", None, ())


def vip_lines(waiting: int, untold: int) -> list[tuple[bool, str]]:
    found = replace(
        status(webhooks=False, socket=True),
        connection=MARKED,
        vip_waiting=waiting,
        vip_untold=untold,
    )
    assert found.channel == CHANNEL
    return [(c.ok, c.detail) for c in twitch_checks(found, WORDS) if "vip" in c.name]


def test_nothing_waiting_says_nothing():
    assert vip_lines(0, 0) == []


@pytest.mark.parametrize(
    ("waiting", "untold", "words"),
    [
        (1, 0, ["1 redemption of the VIP reward waits for the streamer to connect again"]),
        (2, 0, ["2 redemptions of the VIP reward wait for the streamer to connect again"]),
        (0, 1, ["1 viewer was refunded but not told in chat"]),
        (
            3,
            2,
            [
                "3 redemptions of the VIP reward wait",
                "2 viewers were refunded but not told in chat",
            ],
        ),
    ],
)
def test_waiting_redemptions_and_untold_refunds_are_counted_with_the_fix(waiting, untold, words):
    lines = vip_lines(waiting, untold)
    assert len(lines) == len(words)
    for (ok, detail), said in zip(lines, words, strict=True):
        assert not ok
        assert said in detail
        assert detail.endswith("!twitch setup twitchdev")
