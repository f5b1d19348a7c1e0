"""What ``!tickets`` tells a viewer about their chance, as the raffle's settings have it."""

from __future__ import annotations

import discord

from tests.discord_bot.fake_discord import say
from tests.features.raffle.support import add_viewer


def text(replies: list[discord.Message]) -> str:
    [reply] = replies
    return reply.content


async def test_with_linked_only_off_tickets_does_not_say_only_linked_accounts_can_win(
    manager, alice, sqlite_engine
) -> None:
    """`!raffleset linked_only off` lets anyone win; `!tickets` still told every viewer that
    only linked accounts could, so a viewer's unlinked friends thought they were out."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 30", manager)
    await say(f"!rafflegive {manager.mention} 10", manager)
    assert text(await say("!tickets", alice)).splitlines()[1] == (
        "Rank #1, about 75.00% of the 40 tickets (only linked accounts can win)."
    )

    await say("!raffleset linked_only off", manager)

    assert text(await say("!tickets", alice)).splitlines()[1] == (
        "Rank #1, about 75.00% of the 40 tickets."
    )


async def test_a_tiny_or_near_certain_chance_is_not_rounded_to_0_or_100_percent(
    manager, alice, sqlite_engine
) -> None:
    """1 ticket of 1,000,001 was "about 0.00%": the viewer read that they could not win, and the
    holder of the rest read "about 100.00%" that they had won already."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "k2", "bob_on_kick", discord_id=manager.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 1", manager)
    await say(f"!rafflegive {manager.mention} 1000000", manager)

    assert text(await say("!tickets", alice)).splitlines()[1] == (
        "Rank #2, less than 0.01% of the 1,000,001 tickets (only linked accounts can win)."
    )
    assert text(await say("!tickets", manager)).splitlines()[1] == (
        "Rank #1, more than 99.99% of the 1,000,001 tickets (only linked accounts can win)."
    )


async def test_before_a_scheduled_first_period_opens_viewers_are_told_it_is_coming(
    manager, alice, sqlite_engine
) -> None:
    """With the first period scheduled (`!rafflestart 20 25` on the 10th), `!tickets`,
    `!raffleboard` and `!fair` said "There is no raffle yet; an admin starts one with
    !rafflestart", though an admin had."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    assert text(await say("!rafflestart 20 25", manager)).startswith(
        "Raffle period #1 is scheduled"
    )

    expected = "The first raffle period has not opened yet; !raffleinfo shows when it does."
    for command in ("!tickets", "!raffleboard", "!fair"):
        assert text(await say(command, alice)) == expected


async def test_after_raffleend_tickets_does_not_promise_a_next_period(
    manager, alice, sqlite_engine
) -> None:
    """`!raffleend` stops opening new periods, yet `!tickets` told viewers "the next one starts
    soon"; with a next period scheduled, it still says so."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 3", manager)
    await say("!raffleend", manager)

    assert text(await say("!tickets", alice)).splitlines()[-1] == (
        "This period is closed, and no next one is planned."
    )

    assert text(await say("!rafflestart 20 25", manager)).startswith("Raffle period #2 is sched")
    assert text(await say("!tickets", alice)).splitlines()[-1] == (
        "This period is closed; the next one starts soon."
    )


async def test_with_no_tickets_in_a_closed_period_a_viewer_is_not_told_to_earn_some(
    manager, alice, sqlite_engine
) -> None:
    """After the close nothing earns tickets in that period, yet `!tickets` said "Watch, gift
    subs or wager to earn some" right above "This period is closed"."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say("!raffleend", manager)

    assert text(await say("!tickets", alice)).splitlines() == [
        "**alice\\_on\\_kick** had no tickets in this period.",
        "This period is closed, and no next one is planned.",
    ]
