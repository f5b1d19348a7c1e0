"""``!raffleset time_zone`` during a period: the open period keeps its dates (docs/raffle.md),
and the reply says so with its end, so a streamer who sets New York on the 10th does not expect
this month to end at midnight in New York."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.discord_bot.fake_discord import say


async def test_a_new_time_zone_says_the_open_period_keeps_its_end(manager) -> None:
    [started] = await say("!rafflestart", manager)
    assert "is open" in started.content
    [answer] = await say("!raffleset time_zone america/new_york", manager)
    end = int(datetime(2030, 7, 1, tzinfo=UTC).timestamp())
    assert "Time zone: America/New\\_York." in answer.content
    assert answer.content.endswith(
        f"Period #1 keeps its dates: it ends <t:{end}:f>. "
        "The new time zone counts from the next period on."
    )
    [again] = await say("!raffleset time_zone America/New_York", manager)  # no change: no note
    assert "keeps its dates" not in again.content


async def test_a_new_time_zone_with_no_period_says_nothing_more(manager) -> None:
    [answer] = await say("!raffleset time_zone Europe/Berlin", manager)
    assert "keeps its dates" not in answer.content
