"""Guild isolation: for each guild-scoped command family, guild B's admin can neither read nor
change guild A's data (issue 11). dpytest builds two servers with members alice and bob (distinct
users per server); ``also_in`` joins one user to the other server, and bob is given Manage Server
in the server a test needs. The services are a real Runtime's, on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import discord
import discord.ext.test as dpytest
import pytest

from core.discord_bot.services import BotServices
from core.events import ChatMessageSent, Platform, Viewer
from core.features.linking.service import LinkingService
from core.features.raffle.errors import RaffleRefused
from core.runtime import Runtime
from tests.discord_bot.fake_discord import member_of, say
from tests.fakes.kick_server import CLIENT_ID, CLIENT_SECRET, FakeKick
from tests.fakes.shuffle_server import FakeShuffle
from tests.support.events import chat_message

# What guild A holds; none of it may show in guild B, and nothing B's admin does may change it.
A_VIEWER = "zed_from_a"
A_CHANNEL = "streamer"
A_SLOT = "Book of Guild A"
A_CODE = "CODEA"
A_SHUFFLER = "shuffler_of_a"
A_BLACKLISTED = "spammer_of_a"
A_ROLE_ID = 424242424242424242
A_LINKED_ROLE_ID = 424242424242424243  # linked members' role: never a watchtime role too
A_LOG_CHANNEL_ID = 515151515151


@pytest.fixture
def fake_kick() -> Iterator[FakeKick]:
    with FakeKick(username=A_CHANNEL, user_id=1001) as fake:
        yield fake


@pytest.fixture
def shuffle() -> Iterator[FakeShuffle]:
    with FakeShuffle() as fake:
        yield fake


@pytest.fixture
def runtime(make_runtime: Any, fake_kick: FakeKick, shuffle: FakeShuffle) -> Runtime:
    return make_runtime(
        KICK_API_BASE_URL=fake_kick.url,
        KICK_OAUTH_BASE_URL=fake_kick.url,
        KICK_SITE_BASE_URL=fake_kick.url,
        KICK_CLIENT_ID=CLIENT_ID,
        KICK_CLIENT_SECRET=CLIENT_SECRET,
        OAUTH_BASE_URL="http://bot.test",
        KICK_PUSHER_ENABLED="false",
        SHUFFLE_ALLOWED_HOSTS=shuffle.host,
    )


@pytest.fixture
def services(runtime: Runtime) -> BotServices:
    return BotServices(
        watchtime=runtime.watchtime,
        guilds=runtime.guilds,
        health=runtime.health,
        kick_setup=runtime.kick_setup,
        roles=runtime.roles,
        role_sync=runtime.role_sync,
        linking=runtime.linking,
        link_effects=runtime.link_effects,
        slot_calls=runtime.slot_calls,
        slot_call_chat=runtime.slot_call_chat,
        raffle=runtime.raffle,
        wagers=runtime.wagers,
    )


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
    """Everything the replies say, text and embeds, with Markdown's escapes taken out."""
    texts = [m.content for m in replies]
    for message in replies:
        for embed in message.embeds:
            texts += [embed.title or "", embed.description or ""]
            texts += [f"{field.name} {field.value}" for field in embed.fields]
    return "\n".join(texts).replace("\\", "")


def chat(runtime: Runtime, viewer: Viewer, text: str = "hi") -> ChatMessageSent:
    return chat_message(text, broadcaster="1001", viewer=viewer, at=runtime.clock())


@pytest.fixture
async def guild_a_data(
    runtime: Runtime, guild_a: discord.Guild, fake_kick: FakeKick, shuffle: FakeShuffle
) -> discord.Member:
    """Guild A, fully set up by its own admin; returns alice (linked there, with tickets)."""
    a = guild_a.id
    alice = member_of(guild_a, "alice")
    runtime.guilds.set_kick_channel(a, A_CHANNEL, "1001", chatroom_id=91001)
    viewer = Viewer("5005", A_VIEWER)
    start = runtime.clock()
    runtime.watchtime.tick(a, start)
    runtime.watchtime.record_chat(a, chat(runtime, viewer))
    runtime.watchtime.tick(a, start + timedelta(minutes=1))
    runtime.roles.add_tier(a, A_ROLE_ID, 1)
    runtime.linking.link(
        guild_id=a,
        discord_user_id=alice.id,
        platform=Platform.KICK,
        platform_user_id="7001",
        username="kick_al",
    )
    runtime.linking.set_log_channel(a, A_LOG_CHANNEL_ID)
    runtime.linking.set_linked_role(a, A_LINKED_ROLE_ID)
    runtime.slot_calls.set_enabled(a, True)
    runtime.slot_calls.request(a, chat(runtime, viewer, f"!call {A_SLOT}"), A_SLOT)
    runtime.slot_calls.blacklist.add(a, A_BLACKLISTED, added_by=1)
    runtime.raffle.periods.start(a)
    runtime.raffle.admin.give(
        a, actor_id=1, member_id=alice.id, tickets=7, reason="for A", reference="a-1"
    )
    runtime.wagers.set_affiliate_url(a, shuffle.affiliate_url)
    runtime.wagers.set_campaign_codes(a, A_CODE)
    runtime.wagers.request_link(a, alice.id, A_SHUFFLER)
    return alice


def tickets_of(runtime: Runtime, guild_id: int, member_id: int) -> object:
    try:
        return runtime.raffle.views.tickets_of(guild_id, member_id)
    except RaffleRefused as refused:  # no link any more
        return str(refused)


