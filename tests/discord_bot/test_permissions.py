"""The bot's invite permissions (core/features/guilds/invite.py for the web side,
core/discord_bot/permissions.py for the bot): named discord.py flags, and an integer that is
exactly their sum."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import discord

from core.discord_bot.permissions import BOT_PERMISSIONS, bot_permissions, invite_url
from core.features.guilds.invite import PERMISSIONS, PERMISSIONS_VALUE


def test_every_permission_is_a_discord_flag_with_a_reason():
    for name, why in BOT_PERMISSIONS.items():
        assert name in discord.Permissions.VALID_FLAGS, name
        assert why.strip(), name


def test_each_bit_is_discord_pys_and_the_web_sides_integer_is_the_bots():
    for name, permission in PERMISSIONS.items():
        assert 1 << permission.bit == discord.Permissions.VALID_FLAGS[name], name
    assert bot_permissions().value == PERMISSIONS_VALUE


def test_the_integer_is_the_sum_of_the_named_flags():
    bits = [discord.Permissions.VALID_FLAGS[name] for name in BOT_PERMISSIONS]
    assert len(set(bits)) == len(bits)  # no two names for one flag
    assert bot_permissions().value == sum(bits)
    assert bin(bot_permissions().value).count("1") == len(BOT_PERMISSIONS)


def test_the_bot_asks_for_no_administrator_or_server_wide_management():
    granted = bot_permissions()
    assert not granted.administrator
    assert not granted.manage_guild
    assert not granted.manage_channels
    assert not granted.kick_members
    assert not granted.ban_members


def test_the_invite_link_carries_the_client_id_scopes_and_permissions():
    link = invite_url("424242424242424242")
    assert link == (
        "https://discord.com/oauth2/authorize?client_id=424242424242424242"
        f"&scope=bot%20applications.commands&permissions={bot_permissions().value}"
    )
    query = parse_qs(urlsplit(link).query)
    assert query["scope"] == ["bot applications.commands"]
    assert int(query["permissions"][0]) == bot_permissions().value


def test_the_invite_asks_to_post_in_threads_as_well_as_channels():
    """An admin may point a post at a thread; there Discord asks for Send Messages in Threads,
    not Send Messages, so a bot added with the link could not post in one without it."""
    granted = bot_permissions()
    assert granted.send_messages
    assert granted.send_messages_in_threads
    query = parse_qs(urlsplit(invite_url("424242424242424242")).query)
    assert discord.Permissions(int(query["permissions"][0])).send_messages_in_threads
