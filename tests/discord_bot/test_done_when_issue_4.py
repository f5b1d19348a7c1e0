"""Issue 4's "done when", as one story on dpytest's fake Discord with one real Runtime: a member
reacts to a restored link panel, links their Kick account through the web app and the fake Kick,
chats on the streamer's Kick channel during a live stream (signed webhooks), and after enough
ticks holds the configured watchtime role, which goes again when an admin raises its threshold.

The bot's side runs as the bot process would: the bus delivers what the web app queued to the
Runtime's dispatcher, the watchtime tick and the role sync job's ``sync_all`` run on the test's
clock, and the bot reaches Discord through the Runtime's gateway.
"""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.services import BotServices
from core.events import Viewer
from core.runtime import Runtime
from tests.discord_bot.conftest import BROADCASTER, KickChannel
from tests.discord_bot.fake_discord import member_of, say
from tests.discord_bot.fake_roles import record_member_edits, role_ids
from tests.discord_bot.linking_support import (
    LINKED_DM,
    VIEWER_KICK_ID,
    VIEWER_KICK_NAME,
    deliver_published,
    drain,
    is_dm_to,
    link_in,
    linked_role_and_log,
    post_panel,
    react_to_restored_panel,
    restart,
    runtime_services,
    sign_in,
)
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock


@pytest.fixture
def services(link_runtime: Runtime) -> BotServices:
    return runtime_services(link_runtime)


@pytest.fixture
def gateway(link_runtime: Runtime):  # type: ignore[no-untyped-def]
    return link_runtime.discord


async def test_a_member_links_from_a_restored_panel_watches_earns_the_role_and_loses_it_again(
    guild_a: discord.Guild,
    manager: discord.Member,
    link_runtime: Runtime,
    viewer_kick: FakeKick,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The admin's setup: a linked role, the link log, a watchtime role at 5 minutes, the
    # streamer's Kick channel, and a link panel.
    linked = await linked_role_and_log(guild_a, manager)
    regular = dpytest.backend.make_role("Regular", guild_a)  # below the bot's role
    [added] = await say(f"!roles add {regular.mention} 5", manager)
    assert added.content.startswith(
        f"\N{WHITE HEAVY CHECK MARK} {regular.mention} is now a watchtime role"
    )
    link_runtime.guilds.set_kick_channel(guild_a.id, "broadcaster_channel", BROADCASTER)
    panel = await post_panel(manager)

    # The bot restarts; the member reacts to the panel it posted before.
    new_bot, config = await restart(link_runtime)
    guild = config.guilds[0]
    channel = guild.text_channels[0]
    alice, admin = member_of(guild, "alice"), member_of(guild, "bob")
    edits = record_member_edits(monkeypatch, new_bot)
    await react_to_restored_panel(alice, panel.id)

    [dm] = await drain()
    assert is_dm_to(dm, alice)
    assert dm.content.startswith(
        f"Here is your personal link to connect your Kick account for {guild.name} "
    )
    link = link_in(dm.content)
    assert dm.content.endswith(link)
    refreshed = await channel.fetch_message(panel.id)
    assert refreshed.reactions == []  # the reaction is taken away again

    # She opens the link and consents on the fake Kick as viewer_one; the bot hears of it.
    page = await sign_in(link_runtime, link)
    assert page.status_code == 200
    assert f"now linked to {VIEWER_KICK_NAME}" in page.get_data(as_text=True)
    await deliver_published(link_runtime)
    sent = await drain()
    assert [m.content for m in sent if is_dm_to(m, alice)] == [LINKED_DM]
    assert role_ids(alice) == {linked.id}  # linked, but no watchtime yet

    # The stream goes live on Kick and viewer_one chats every minute while the ticks run.
    kick = KickChannel(link_runtime, viewer_kick.private_key, clock)
    await kick.live_stream(Viewer(str(VIEWER_KICK_ID), VIEWER_KICK_NAME), minutes=6)
    [row] = link_runtime.watchtime.export(guild.id)
    assert (row.platform_user_id, row.seconds) == (str(VIEWER_KICK_ID), 360)

    await link_runtime.role_sync.sync_all()  # what the role sync job runs every interval

    assert role_ids(alice) == {linked.id, regular.id}
    [reply] = await say("!watchtime", alice)
    last_chat = f"<t:{int(clock().timestamp())}:R>"
    assert reply.content.splitlines() == [
        f"<@{alice.id}> (**viewer\\_one** on Kick) has watched 6 min, rank #1 of 1, "
        f"last seen {last_chat}.",
        "Every watchtime role reached.",
    ]

    # The admin raises the threshold above her watchtime: the next sync takes the role away.
    [updated] = await say(f"!roles update {regular.mention} 60", admin)
    assert "now needs 1 h 00 min" in updated.content
    await link_runtime.role_sync.sync_all()

    assert role_ids(alice) == {linked.id}
    [reply] = await say("!watchtime", alice)
    assert reply.content.splitlines()[1] == (
        f"Next role: {regular.mention} at 1 h 00 min, 54 min to go."
    )
    assert edits.of(alice) == [  # one request per role: given, given, taken away
        frozenset({linked.id}),
        frozenset({linked.id, regular.id}),
        frozenset({linked.id}),
    ]
    assert edits.of(admin) == []  # nobody else was touched
