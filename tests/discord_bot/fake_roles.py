"""Roles on dpytest's fake Discord: roles at chosen positions, the bot's own role, and a record
of member edits (dpytest's own ``edit_member`` cannot take the role ids discord.py sends)."""

from __future__ import annotations

from dataclasses import dataclass, field

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

BOT_ROLE_POSITION = 10


def make_role(
    guild: discord.Guild,
    name: str,
    position: int,
    *,
    permissions: discord.Permissions | None = None,
    managed: bool = False,
) -> discord.Role:
    value = (permissions or discord.Permissions.none()).value
    role = dpytest.backend.make_role(name, guild, permissions=value)
    role.position = position
    role.managed = managed
    return role


async def give_bot_a_role(
    guild: discord.Guild, *, manage_roles: bool = True, position: int = BOT_ROLE_POSITION
) -> discord.Role:
    """The bot's top role, with Manage Roles unless told otherwise."""
    role = make_role(
        guild,
        "StreamKeeper",
        position,
        permissions=discord.Permissions(manage_roles=manage_roles),
    )
    await dpytest.add_role(guild.me, role)
    return role


@dataclass
class MemberEdits:
    """Every role request the bot made for a member (Discord's add and remove role endpoints):
    (guild id, member id, role ids after the request)."""

    calls: list[tuple[int, int, frozenset[int]]] = field(default_factory=list)

    def of(self, member: discord.Member) -> list[frozenset[int]]:
        return [roles for g, m, roles in self.calls if (g, m) == (member.guild.id, member.id)]


def record_member_edits(monkeypatch: pytest.MonkeyPatch, bot: discord.Client) -> MemberEdits:
    """Make dpytest apply (and note) the bot's role requests; the ``member_edits`` fixture
    calls this. A whole-list edit (``member.edit(roles=...)``) fails the test: it would take
    away a role the cache does not show yet."""
    edits = MemberEdits()

    def found(guild_id, user_id, role_id):  # type: ignore[no-untyped-def]
        guild = bot.get_guild(int(guild_id))
        assert guild is not None
        member = guild.get_member(int(user_id))
        assert member is not None
        role = guild.get_role(int(role_id))
        assert role is not None, "the bot sent a role id that does not exist"
        return guild, member, role

    def applied(guild, member, roles) -> None:  # type: ignore[no-untyped-def]
        edits.calls.append((guild.id, member.id, frozenset(r.id for r in roles)))
        backend.update_member(member, roles=roles)

    async def add_role(_http, guild_id, user_id, role_id, *, reason=None):  # type: ignore[no-untyped-def]
        guild, member, role = found(guild_id, user_id, role_id)
        kept = [r for r in member.roles if not r.is_default() and r != role]
        applied(guild, member, [*kept, role])

    async def remove_role(_http, guild_id, user_id, role_id, *, reason=None):  # type: ignore[no-untyped-def]
        guild, member, role = found(guild_id, user_id, role_id)
        applied(guild, member, [r for r in member.roles if not r.is_default() and r != role])

    async def edit_member(_http, guild_id, user_id, *, reason=None, **fields):  # type: ignore[no-untyped-def]
        assert "roles" not in fields, "a whole-list role edit takes away roles the cache misses"
        raise AssertionError(f"unexpected member edit: {sorted(fields)}")

    monkeypatch.setattr(backend.FakeHttp, "add_role", add_role)
    monkeypatch.setattr(backend.FakeHttp, "remove_role", remove_role)
    monkeypatch.setattr(backend.FakeHttp, "edit_member", edit_member)
    return edits


def role_ids(member: discord.Member) -> set[int]:
    return {role.id for role in member.roles if not role.is_default()}
