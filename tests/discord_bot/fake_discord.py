"""Small helpers over dpytest: find a member, say something, collect the bot's replies."""

from __future__ import annotations

import contextlib
import sys

import discord
import discord.ext.test as dpytest
from discord.ext import commands


def member_of(guild: discord.Guild, name: str) -> discord.Member:
    member = discord.utils.get(guild.members, name=name)
    assert member is not None, f"no member {name} in {guild.name}"
    return member


async def say(content: str, member: discord.Member, channel: discord.abc.Messageable | None = None):
    """``member`` sends ``content`` (in their guild's text channel); returns the bot's replies."""
    if channel is None:
        channel = member.guild.text_channels[0]
    # dpytest re-raises the command's error after our handler has replied; the reply is
    # what the user sees, so that is what the tests check.
    with contextlib.suppress(commands.CommandError):
        await dpytest.message(content, channel=channel, member=member)
    replies = []
    while not dpytest.sent_queue.empty():
        replies.append(dpytest.get_message())
    return replies


def make_thread(
    parent: discord.TextChannel,
    name: str = "raffle-news",
    *,
    archived=False,
    locked=False,
    private=False,
    joined=True,
) -> discord.Thread:
    """A thread of ``parent`` (public, or ``private``), as Discord describes one to the bot
    (dpytest makes none), in its server's cache like a thread the bot was told of. ``joined``:
    the bot is a member of it (Discord then sends the bot's own thread member with it)."""
    guild = parent.guild
    thread_id = max([c.id for c in guild.channels] + [t.id for t in guild.threads]) + 1
    data = {
        "id": str(thread_id),
        "parent_id": str(parent.id),
        "owner_id": str(guild.owner_id or parent.id),
        "name": name,
        "type": (
            discord.ChannelType.private_thread if private else discord.ChannelType.public_thread
        ).value,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": archived,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2026-11-01T00:00:00+00:00",
            "locked": locked,
        },
    }
    if joined:
        data["member"] = {"join_timestamp": "2026-11-01T00:00:00+00:00", "flags": 0}
    thread = discord.Thread(guild=guild, state=guild._state, data=data)  # type: ignore[arg-type]
    guild._add_thread(thread)
    return thread


def allow_unknown_channel_mentions(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """dpytest finds a reply's mentioned channels among the server's channels only (never its
    threads, nor a deleted channel) and fails on the others; Discord shows those too."""
    mentioned = dpytest.backend.find_channel_mentions
    monkeypatch.setattr(
        dpytest.backend,
        "find_channel_mentions",
        lambda content, guild: [c for c in mentioned(content, guild) if c is not None],
    )


def thread_send_refused(status: int, code: int, message: str):  # type: ignore[no-untyped-def]
    """A ``Thread.send`` that Discord refuses as it does: ``status`` with its JSON error (403 is
    :class:`discord.Forbidden`; 400 "Thread is archived" is code 50083)."""

    async def send(self: discord.Thread, *args: object, **kwargs: object) -> None:
        response = dpytest.backend.FakeRequest(status, "Refused")
        error = {"code": code, "message": message}
        if status == 403:
            raise discord.Forbidden(response, error)
        raise discord.HTTPException(response, error)

    return send


def embeds_refused_without_embed_links(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Discord refuses a message carrying an embed where the bot lacks Embed Links (403, code
    50013 "Missing Permissions"); dpytest checks Send Messages only."""
    send_message = dpytest.backend.FakeHttp.send_message

    async def refusing(http, channel_id, *, params):  # type: ignore[no-untyped-def]
        # dpytest's send_message takes the channel from its caller's local names: keep ours.
        channel = sys._getframe(1).f_locals.get("channel")
        me = channel.guild.me if getattr(channel, "guild", None) is not None else None
        embeds = (params.payload or {}).get("embeds")
        if embeds and me is not None and not channel.permissions_for(me).embed_links:
            response = dpytest.backend.FakeRequest(403, "Forbidden")
            raise discord.Forbidden(response, {"code": 50013, "message": "Missing Permissions"})
        return await send_message(http, channel_id, params=params)

    monkeypatch.setattr(dpytest.backend.FakeHttp, "send_message", refusing)
