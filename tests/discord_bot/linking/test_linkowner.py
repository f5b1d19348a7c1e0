"""!linkowner: an admin finds who linked a Kick or Twitch account (a member says "that account
is mine, but it is linked to someone else"), so they can unlink it; a holder outside the server
is not named."""

from __future__ import annotations

from datetime import UTC, datetime

import discord
import pytest
from sqlalchemy.engine import Engine

from core.events import Platform, Viewer
from core.features.linking.service import LinkingService
from core.features.viewers.repository import remember_viewers
from tests.discord_bot.fake_discord import say

STRANGER = 990_000_000_000_000_001  # a Discord user in no server the bot shares with us


def link(
    linking: LinkingService, guild: discord.Guild, user_id: int, platform: Platform, name: str
) -> None:
    linking.link(
        guild_id=guild.id,
        discord_user_id=user_id,
        platform=platform,
        platform_user_id=f"{platform.value}-{name}",
        username=name,
    )


async def reply_to(command: str, author: discord.Member) -> str:
    [reply] = await say(command, author)
    return reply.content


async def test_an_admin_finds_the_member_who_linked_an_account_and_how_to_unlink_it(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, linking
) -> None:
    link(linking, guild_a, alice.id, Platform.KICK, "kick_al")

    reply = await reply_to("!linkowner KICK_AL", manager)

    assert reply.startswith(f"The Kick account **kick\\_al** is linked to {alice.mention} (since ")
    assert reply.endswith(f"!unlink {alice.mention} kick removes it.")
    await say(f"!unlink {alice.mention} kick", manager)  # what it says works
    assert await reply_to("!linkowner kick_al", manager) == (
        "No Discord user has linked a Kick or Twitch account called kick\\_al."
    )


async def test_the_platform_prefix_picks_one_platform_and_a_bare_name_finds_both(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, linking
) -> None:
    link(linking, guild_a, alice.id, Platform.KICK, "same_name")
    link(linking, guild_a, manager.id, Platform.TWITCH, "same_name")

    both = (await reply_to("!linkowner same_name", manager)).splitlines()
    twitch = await reply_to("!linkowner twitch:same_name", manager)

    assert [line.split(" is linked to ")[0] for line in both] == [
        "The Kick account **same\\_name**",
        "The Twitch account **same\\_name**",
    ]
    assert alice.mention in both[0]
    assert manager.mention in both[1]
    assert twitch.startswith(f"The Twitch account **same\\_name** is linked to {manager.mention}")
    assert alice.mention not in twitch


async def test_an_account_renamed_since_it_was_linked_is_found_by_its_name_today(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking,
    sqlite_engine: Engine,
) -> None:
    link(linking, guild_a, alice.id, Platform.KICK, "old_name")
    with sqlite_engine.begin() as conn:  # the viewer chats under a new name since
        viewer = Viewer("kick-old_name", "new_name")
        remember_viewers(conn, Platform.KICK, [viewer], datetime(2026, 11, 1, tzinfo=UTC))

    reply = await reply_to("!linkowner new_name", manager)

    assert reply.startswith(f"The Kick account **old\\_name** is linked to {alice.mention}")


async def test_a_member_who_linked_in_another_server_is_named_but_unlinks_it_themself(
    guild_b: discord.Guild, alice: discord.Member, manager: discord.Member, linking
) -> None:
    link(linking, guild_b, alice.id, Platform.KICK, "kick_al")  # alice is here too

    reply = await reply_to("!linkowner kick_al", manager)

    assert reply.startswith(f"The Kick account **kick\\_al** is linked to {alice.mention} (since ")
    assert reply.endswith("), in another server: only they can unlink it (!unlink kick).")


async def test_a_holder_who_left_is_named_by_id_only_for_a_link_made_here(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    manager: discord.Member,
    linking,
) -> None:
    link(linking, guild_a, STRANGER, Platform.KICK, "left_us")  # made here, then left
    link(linking, guild_b, STRANGER + 1, Platform.TWITCH, "elsewhere")  # never ours

    here = await reply_to("!linkowner left_us", manager)
    elsewhere = await reply_to("!linkowner elsewhere", manager)

    assert here.startswith(
        f"The Kick account **left\\_us** is linked to a Discord user who left this server "
        f"(id {STRANGER}, since "
    )
    assert here.endswith(f"!unlink {STRANGER} kick removes it.")
    assert elsewhere == (
        "The Twitch account **elsewhere** is linked to a Discord user who is not in this "
        "server, in another server: only they can unlink it (!unlink twitch)."
    )
    assert str(STRANGER + 1) not in elsewhere


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("kick:", "Name a Kick or Twitch account: kick:name, twitch:name, or just the name."),
        ("x" * 200, "Name a Kick or Twitch account: kick:name, twitch:name, or just the name."),
        ("<@&123456789012345678>", "No Discord user has linked a Kick or Twitch account called"),
    ],
)
async def test_a_name_that_names_nobody_gets_a_plain_answer(
    typed: str, answer: str, manager: discord.Member
) -> None:
    reply = await reply_to(f"!linkowner {typed}", manager)
    assert reply.startswith(answer)
    assert len(reply) <= 2000


async def test_only_admins_look_holders_up(
    guild_a: discord.Guild, alice: discord.Member, linking
) -> None:
    link(linking, guild_a, alice.id + 1, Platform.KICK, "someone")
    reply = await reply_to("!linkowner someone", alice)
    assert reply.startswith("You need the Manage Server permission")
    assert "someone" not in reply
