"""The whole link flow on dpytest's fake Discord, a real Runtime, the web app and a fake Kick on
127.0.0.1: a member asks for a link (command or panel), opens it, consents on Kick, and the bot
hears about it through the bus: a DM, the linked role (and watchtime roles already earned) and
an entry in the link log. Then every way it can fail, and panels that outlive a restart.
"""

from __future__ import annotations

import asyncio
import json
import logging

import discord
import pytest
import sqlalchemy as sa

from core.discord_bot.linking.cog import LINK_COOLDOWN_SECONDS
from core.discord_bot.render import inert
from core.discord_bot.services import BotServices
from core.events import AccountLinked, AccountLinkFailed, Event, Viewer, event_from_dict
from core.features.linking.service import ALREADY_LINKED, DECLINED, LINK_EXPIRED, REFUSED
from core.runtime import Runtime
from core.storage.tables import bus_events
from tests.discord_bot.conftest import BROADCASTER, KickChannel
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.fake_roles import MemberEdits, give_bot_a_role, make_role, role_ids
from tests.discord_bot.linking_support import (
    LINKED_DM,
    VIEWER_KICK_ID,
    VIEWER_KICK_NAME,
    deliver_published,
    drain,
    is_dm_to,
    link_in,
    linked_role_and_log,
    open_link,
    post_panel,
    react_to_restored_panel,
    restart,
    runtime_services,
    sign_in,
    split_replies,
)
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock


@pytest.fixture
def services(link_runtime: Runtime) -> BotServices:
    return runtime_services(link_runtime)


@pytest.fixture
def gateway(link_runtime: Runtime):  # type: ignore[no-untyped-def]
    return link_runtime.discord


async def link_by_command(member: discord.Member) -> str:
    """``!link``: the channel hears that a DM went out; the DM holds the link."""
    in_channel, dms = split_replies(await say("!link", member))
    [reply] = in_channel
    [dm] = dms
    assert reply.content == "I sent you a link by DM to connect your Kick account."
    assert is_dm_to(dm, member)
    return link_in(dm.content)


def log_embeds(messages: list[discord.Message], channel: discord.abc.Messageable) -> list:
    return [
        embed
        for message in messages
        if message.channel.id == channel.id  # type: ignore[attr-defined]
        for embed in message.embeds
    ]


def queued_events(runtime: Runtime) -> list[Event]:
    """Every event the web side put on the bus, delivered or not."""
    with runtime.engine.connect() as conn:
        payloads = conn.execute(sa.select(bus_events.c.payload).order_by(bus_events.c.id))
        return [event_from_dict(json.loads(payload)) for (payload,) in payloads]


def queued_kinds(runtime: Runtime) -> list[str]:
    return [event.kind for event in queued_events(runtime)]


# --- the happy path ------------------------------------------------------------------------


