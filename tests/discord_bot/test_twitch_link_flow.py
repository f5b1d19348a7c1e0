"""Linking a Twitch account end to end on dpytest's fake Discord, a real Runtime, the web app and
the fake Twitch on 127.0.0.1: ``!link`` -> the start link by DM -> consent at the fake ->
callback -> the link stored -> ``AccountLinked`` (platform twitch) on the bus -> the DM, the
linked role and the link log. Then both platforms in one guild: the choice, ``!linked``,
``!unlink <platform>`` and panels with a button per platform.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import discord
import discord.ext.test as dpytest
import httpx
import pytest
import sqlalchemy as sa

from core.discord_bot.linking import render as render_linking
from core.discord_bot.linking.cog import LinkButtonView, LinkingCog
from core.discord_bot.render import inert
from core.discord_bot.services import BotServices
from core.events import AccountLinked, Event, Platform, event_from_dict
from core.platforms.http import tls_context
from core.runtime import Runtime
from core.storage.tables import bus_events
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.linking_support import (
    deliver_published,
    drain,
    is_dm_to,
    linked_role_and_log,
    runtime_services,
    split_replies,
)
from tests.fakes.twitch_runtime import BOT_URL, REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock

VIEWER_TWITCH_ID = "555000111"
VIEWER_TWITCH_LOGIN = "viewer_tw"
TWITCH_START = f"{BOT_URL}/auth/twitch?"
KICK_START = f"{BOT_URL}/auth/kick?"


@pytest.fixture
def viewer_twitch(clock: Clock) -> Iterator[FakeTwitch]:
    """A fake Twitch where viewer_tw consents to every sign-in."""
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(VIEWER_TWITCH_ID, VIEWER_TWITCH_LOGIN)
        fake.consenting_user_id = VIEWER_TWITCH_ID
        yield fake


@pytest.fixture
def link_runtime(tmp_path: Path, viewer_twitch: FakeTwitch, clock: Clock) -> Iterator[Runtime]:
    """A Runtime with a Twitch app on the fake Twitch (and no Kick app)."""
    runtime = runtime_on_fake_twitch(
        viewer_twitch,
        tmp_path / "data",
        clock,
        FLASK_SECRET_KEY="twitch-link-test-secret-a-key-of-32-characters-or-more",
    )
    runtime.role_sync.pause_seconds = 0
    yield runtime
    runtime.close()


@pytest.fixture
def services(link_runtime: Runtime) -> BotServices:
    return runtime_services(link_runtime)


@pytest.fixture
def gateway(link_runtime: Runtime):  # type: ignore[no-untyped-def]
    return link_runtime.discord


def link_in(text: str, start: str = TWITCH_START) -> str:
    [link] = [word for word in text.split() if word.startswith(start)]
    return link


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def sign_in(runtime: Runtime, link: str):  # type: ignore[no-untyped-def]
    """Open the link, press its button, consent on the fake Twitch, come back: one browser."""
    web = runtime.create_web_app().test_client()
    opened = await asyncio.to_thread(web.get, local(link))
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = await asyncio.to_thread(web.post, local(link))
    assert started.status_code == 303, started.get_data(as_text=True)
    async with httpx.AsyncClient(trust_env=False, verify=tls_context()) as http:
        consent = await http.get(started.headers["Location"], follow_redirects=False)
    assert consent.status_code == 302
    callback = consent.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    return await asyncio.to_thread(web.get, local(callback))


def queued_events(runtime: Runtime) -> list[Event]:
    with runtime.engine.connect() as conn:
        payloads = conn.execute(sa.select(bus_events.c.payload).order_by(bus_events.c.id))
        return [event_from_dict(json.loads(payload)) for (payload,) in payloads]


def both_platforms(runtime: Runtime, guild: discord.Guild) -> None:
    """The bot has a Kick app too, and the guild follows a Kick and a Twitch channel."""
    runtime.linking.kick_configured = True
    runtime.guilds.set_kick_channel(guild.id, "kick_streamer", "1001")
    runtime.guilds.set_twitch_channel(guild.id, "twitchdev", "141981764")


def link_kick(runtime: Runtime, guild: discord.Guild, member: discord.Member) -> None:
    runtime.linking.link(
        guild_id=guild.id,
        discord_user_id=member.id,
        platform=Platform.KICK,
        platform_user_id="7001",
        username="kick_al",
    )


async def link_twitch_by_command(member: discord.Member, command: str = "!link") -> str:
    in_channel, dms = split_replies(await say(command, member))
    [reply] = in_channel
    [dm] = dms
    assert reply.content == "I sent you a link by DM to connect your Twitch account."
    assert is_dm_to(dm, member)
    assert "connect your Twitch account" in dm.content
    return link_in(dm.content)


# --- the happy path ------------------------------------------------------------------------


async def test_link_then_twitch_consent_links_dms_gives_the_role_and_logs(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    viewer_twitch: FakeTwitch,
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    link = await link_twitch_by_command(alice)  # the guild's only platform: no need to name it

    page = await sign_in(link_runtime, link)

    assert page.status_code == 200
    [event] = queued_events(link_runtime)
    assert isinstance(event, AccountLinked)
    assert event.platform == Platform.TWITCH
    await deliver_published(link_runtime)
    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert dm.content == (
        f"Your Discord account is now linked to **{inert(VIEWER_TWITCH_LOGIN)}** on Twitch."
    )
    assert role in member_of(guild_a, "alice").roles
    [embed] = [e for m in sent if m.channel.id == guild_a.text_channels[0].id for e in m.embeds]
    assert embed.title == "Account linked"
    assert "linked the Twitch account" in embed.description
    assert f"(id {VIEWER_TWITCH_ID})" in embed.description
    assert embed.fields[0].value == f"{role.mention} given"
    stored = link_runtime.linking.link_of(alice.id, Platform.TWITCH)
    assert stored is not None
    assert (stored.platform_user_id, stored.username) == (VIEWER_TWITCH_ID, VIEWER_TWITCH_LOGIN)


async def test_a_twitch_account_of_another_member_is_refused_and_they_hear_why(
    guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime
) -> None:
    bob = member_of(guild_a, "bob")
    link_runtime.linking.link(
        guild_id=guild_a.id,
        discord_user_id=bob.id,
        platform=Platform.TWITCH,
        platform_user_id=VIEWER_TWITCH_ID,
        username=VIEWER_TWITCH_LOGIN,
    )

    page = await sign_in(link_runtime, await link_twitch_by_command(alice, "!link twitch"))

    assert page.status_code == 409
    await deliver_published(link_runtime)
    [dm] = [m for m in await drain() if is_dm_to(m, alice)]
    assert dm.content.startswith("Your Twitch account was not linked: the Twitch account")
    holder = link_runtime.linking.link_of(bob.id, Platform.TWITCH)
    assert holder is not None
    assert link_runtime.linking.link_of(alice.id, Platform.TWITCH) is None


# --- both platforms in one guild --------------------------------------------------------------


class SentViews:
    """The views the bot sends with its messages (dpytest's messages keep no components)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.custom_ids: list[list[str]] = []
        original = discord.abc.Messageable.send

        async def send(target: Any, *args: Any, **kwargs: Any) -> discord.Message:
            view = kwargs.get("view")
            if isinstance(view, LinkButtonView):
                self.custom_ids.append([item.custom_id for item in view.children])  # type: ignore[attr-defined]
            return await original(target, *args, **kwargs)

        monkeypatch.setattr(discord.abc.Messageable, "send", send)


@pytest.fixture
def sent_views(monkeypatch: pytest.MonkeyPatch) -> SentViews:
    return SentViews(monkeypatch)


async def test_plain_link_with_both_platforms_asks_which_with_a_button_each(
    guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime, sent_views: SentViews
) -> None:
    both_platforms(link_runtime, guild_a)

    replies = await say("!link", alice)

    in_channel, dms = split_replies(replies)
    assert dms == []
    [reply] = in_channel
    assert reply.content == (
        "Which account do you want to link, Kick or Twitch? Use !link kick or !link twitch, "
        "or press a button below."
    )
    assert sent_views.custom_ids == [
        ["streamkeeper:link:start:kick", "streamkeeper:link:start:twitch"]
    ]
    # Nothing went out, so the member may name the platform at once.
    assert link_in(await link_twitch_by_command(alice, "!link Twitch"))


async def test_link_kick_names_the_platform(
    guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime
) -> None:
    both_platforms(link_runtime, guild_a)

    _, [dm] = split_replies(await say("!link KICK", alice))

    assert link_in(dm.content, KICK_START)


@pytest.mark.parametrize("word", ["twich", "youtube", "@everyone"])
async def test_link_with_an_unknown_platform_is_a_friendly_usage_line(
    word: str, guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime
) -> None:
    both_platforms(link_runtime, guild_a)

    [reply] = await say(f"!link {word}", alice)

    assert reply.content.startswith("I can't link a ")
    assert reply.content.endswith("Usage: !link [kick|twitch]")
    assert "@everyone" not in reply.content.replace("\\@everyone", "")


async def test_link_kick_without_a_kick_app_says_so(
    alice: discord.Member, link_runtime: Runtime
) -> None:
    [reply] = await say("!link kick", alice)

    assert reply.content.startswith("Linking Kick accounts isn't available")


async def test_linked_shows_both_platforms(
    guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime
) -> None:
    link_kick(link_runtime, guild_a, alice)
    await sign_in(link_runtime, await link_twitch_by_command(alice))

    [reply] = await say("!linked", alice)

    assert reply.content.startswith("Your Discord account is linked to:")
    assert "- Kick: **kick\\_al** (id 7001)" in reply.content
    assert f"- Twitch: **{inert(VIEWER_TWITCH_LOGIN)}** (id {VIEWER_TWITCH_ID})" in reply.content


async def test_unlink_twitch_keeps_the_kick_link_and_the_linked_role(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, link_runtime: Runtime
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    link_kick(link_runtime, guild_a, alice)
    await sign_in(link_runtime, await link_twitch_by_command(alice))
    await deliver_published(link_runtime)
    await drain()
    assert role in member_of(guild_a, "alice").roles

    [asked] = await say("!unlink", alice)
    assert asked.content == (
        "You have linked accounts on Kick or Twitch: use !unlink kick or !unlink twitch."
    )
    [for_admin] = [m for m in await say(f"!unlink {alice.mention}", manager) if m.content]
    assert for_admin.content == (
        "alice\\_0\\_nick has linked accounts on Kick or Twitch: "
        f"use !unlink {alice.mention} kick or !unlink {alice.mention} twitch."
    )
    [reply] = [m for m in await say("!unlink twitch", alice) if m.content]

    assert reply.content == (
        f"Your Discord account is no longer linked to **{inert(VIEWER_TWITCH_LOGIN)}** on Twitch."
    )
    assert link_runtime.linking.link_of(alice.id, Platform.TWITCH) is None
    assert link_runtime.linking.link_of(alice.id, Platform.KICK) is not None
    await deliver_published(link_runtime)  # the Discord worker makes what !unlink queued
    assert role in member_of(guild_a, "alice").roles  # still linked on Kick

    [last] = [m for m in await say("!unlink", alice) if m.content]

    assert last.content == "Your Discord account is no longer linked to **kick\\_al** on Kick."
    await deliver_published(link_runtime)
    assert role not in member_of(guild_a, "alice").roles


# --- panels -----------------------------------------------------------------------------------


async def test_a_button_panel_offers_a_button_per_platform_and_the_twitch_one_links_twitch(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    sent_views: SentViews,
) -> None:
    both_platforms(link_runtime, guild_a)
    sent = await say("!setup_link_button", manager)
    [panel] = [m for m in sent if m.embeds]
    assert panel.embeds[0].title == "Link your Kick or Twitch account"
    assert sent_views.custom_ids == [
        ["streamkeeper:link:start:kick", "streamkeeper:link:start:twitch"]
    ]

    answers = await press(guild_a, alice, "streamkeeper:link:start:twitch")

    [(content, options)] = answers
    assert options["ephemeral"] is True
    link = link_in(content)
    assert f"user={alice.id}" in link
    assert f"guild={guild_a.id}" in link
    assert (await sign_in(link_runtime, link)).status_code == 200


async def test_an_old_kick_only_panel_button_still_gives_a_kick_link(
    guild_a: discord.Guild, alice: discord.Member, link_runtime: Runtime
) -> None:
    both_platforms(link_runtime, guild_a)

    [(content, _)] = await press(guild_a, alice, render_linking.PANEL_BUTTON_ID)

    assert link_in(content, KICK_START)


async def test_a_reaction_panel_dms_a_link_per_platform(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, link_runtime: Runtime
) -> None:
    both_platforms(link_runtime, guild_a)
    sent = await say("!setup_link_panel", manager)
    [panel] = [m for m in sent if m.embeds]
    assert panel.embeds[0].title == "Link your Kick or Twitch account"

    await dpytest.add_reaction(alice, panel, "\N{LINK SYMBOL}")

    kick_dm, twitch_dm = await drain()
    assert is_dm_to(kick_dm, alice)
    assert is_dm_to(twitch_dm, alice)
    assert link_in(kick_dm.content, KICK_START)
    assert link_in(twitch_dm.content)


async def press(
    guild: discord.Guild, member: discord.Member, custom_id: str
) -> list[tuple[str, dict[str, Any]]]:
    """Press the button ``custom_id`` as ``member``, through the view the bot registers at start
    (the one that answers buttons of panels posted before a restart)."""
    answers: list[tuple[str, dict[str, Any]]] = []

    async def send_message(content: str, **kwargs: Any) -> None:
        answers.append((content, kwargs))

    interaction = SimpleNamespace(
        guild=guild, user=member, response=SimpleNamespace(send_message=send_message)
    )
    cog = dpytest.get_config().client.get_cog("Linking")
    assert isinstance(cog, LinkingCog)
    [view] = [v for v in cog.persistent_views() if isinstance(v, LinkButtonView)]
    [item] = [i for i in view.children if i.custom_id == custom_id]  # type: ignore[attr-defined]
    await item.callback(interaction)  # type: ignore[arg-type]
    return answers