def snapshot(runtime: Runtime, guild_id: int, alice_id: int) -> list[Any]:
    """Everything guild A holds, as plain values."""
    return [
        runtime.guilds.kick_channel_of(guild_id),
        runtime.watchtime.export(guild_id),
        runtime.watchtime.tracking_status(guild_id),
        runtime.roles.tiers(guild_id),
        runtime.roles.settings(guild_id),
        runtime.linking.settings(guild_id),
        runtime.linking.link_of(alice_id),
        runtime.slot_calls.status(guild_id),
        runtime.slot_calls.open_calls(guild_id, 50),
        runtime.slot_calls.blacklist.entries(guild_id),
        tickets_of(runtime, guild_id, alice_id),
        runtime.raffle.periods.rates(guild_id),
        runtime.raffle.views.info(guild_id),
        runtime.wagers.status(guild_id),
        runtime.wagers.link_of(guild_id, alice_id),
    ]


# --- reading ---------------------------------------------------------------------------------

READ_COMMANDS = [
    f"!watchtime {A_VIEWER}",
    "!leaderboard",
    "!tracking status",
    "!roles list",
    "!linkrole",
    "!linklogs status",
    "!linkowner kick_al",
    "!slotlist",
    "!slotcalls status",
    "!callblacklist list",
    "!tickets",
    "!raffleboard",
    "!raffleinfo",
    "!rafflestats",
    "!fair",
    "!shuffle status",
    "!kick status",
    "!health",
]
A_MARKERS = (A_VIEWER, A_SLOT, A_CODE, A_SHUFFLER, A_BLACKLISTED, str(A_ROLE_ID),
             str(A_LOG_CHANNEL_ID), "kick_al", "91001", "1001")  # fmt: skip


@pytest.mark.parametrize("command", READ_COMMANDS)
async def test_guild_bs_admin_reads_nothing_of_guild_a(
    command: str, guild_a_data: discord.Member, guild_b: discord.Guild
) -> None:
    admin_b = await admin_of(guild_b)

    replies = await say(command, admin_b)

    said = contents(replies)
    assert said, f"{command} answered nothing"
    for typed in command.split()[1:]:  # what B's admin typed may be repeated back
        said = said.replace(typed, "")
    leaked = [marker for marker in A_MARKERS if marker in said]
    assert leaked == [], f"{command} in guild B shows guild A's {leaked}: {said!r}"


async def test_the_same_commands_show_guild_a_its_own_data(
    guild_a_data: discord.Member, guild_a: discord.Guild
) -> None:
    """The control: the data is there and these commands do show it, in its own server."""
    admin_a = await admin_of(guild_a)
    said = ""
    for command in READ_COMMANDS:
        said += contents(await say(command, admin_a))

    shown = [marker for marker in A_MARKERS if marker in said]
    assert set(shown) >= {A_VIEWER, A_SLOT, A_CODE, A_SHUFFLER, A_BLACKLISTED, str(A_ROLE_ID)}


# --- changing --------------------------------------------------------------------------------

CHANGE_COMMANDS = [
    "!tracking off",
    f"!roles remove {A_ROLE_ID}",
    "!roles disable",
    "!roles mode highest",
    "!roles dm on",
    "!linkrole off",
    "!linklogs off",
    "!slotcalls off",
    "!slotcalls cooldown 5",
    "!slotcalls limit 1",
    "!slotcalls requirelink on",
    "!clearslots",
    "!pickslot",
    f"!callblacklist remove {A_BLACKLISTED}",
    "!raffleend",
    "!rafflerestart",
    "!raffleset watch_hour 99",
    "!rafflegive {alice} 5",
    "!raffleremove {alice} 5",
    "!raffleexclude {alice}",
    "!shuffle url off",
    "!shuffle codes off",
    "!unlinkshuffle {alice}",
    f"!verifyshuffle {{alice}} {A_SHUFFLER}",
    "!unlink {alice}",
    "!kick setup streamer",
]


@pytest.mark.parametrize("command", CHANGE_COMMANDS)
async def test_guild_bs_admin_changes_nothing_of_guild_a(
    command: str,
    runtime: Runtime,
    guild_a: discord.Guild,
    guild_a_data: discord.Member,
    guild_b: discord.Guild,
) -> None:
    alice = guild_a_data
    before = snapshot(runtime, guild_a.id, alice.id)
    admin_b = await admin_of(guild_b)
    alice_in_b = also_in(guild_b, alice)

    await say(command.format(alice=alice_in_b.mention), admin_b)

    assert snapshot(runtime, guild_a.id, alice.id) == before


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
    guild_a: discord.Guild, guild_b: discord.Guild, runtime: Runtime
) -> None:
    linking = runtime.linking
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
    guild_a: discord.Guild, guild_b: discord.Guild, runtime: Runtime
) -> None:
    linking = runtime.linking
    alice = member_of(guild_a, "alice")
    link_in(linking, guild_a, alice)

    [reply] = await say("!unlink", also_in(guild_b, alice))

    assert "no longer linked" in reply.content
    assert linking.link_of(alice.id) is None


@pytest.mark.parametrize("command", CHANGE_COMMANDS)
async def test_the_same_changes_in_guild_a_do_change_it(
    command: str,
    runtime: Runtime,
    guild_a: discord.Guild,
    guild_a_data: discord.Member,
) -> None:
    """The control: each command above does change guild A when its own admin runs it."""
    alice = guild_a_data
    before = snapshot(runtime, guild_a.id, alice.id)
    admin_a = await admin_of(guild_a)

    await say(command.format(alice=alice.mention), admin_a)

    assert snapshot(runtime, guild_a.id, alice.id) != before
