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
