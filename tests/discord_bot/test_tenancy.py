"""Guild isolation: for each guild-scoped command family, guild B's admin can neither read nor
change guild A's data (issue 11). Both dpytest servers have the members alice and bob (the same
users); bob is given Manage Server in the server a test needs."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest

from core.events import Platform
from core.features.linking.service import LinkingService
from tests.discord_bot.fake_discord import member_of, say


async def admin_of(guild: discord.Guild) -> discord.Member:
    """bob, with Manage Server in ``guild`` only."""
    bob = member_of(guild, "bob")
    role = dpytest.backend.make_role(
        "Admin", guild, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(bob, role)
    assert bob.guild_permissions.manage_guild
    return bob


def also_in(guild: discord.Guild, member: discord.Member) -> discord.Member:
    """The same Discord user as ``member``, joined to ``guild`` too."""
    return dpytest.backend.make_member(member._user, guild)


def contents(replies: list[discord.Message]) -> str:
    """Everything the replies say, text and embeds."""
    texts = [m.content for m in replies]
    for message in replies:
        for embed in message.embeds:
            texts += [embed.title or "", embed.description or ""]
            texts += [str(field.value) for field in embed.fields]
    return "\n".join(texts)


# --- linking ---------------------------------------------------------------------------------


def link_in(linking: LinkingService, guild: discord.Guild, member: discord.Member) -> None:
    linking.link(
        guild_id=guild.id,
        discord_user_id=member.id,
        platform=Platform.KICK,
        platform_user_id="7001",
        username="kick_al",
    )


async def test_another_servers_admin_cannot_unlink_a_link_made_here(
    guild_a: discord.Guild, guild_b: discord.Guild, linking: LinkingService
) -> None:
    alice = member_of(guild_a, "alice")
    link_in(linking, guild_a, alice)
    admin_b = await admin_of(guild_b)

    [reply] = await say(f"!unlink {also_in(guild_b, alice).mention}", admin_b)

    assert reply.content == (
        "That member linked their Kick account in another server, "
        "so only they can remove it (with !unlink)."
    )
    assert linking.link_of(alice.id) is not None
    assert linking.history(guild_b.id, alice.id) == []


async def test_the_member_alone_unlinks_everywhere_from_any_server(
    guild_a: discord.Guild, guild_b: discord.Guild, linking: LinkingService
) -> None:
    alice = member_of(guild_a, "alice")
    link_in(linking, guild_a, alice)

    [reply] = await say("!unlink", also_in(guild_b, alice))

    assert "no longer linked" in reply.content
    assert linking.link_of(alice.id) is None
