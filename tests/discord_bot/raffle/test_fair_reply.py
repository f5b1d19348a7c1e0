"""What ``!fair <draw>`` shows of a draw that has not been drawn yet."""

from __future__ import annotations

from tests.discord_bot.fake_discord import say
from tests.features.raffle.support import add_viewer


async def test_fair_for_a_draw_waiting_for_the_beacon_says_it_waits(
    manager, alice, sqlite_engine
) -> None:
    """`!fair 2` while draw 2 waited for its beacon round showed the period's seed and no word
    of draw 2, as if it had been drawn with no winner."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say(f"!rafflegive {manager.mention} 3", manager)
    await say("!raffleend", manager)
    await say("!raffledraw", manager)
    await say("!raffleforce", manager)
    [waiting] = await say("!raffledraw 1 a second prize", manager)
    assert waiting.content.startswith("Draw #2 waits for beacon round")

    [reply] = await say("!fair 2", alice)

    fields = {field.name: field.value for field in reply.embeds[0].fields}
    assert not any(name.startswith("Draw #1") for name in fields)
    assert fields["Draw #2"].startswith("Not drawn yet: it waits for beacon round ")
