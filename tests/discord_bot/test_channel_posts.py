"""A feature's posts in a guild's channel (``ChannelPoster``), as heist results, slot calls and
VIP notices are posted."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import discord
import discord.ext.test as dpytest

from core.discord_bot.channel_posts import ChannelPoster
from core.discord_bot.gateway import DiscordGateway
from core.discord_bot.render import NO_MENTIONS
from core.discord_bot.vip.outbound import DiscordVipNotices


class NoticePoster(ChannelPoster):
    kind = "notice"
    fix = "set one with !notices channel"


class Channel:
    """A channel that records what is sent, or refuses like a channel the bot may not post in."""

    def __init__(self, *, refuses: bool = False) -> None:
        self.id = 5001
        self.guild = SimpleNamespace(id=111)
        self.refuses = refuses
        self.sent: list[tuple[str | None, dict[str, Any]]] = []

    async def send(self, content: str | None = None, **kwargs: Any) -> None:
        if self.refuses:
            raise discord.Forbidden(dpytest.backend.FakeRequest(403, "Forbidden"), "Missing Access")
        self.sent.append((content, kwargs))


async def test_a_post_is_sent_mentioning_no_one() -> None:
    channel = Channel()
    embed = discord.Embed(title="Heist")

    posted = await NoticePoster(DiscordGateway()).post(channel, embed=embed)  # type: ignore[arg-type]

    assert posted is True
    [(content, kwargs)] = channel.sent
    assert content is None
    assert kwargs["embed"] is embed
    assert kwargs["allowed_mentions"] is NO_MENTIONS


async def test_a_channel_the_bot_may_not_post_in_is_a_warning_and_false(caplog) -> None:
    caplog.set_level(logging.WARNING)
    poster = NoticePoster(DiscordGateway())

    posted = await poster.post(Channel(refuses=True), "hello")  # type: ignore[arg-type]

    assert posted is False
    assert "guild 111: no permission to post a notice in channel 5001" in caplog.text


def test_without_discord_there_is_no_channel_and_that_is_logged(caplog) -> None:
    caplog.set_level(logging.INFO)

    assert NoticePoster(DiscordGateway()).channel(111, 5001, "notice 3") is None
    assert "Discord is off; notice 3 not posted" in caplog.text


async def test_a_vip_notice_says_whether_it_was_posted_and_why_not(monkeypatch) -> None:
    """The VIP worker records a notice the channel refused as refused, not as posted, in
    words naming what to do (what "What the bot could not do" shows)."""
    notices = DiscordVipNotices(DiscordGateway())
    for refuses in (False, True):
        channel = Channel(refuses=refuses)
        monkeypatch.setattr(notices, "lookup", lambda *args, channel=channel: channel)

        refusal = await notices.post_notice(111, 5001, "Al is a VIP until Friday.")

        assert refusal == (
            "not posted: I may not post in the VIP notice channel; give me Send Messages there"
            if refuses
            else None
        )
        assert [content for content, _ in channel.sent] == (
            [] if refuses else ["Al is a VIP until Friday."]
        )
    # No channel to post in (here: Discord is off): the lookup's words.
    monkeypatch.undo()
    assert await notices.post_notice(111, 5001, "Al is a VIP until Friday.") == (
        "not posted: the Discord bot is not running"
    )
