"""!overlay on dpytest's Discord, the service on a real database: the URL only ever in a DM or
an ephemeral answer, managers only, a rotated URL stops working."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import discord
import pytest

from core.discord_bot.overlays.cog import OverlayCog
from core.discord_bot.services import BotServices
from core.features.overlays.service import OverlayService
from core.security.secrets import TokenCipher
from tests.conftest import TEST_FERNET_KEY
from tests.discord_bot.fake_discord import say
from tests.discord_bot.linking.test_cog import FakeSlashContext, dms_closed  # noqa: F401
from tests.discord_bot.linking_support import split_replies

BASE = "https://bot.example.org"


@pytest.fixture
def overlays(sqlite_engine, clock) -> OverlayService:
    return OverlayService(sqlite_engine, clock, TokenCipher(TEST_FERNET_KEY), BASE)


@pytest.fixture
def services(watchtime, guilds, health_report, overlays) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, overlays=overlays
    )


def token_in(text: str) -> str:
    start = text.index(f"<{BASE}/overlay/") + len(f"<{BASE}/overlay/")
    return text[start : text.index(">", start)]


async def test_url_goes_by_dm_and_the_channel_hears_only_that(manager, overlays, guild_a):
    channel, dms = split_replies(await say("!overlay url alerts", manager))
    assert [m.content for m in channel] == ["I sent you the overlay URL by DM."]
    [dm] = dms
    token = token_in(dm.content)
    assert overlays.open(token).guild_id == guild_a.id
    assert "/overlay/" not in channel[0].content


async def test_rotate_sends_the_new_url_privately_and_the_old_one_stops(manager, overlays, guild_a):
    old = overlays.link(guild_a.id, "heist").path.removeprefix("/overlay/")
    channel, dms = split_replies(await say("!overlay rotate heist", manager))
    assert [m.content for m in channel] == [
        "Done: the old URL stopped working. I sent you the new one by DM."
    ]
    new = token_in(dms[0].content)
    assert new != old
    assert overlays.open(old) is None
    assert overlays.open(new).kind == "heist"


async def test_closed_dms_keep_the_url_out_of_the_channel(manager, dms_closed):  # noqa: F811
    channel, dms = split_replies(await say("!overlay url raffle", manager))
    assert dms == []
    [reply] = channel
    assert "direct messages are closed" in reply.content
    assert "/overlay/" not in reply.content


async def test_a_rotate_with_closed_dms_says_the_old_url_stopped_working(
    manager,
    overlays,
    guild_a,
    dms_closed,  # noqa: F811
):
    old = overlays.link(guild_a.id, "heist").path.removeprefix("/overlay/")

    channel, dms = split_replies(await say("!overlay rotate heist", manager))

    assert dms == []
    [reply] = channel
    assert overlays.open(old) is None
    assert reply.content.startswith(
        "Done: the old **heist** overlay URL stopped working, but I couldn't DM you the new one"
    )
    assert "/overlay url heist" in reply.content
    assert "/overlay/" not in reply.content


async def test_members_without_manage_server_get_nothing(alice, overlays, guild_a):
    replies = await say("!overlay rotate alerts", alice)
    assert all("/overlay/" not in m.content for m in replies)
    assert len(replies) == 1
    assert "Manage Server" in replies[0].content


@pytest.mark.parametrize("command", ["!overlay url chat", "!overlay rotate", "!overlay"])
async def test_wrong_arguments_get_a_friendly_reply_without_a_url(manager, command):
    [reply] = await say(command, manager)
    assert "/overlay/" not in reply.content
    assert "heist" in reply.content


async def test_slash_answers_ephemerally_and_sends_no_dm(guild_a, overlays):
    dms: list[str] = []

    async def dm(content: str, **kwargs: Any) -> None:
        dms.append(content)

    cog = OverlayCog(overlays)
    ctx = FakeSlashContext(guild_a, SimpleNamespace(id=4242, send=dm))
    await cog.rotate.callback(cog, ctx, "raffle")  # type: ignore[arg-type]
    [(content, options)] = ctx.sent
    assert options["ephemeral"] is True
    assert overlays.open(token_in(content)).kind == "raffle"
    assert dms == []
    assert isinstance(options["allowed_mentions"], discord.AllowedMentions)
