"""A prize or reason longer than the raffle keeps is refused in words, not cut where it falls."""

from __future__ import annotations

import discord

from core.features.raffle.tables import raffle_draws, raffle_ledger
from tests.discord_bot.fake_discord import say
from tests.features.raffle.support import add_viewer
from tests.features.viewers.guild_support import chatted_in


def text(replies: list[discord.Message]) -> str:
    [reply] = replies
    return reply.content


def rows(engine, table) -> list:
    with engine.connect() as conn:
        return list(conn.execute(table.select()))


async def test_a_prize_or_reason_over_200_characters_is_refused_not_cut(
    manager, alice, sqlite_engine, raffle_clock
) -> None:
    """The database keeps 200 characters of a prize or reason: a longer one was saved cut off
    mid-word (and the prize announced so) while the reply said all was well."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    long = "word " * 41  # 205 characters

    assert text(await say(f"!rafflegive {alice.mention} 5 {long}", manager)) == (
        "Keep the reason to 200 characters or fewer."
    )
    assert text(await say(f"!raffleremove {alice.mention} 5 {long}", manager)) == (
        "Keep the reason to 200 characters or fewer."
    )
    assert rows(sqlite_engine, raffle_ledger) == []
    await say(f"!rafflegive {alice.mention} 5 " + "w" * 200, manager)  # 200 is fine
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)

    assert text(await say(f"!raffledraw 1 {long}", manager)) == (
        "Keep the prize to 200 characters or fewer."
    )
    assert rows(sqlite_engine, raffle_draws) == []
    assert text(await say("!raffledraw 1 " + "p" * 200, manager)).startswith("Draw #1 is done")
    assert text(await say(f"!rafflereroll 1 {long}", manager)) == (
        "Keep the reason to 200 characters or fewer."
    )
    assert len(rows(sqlite_engine, raffle_draws)) == 1


async def test_a_reroll_reason_of_invisible_characters_is_no_reason(
    manager, alice, sqlite_engine, raffle_clock
) -> None:
    """A reroll must say why; a zero-width space (pasted, or typed to get past the question)
    was taken as the reason, and the public proof recorded a reroll with nothing to read."""
    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    await say("!rafflestart", manager)
    await say(f"!rafflegive {alice.mention} 5", manager)
    await say("!raffleend", manager)
    raffle_clock.advance(minutes=2)
    assert text(await say("!raffledraw", manager)).startswith("Draw #1 is done")

    for invisible in ("\u200b", "\u200b\u2060 \u200b", "\u00ad"):
        assert text(await say(f"!rafflereroll 1 {invisible}", manager)) == (
            "Say why you reroll: !rafflereroll <draw> [#winner] <reason>."
        )
    assert len(rows(sqlite_engine, raffle_draws)) == 1


async def test_taking_more_than_the_kick_account_holds_names_the_account_and_the_way_to_the_other(
    manager, alice, sqlite_engine, raffle
) -> None:
    """`!raffleremove` takes from a member's Kick account; with their tickets on Twitch it said
    "They have only 0 tickets" of a member `!tickets` shows holding 6."""
    from core.events import Platform

    add_viewer(sqlite_engine, "k1", "alice_on_kick", discord_id=alice.id)
    add_viewer(sqlite_engine, "t1", "alice_tv", discord_id=alice.id, platform=Platform.TWITCH)
    chatted_in(sqlite_engine, alice.guild.id, Platform.TWITCH, "t1")
    await say("!rafflestart", manager)
    raffle.admin.give(alice.guild.id, actor_id=manager.id, member_id=None, tickets=6,
                      reason="", reference="tv", username="twitch:alice_tv")  # fmt: skip

    assert text(await say(f"!raffleremove {alice.mention} 5", manager)) == (
        "Their Kick account alice\\_on\\_kick has only 0 tickets. Name their Twitch account "
        "as twitch:alice\\_tv to change its tickets."
    )
    assert text(await say("!raffleremove twitch:alice_tv 5", manager)) == (
        "Took 5 tickets from Twitch viewer alice\\_tv; they now have 1."
    )
