"""!raffleboard: the longest and oddest names within Discord's limits, and ties."""

from __future__ import annotations

import discord

from core.events import Platform
from core.features.raffle import ledger_repository
from tests.discord_bot.embed_limits import LONGEST_ODD_NAME, fits_discords_embed_limits
from tests.discord_bot.fake_discord import say
from tests.discord_bot.raffle.conftest import NOW
from tests.features.raffle.support import add_viewer


def hand(engine, guild: discord.Guild, user_id: str, name: str, tickets: int, platform=None):
    """``tickets`` to a viewer called ``name`` in the open period (#1)."""
    platform = platform or Platform.KICK
    add_viewer(engine, user_id, name, platform=platform)
    with engine.begin() as conn:
        ledger_repository.add_ledger_entry(
            conn,
            guild_id=guild.id,
            period_id=1,
            platform=platform,
            platform_user_id=user_id,
            amount=tickets,
            source="admin",
            source_ref=f"test-{platform}-{user_id}",
            actor_id=1,
            reason="given",
            at=NOW,
        )


def board_lines(reply: discord.Message) -> list[str]:
    [embed] = reply.embeds
    return (embed.description or "").splitlines()


async def test_25_viewers_with_the_longest_markdown_names_fit_in_one_embed(
    manager, alice, guild_a, sqlite_engine
) -> None:
    await say("!rafflestart", manager)
    for index in range(25):
        platform = Platform.TWITCH if index == 0 else Platform.KICK
        name = f"{index:02d}{LONGEST_ODD_NAME[2:]}"
        hand(sqlite_engine, guild_a, f"v{index}", name, 1_000_000 + index, platform)

    [reply] = await say("!raffleboard 25", alice)

    assert fits_discords_embed_limits(reply.embeds[0])
    lines = board_lines(reply)
    assert len(lines) == 25
    assert lines[0].startswith("**#1** 24\\_\\*\\_\\*")
    assert lines[0].endswith("\N{HORIZONTAL ELLIPSIS} (Kick) - 1,000,024")


async def test_a_zalgo_name_keeps_two_marks_a_letter_on_the_board(
    manager, alice, guild_a, sqlite_engine
) -> None:
    await say("!rafflestart", manager)
    hand(sqlite_engine, guild_a, "k1", "z" + "\N{COMBINING ACUTE ACCENT}" * 40 + "ed", 5)

    [reply] = await say("!raffleboard", alice)

    assert board_lines(reply) == [
        "**#1** z\N{COMBINING ACUTE ACCENT}\N{COMBINING ACUTE ACCENT}ed - 5"
    ]


async def test_equal_tickets_share_a_rank_on_the_board_as_in_tickets(
    manager, alice, guild_a, sqlite_engine
) -> None:
    """The board numbered ties one after the other (#2, #3) where `!tickets` gives both #2:
    both now share it, "=2", as `!leaderboard` shows equal watchtime."""
    await say("!rafflestart", manager)
    hand(sqlite_engine, guild_a, "k1", "ann", 20)
    hand(sqlite_engine, guild_a, "k2", "ben", 10)
    hand(sqlite_engine, guild_a, "k3", "cat", 10)
    hand(sqlite_engine, guild_a, "k4", "dan", 5)

    [board] = await say("!raffleboard", alice)

    lines = board_lines(board)
    assert lines[0] == "**#1** ann - 20"
    assert sorted(lines[1:3]) == ["**=2** ben - 10", "**=2** cat - 10"]
    assert lines[3] == "**#4** dan - 5"


async def test_a_tie_just_past_the_board_shows_on_its_last_line(
    manager, alice, guild_a, sqlite_engine
) -> None:
    await say("!rafflestart", manager)
    hand(sqlite_engine, guild_a, "k1", "ann", 20)
    hand(sqlite_engine, guild_a, "k2", "ben", 10)
    hand(sqlite_engine, guild_a, "k3", "cat", 10)

    [board] = await say("!raffleboard 2", alice)

    lines = board_lines(board)
    assert lines[0] == "**#1** ann - 20"
    assert lines[1] in ("**=2** ben - 10", "**=2** cat - 10")


async def test_a_closed_period_without_tickets_says_nobody_held_any(manager, alice) -> None:
    """It said "No tickets yet." under "closed", as if some could still come."""
    await say("!rafflestart", manager)
    await say("!raffleend", manager)

    [board] = await say("!raffleboard", alice)

    closed = int(NOW.timestamp())
    assert board_lines(board) == [
        f"Period #1 (closed <t:{closed}:D>)",
        "Nobody held tickets in this period.",
    ]


async def test_tickets_says_a_shared_rank_as_the_board_does(
    manager, alice, guild_a, sqlite_engine
) -> None:
    await say("!rafflestart", manager)
    hand(sqlite_engine, guild_a, "k1", "ann", 20)
    hand(sqlite_engine, guild_a, "k2", "ben", 10)
    add_viewer(sqlite_engine, "k3", "cat", discord_id=alice.id)
    hand(sqlite_engine, guild_a, "k3", "cat", 10)

    [mine] = await say("!tickets", alice)

    assert "Rank =2, about 25.00% of the 40 tickets" in mine.content