async def test_link_command_then_kick_consent_links_dms_gives_the_role_and_logs(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    viewer_kick: FakeKick,
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    link = await link_by_command(alice)

    page = await sign_in(link_runtime, link)

    assert page.status_code == 200
    assert f"now linked to {VIEWER_KICK_NAME}" in page.get_data(as_text=True)
    assert queued_kinds(link_runtime) == [AccountLinked.kind]
    await deliver_published(link_runtime)
    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert dm.content == LINKED_DM
    assert role in member_of(guild_a, "alice").roles
    [embed] = log_embeds(sent, guild_a.text_channels[0])
    assert embed.title == "Account linked"
    assert f"<@{alice.id}>" in embed.description
    assert f"**{inert(VIEWER_KICK_NAME)}** (id {VIEWER_KICK_ID})" in embed.description
    assert embed.fields[0].value == f"{role.mention} given"
    # The DM and the log post name the attempt in their nonces: a step made again after a
    # worker was killed mid-way is one message (tests/discord_bot/test_bot.py, a late answer).
    [log_post] = [m for m in sent if m.channel.id == guild_a.text_channels[0].id]
    assert len(str(dm.nonce)) == len(str(log_post.nonce)) == 25
    assert dm.nonce != log_post.nonce
    link = link_runtime.linking.link_of(alice.id)
    assert link is not None
    assert (link.platform_user_id, link.username) == (str(VIEWER_KICK_ID), VIEWER_KICK_NAME)
    # Only the identity was needed: the viewer's token went straight back to Kick.
    viewer_tokens = [t for t in viewer_kick.tokens.values() if t.user_id == VIEWER_KICK_ID]
    assert viewer_tokens
    assert all(t.revoked for t in viewer_tokens if t.kind == "access")


async def test_a_member_who_watched_before_linking_gets_the_watchtime_role_at_once(
    guild_a: discord.Guild,
    alice: discord.Member,
    link_runtime: Runtime,
    viewer_kick: FakeKick,
    clock: Clock,
    member_edits: MemberEdits,
) -> None:
    await give_bot_a_role(guild_a)
    regular = make_role(guild_a, "Regular", 2)
    link_runtime.roles.add_tier(guild_a.id, regular.id, 2)
    link_runtime.guilds.set_kick_channel(guild_a.id, "broadcaster_channel", BROADCASTER)
    kick = KickChannel(link_runtime, viewer_kick.private_key, clock)
    await kick.live_stream(Viewer(str(VIEWER_KICK_ID), VIEWER_KICK_NAME), minutes=3)

    await sign_in(link_runtime, await link_by_command(alice))
    await deliver_published(link_runtime)  # no periodic role sync: the link's handler syncs her

    assert role_ids(alice) == {regular.id}
    assert member_edits.of(alice) == [frozenset({regular.id})]


async def test_a_redelivered_link_event_repeats_nothing(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, link_runtime: Runtime
) -> None:
    await linked_role_and_log(guild_a, manager)
    await sign_in(link_runtime, await link_by_command(alice))
    [event] = queued_events(link_runtime)
    await deliver_published(link_runtime)
    assert len(await drain()) == 2  # the DM and the log entry

    await link_runtime.dispatcher(event)

    assert await drain() == []


async def test_renaming_on_kick_keeps_the_link(
    alice: discord.Member, link_runtime: Runtime, viewer_kick: FakeKick, clock: Clock
) -> None:
    await sign_in(link_runtime, await link_by_command(alice))
    viewer_kick.users[VIEWER_KICK_ID]["name"] = "viewer_renamed"

    # Linking again (after the rename) finds the same Kick id and keeps one link.
    clock.advance(LINK_COOLDOWN_SECONDS)  # !link may be used again
    alice_again = await link_by_command(alice)
    page = await sign_in(link_runtime, alice_again)

    assert page.status_code == 200
    link = link_runtime.linking.link_of(alice.id)
    assert link is not None
    assert (link.platform_user_id, link.username) == (str(VIEWER_KICK_ID), "viewer_renamed")


# --- failures --------------------------------------------------------------------------------


async def test_declined_consent_is_explained_on_the_page_by_dm_and_in_the_log(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    viewer_kick: FakeKick,
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    viewer_kick.deny_next_consent()

    page = await sign_in(link_runtime, await link_by_command(alice))

    assert page.status_code == 400
    assert "You declined on Kick, so your accounts were not linked." in page.get_data(as_text=True)
    assert queued_kinds(link_runtime) == [AccountLinkFailed.kind]
    await deliver_published(link_runtime)
    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert dm.content == (
        "Your Kick account was not linked: you declined on Kick. Use !link kick to try again."
    )
    [embed] = log_embeds(sent, guild_a.text_channels[0])
    assert embed.title == "Link refused"
    assert "you declined on Kick" in embed.description
    assert role not in member_of(guild_a, "alice").roles
    assert link_runtime.linking.link_of(alice.id) is None
    [entry] = link_runtime.linking.history(guild_a.id, alice.id)
    assert (entry.action, entry.reason) == (REFUSED, DECLINED)


async def test_an_expired_link_is_explained_once_however_often_it_is_opened(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    clock: Clock,
) -> None:
    await linked_role_and_log(guild_a, manager)
    link = await link_by_command(alice)
    clock.advance(3600)

    pages = [await open_link(link_runtime, link) for _ in range(2)]

    for page in pages:
        assert page.status_code == 403
        assert "This link has expired." in page.get_data(as_text=True)
    assert queued_kinds(link_runtime) == [AccountLinkFailed.kind]
    await deliver_published(link_runtime)
    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert "the link had expired" in dm.content
    [embed] = log_embeds(sent, guild_a.text_channels[0])
    assert embed.title == "Link refused"
    assert [e.reason for e in link_runtime.linking.history(guild_a.id, alice.id)] == [LINK_EXPIRED]


@pytest.mark.parametrize(("field", "value"), [("user", "1"), ("guild", "2"), ("sig", "0" * 64)])
async def test_a_tampered_link_names_nobody_so_only_the_app_log_hears_of_it(
    field: str,
    value: str,
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await linked_role_and_log(guild_a, manager)
    link = await link_by_command(alice)
    tampered = link.replace(f"{field}=", f"{field}={value}&x=", 1)
    caplog.set_level(logging.INFO)

    page = await open_link(link_runtime, tampered)

    assert page.status_code == 403
    assert "This link is not valid. Use the exact link the bot sent you." in page.get_data(
        as_text=True
    )
    assert "refused a kick-viewer start link: tampered" in caplog.text
    assert queued_kinds(link_runtime) == []
    assert await drain() == []


async def test_a_kick_account_linked_to_someone_else_is_refused_and_kept(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_runtime: Runtime,
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    await sign_in(link_runtime, await link_by_command(manager))
    await deliver_published(link_runtime)
    await drain()

    page = await sign_in(link_runtime, await link_by_command(alice))

    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert f"The Kick account {VIEWER_KICK_NAME} is already linked to another Discord user" in text
    await deliver_published(link_runtime)
    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert dm.content == (
        f"Your Kick account was not linked: the Kick account **{inert(VIEWER_KICK_NAME)}** is "
        "already linked to another Discord user. If it is yours, unlink it with !unlink from the "
        "Discord account that linked it, or ask a server admin to unlink it, then link again."
    )
    [embed] = log_embeds(sent, guild_a.text_channels[0])
    assert embed.title == "Link refused"
    assert "already linked to another Discord user" in embed.description
    assert str(manager.id) not in embed.description  # who holds it stays private
    assert role not in member_of(guild_a, "alice").roles
    holder = link_runtime.linking.link_of(manager.id)
    assert holder is not None
    assert link_runtime.linking.link_of(alice.id) is None
    [entry] = link_runtime.linking.history(guild_a.id, alice.id)
    assert (entry.action, entry.reason) == (REFUSED, ALREADY_LINKED)


async def test_an_account_linked_in_another_server_is_not_sent_to_an_admin_who_cannot_help(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    link_runtime: Runtime,
) -> None:
    """bob linked the Kick account in Guild B: Guild A's admins cannot unlink it (!unlink
    refuses them), so alice is told who can: the Discord account that linked it."""
    await sign_in(link_runtime, await link_by_command(member_of(guild_b, "bob")))
    await deliver_published(link_runtime)
    await drain()

    page = await sign_in(link_runtime, await link_by_command(alice))

    assert page.status_code == 409
    assert (
        f"The Kick account {VIEWER_KICK_NAME} is already linked to another Discord user, in "
        "another server, so no admin here can unlink it. If it is yours, unlink it with !unlink "
        "from the Discord account that linked it, then link again."
    ) in page.get_data(as_text=True)
    await deliver_published(link_runtime)
    [dm] = [m for m in await drain() if is_dm_to(m, alice)]
    assert dm.content == (
        f"Your Kick account was not linked: the Kick account **{inert(VIEWER_KICK_NAME)}** is "
        "already linked to another Discord user, in another server, so no admin here can unlink "
        "it. If it is yours, unlink it with !unlink from the Discord account that linked it, "
        "then link again."
    )


async def test_a_used_sign_in_state_is_refused_without_an_event(
    alice: discord.Member, link_runtime: Runtime
) -> None:
    web = link_runtime.create_web_app().test_client()
    page = await asyncio.to_thread(web.get, "/auth/kick/callback?state=nosuchstate&code=abc")
    assert page.status_code == 400
    assert "already used or is older than 10 minutes" in page.get_data(as_text=True)
    assert queued_kinds(link_runtime) == []


# --- panels after a restart ------------------------------------------------------------------


async def test_a_member_links_through_a_restored_panel_and_holds_the_linked_role(
    guild_a: discord.Guild,
    manager: discord.Member,
    link_runtime: Runtime,
) -> None:
    role = await linked_role_and_log(guild_a, manager)
    panel = await post_panel(manager)

    _, config = await restart(link_runtime)
    guild = config.guilds[0]
    channel = guild.text_channels[0]
    alice = member_of(guild, "alice")
    await react_to_restored_panel(alice, panel.id)

    sent = await drain()
    [dm] = sent
    assert is_dm_to(dm, alice)
    link = link_in(dm.content)
    assert f"user={alice.id}" in link
    assert f"guild={guild.id}" in link
    refreshed = await channel.fetch_message(panel.id)
    assert [(str(r.emoji), r.count) for r in refreshed.reactions] == []

    page = await sign_in(link_runtime, link)
    assert page.status_code == 200
    await deliver_published(link_runtime)

    sent = await drain()
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert dm.content == LINKED_DM
    assert role.id in [r.id for r in member_of(guild, "alice").roles]
    [embed] = log_embeds(sent, channel)
    assert embed.title == "Account linked"
    link_row = link_runtime.linking.link_of(alice.id)
    assert link_row is not None
    assert link_row.platform_user_id == str(VIEWER_KICK_ID)


async def test_a_restored_panel_in_one_guild_ignores_the_same_message_id_in_another(
    guild_a: discord.Guild, manager: discord.Member, link_runtime: Runtime
) -> None:
    panel = await post_panel(manager)

    _, config = await restart(link_runtime)
    other = config.guilds[1]
    await react_to_restored_panel(member_of(other, "bob"), panel.id)

    assert await drain() == []
    assert link_runtime.linking.panel(other.id, panel.id) is None
