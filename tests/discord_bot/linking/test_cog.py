"""!link, !unlink, !linkrole, !linklogs and the link panels on dpytest's fake Discord, backed by
the real linking service on SQLite. The OAuth round trip itself is in ``test_link_flow.py``.

Closed DMs are the one thing dpytest cannot do; those tests make ``Member.send`` raise the
``discord.Forbidden`` Discord answers with.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from sqlalchemy.engine import Engine

from core.discord_bot.bot import create_bot
from core.discord_bot.linking import panel_words
from core.discord_bot.linking import render as render_linking
from core.discord_bot.linking.cog import LinkButtonView, LinkingCog
from core.discord_bot.services import BotServices
from core.events import AccountLinked, Platform, Viewer
from core.features.connections.kick.service import PURPOSE_VIEWER
from core.features.linking.effects import LinkEffects
from core.features.linking.queued import QueuedLinkEffects
from core.features.linking.service import LINKED, UNLINKED, LinkingService
from core.features.roles.service import RolesService
from core.features.vip.service import VipService
from core.outbox import DISCORD, store
from core.outbox.undone import UndoneCalls
from core.outbox.worker import OutboxWorker
from core.security.links import LINK_LIFETIME, verify_link_params
from tests.discord_bot.conftest import LINK_BASE_URL, LINK_SECRET, Stream
from tests.discord_bot.fake_discord import allow_unknown_channel_mentions, member_of, say
from tests.discord_bot.fake_roles import MemberEdits, give_bot_a_role, make_role
from tests.discord_bot.linking_support import drain, is_dm_to, split_replies
from tests.features.vip.doubles import FakeVipChannel
from tests.support.clock import Clock
from tests.support.waiting import eventually

LINK_EMOJI = "\N{LINK SYMBOL}"


def link_of_text(text: str) -> str:
    [link] = [word for word in text.split() if word.startswith(f"{LINK_BASE_URL}/auth/kick?")]
    return link


def claims_of(link: str, clock: Clock):  # type: ignore[no-untyped-def]
    params = dict(parse_qsl(urlsplit(link).query))
    return verify_link_params(LINK_SECRET, PURPOSE_VIEWER, params, clock())


def link_kick_account(
    linking: LinkingService, guild: discord.Guild, member: discord.Member, name: str = "kick_al"
) -> None:
    linking.link(
        guild_id=guild.id,
        discord_user_id=member.id,
        platform=Platform.KICK,
        platform_user_id="7001",
        username=name,
    )


@pytest.fixture
def dms_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    async def closed(self: discord.abc.Messageable, *args: object, **kwargs: object) -> None:
        response = dpytest.backend.FakeRequest(403, "Forbidden")
        raise discord.Forbidden(response, "Cannot send messages to this user")

    monkeypatch.setattr(discord.Member, "send", closed)


@pytest.fixture
def discord_calls(sqlite_engine: Engine, clock: Clock, link_effects: LinkEffects) -> OutboxWorker:
    """The Discord worker: it makes what !unlink queued (the linked role, the link log)."""
    kinds = QueuedLinkEffects(sqlite_engine, clock, link_effects).kinds()
    return OutboxWorker(sqlite_engine, DISCORD, kinds, clock)


@pytest.fixture
def pins(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Ids of the messages the bot pinned (dpytest keeps no pins of its own)."""
    pinned: list[int] = []
    original = discord.Message.pin

    async def pin(self: discord.Message, *, reason: str | None = None) -> None:
        pinned.append(self.id)
        await original(self, reason=reason)

    monkeypatch.setattr(discord.Message, "pin", pin)
    return pinned


async def bot_may_manage_roles(guild: discord.Guild) -> discord.Role:
    role = dpytest.backend.make_role(
        "StreamKeeper", guild, permissions=discord.Permissions(manage_roles=True).value
    )
    await dpytest.add_role(guild.me, role)
    return role


# --- !link -----------------------------------------------------------------------------------


async def test_link_dms_a_personal_signed_link_with_a_button_and_keeps_it_out_of_the_channel(
    guild_a: discord.Guild, alice: discord.Member, clock: Clock
) -> None:
    in_channel, dms = split_replies(await say("!link", alice))

    [reply] = in_channel
    assert reply.content == "I sent you a link by DM to connect your Kick account."
    [dm] = dms
    assert is_dm_to(dm, alice)
    link = link_of_text(dm.content)
    claims = claims_of(link, clock)
    assert (claims.discord_user_id, claims.guild_id) == (alice.id, guild_a.id)
    assert claims.expires_at == clock() + LINK_LIFETIME
    assert "http" not in reply.content


async def test_the_dm_carries_a_link_button(
    guild_a: discord.Guild, linking: LinkingService, link_effects: LinkEffects
) -> None:
    sent: list[dict[str, Any]] = []

    async def send(content: str, **kwargs: Any) -> None:
        sent.append({"content": content, **kwargs})

    cog = LinkingCog(linking, link_effects)
    link = linking.start_link(guild_a.id, 4242)

    assert await cog.send_link_by_dm(SimpleNamespace(send=send), link, "Guild A", None)  # type: ignore[arg-type]

    [message] = sent
    [button] = message["view"].children
    assert (button.url, button.label) == (link, "Link my Kick account")
    assert link in message["content"]


async def test_link_when_already_linked_says_which_account_it_replaces(
    guild_a: discord.Guild, alice: discord.Member, linking: LinkingService
) -> None:
    link_kick_account(linking, guild_a, alice, name="kick_al")

    _, [dm] = split_replies(await say("!link", alice))

    assert "You're linked to **kick\\_al** now; linking another Kick account replaces it." in (
        dm.content
    )


async def test_link_with_closed_dms_says_so_in_the_channel_without_the_link(
    alice: discord.Member, dms_closed: None
) -> None:
    [reply] = await say("!link", alice)

    assert reply.content == (
        "I couldn't DM you the link: your direct messages are closed to me. Use the slash "
        "command /link instead; it shows the link to you alone."
    )
    # No cooldown was spent: the member can try /link (or !link) at once.
    [again] = await say("!link", alice)
    assert again.content == reply.content


async def test_link_twice_in_a_row_is_slowed_down(alice: discord.Member) -> None:
    await say("!link", alice)

    [reply] = await say("!link", alice)

    assert reply.content == "Slow down: try again in 30 s."


async def test_link_in_direct_messages_is_refused(alice: discord.Member) -> None:
    dm = await alice.create_dm()

    [reply] = await say("!link", alice, channel=dm)

    assert reply.content == "This command only works in a server, not in direct messages."


async def test_link_without_any_app_says_linking_is_not_available(
    alice: discord.Member, linking: LinkingService
) -> None:
    linking.kick_configured = False

    [reply] = await say("!link", alice)

    assert reply.content == (
        "Linking isn't available yet: this bot has no Kick or Twitch app. The bot's operator "
        "sets `KICK_CLIENT_ID` and `KICK_CLIENT_SECRET` (or the `TWITCH_` ones) to turn it on."
    )


class FakeSlashContext:
    """Just enough of a Context for ``/link``: dpytest cannot send interactions."""

    def __init__(self, guild: discord.Guild, author: Any) -> None:
        self.guild = guild
        self.interaction = object()
        self.clean_prefix = "/"
        self.author = author
        self.command = None
        self.deferred: list[dict[str, Any]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def defer(self, **kwargs: Any) -> None:
        self.deferred.append(kwargs)

    async def send(self, content: str, **kwargs: Any) -> None:
        self.sent.append((content, kwargs))


async def test_slash_link_answers_ephemerally_with_the_link_and_sends_no_dm(
    guild_a: discord.Guild, linking: LinkingService, link_effects: LinkEffects, clock: Clock
) -> None:
    dms: list[str] = []

    async def dm(content: str, **kwargs: Any) -> None:
        dms.append(content)

    cog = LinkingCog(linking, link_effects)
    ctx = FakeSlashContext(guild_a, SimpleNamespace(id=4242, send=dm))

    await cog.link.callback(cog, ctx, None)  # type: ignore[arg-type] # discord.py passes it

    [(content, options)] = ctx.sent
    assert options["ephemeral"] is True
    assert options["allowed_mentions"].to_dict() == {"parse": []}
    link = link_of_text(content)
    assert claims_of(link, clock).discord_user_id == 4242
    [button] = options["view"].children
    assert (button.url, button.style) == (link, discord.ButtonStyle.link)
    assert dms == []


# --- !unlink ---------------------------------------------------------------------------------


async def test_unlink_removes_your_own_link_and_keeps_the_history(
    guild_a: discord.Guild, alice: discord.Member, linking: LinkingService
) -> None:
    link_kick_account(linking, guild_a, alice)

    [reply] = await say("!unlink", alice)

    assert reply.content == "Your Discord account is no longer linked to **kick\\_al** on Kick."
    assert linking.link_of(alice.id) is None
    history = linking.history(guild_a.id, alice.id)
    assert [(e.action, e.platform_user_id, e.actor_id) for e in history] == [
        (LINKED, "7001", alice.id),
        (UNLINKED, "7001", alice.id),
    ]


async def test_unlink_without_a_link_says_so(alice: discord.Member) -> None:
    [reply] = await say("!unlink", alice)

    assert reply.content == "You have no linked Kick account."


async def test_unlinking_someone_else_needs_manage_server(
    guild_a: discord.Guild, alice: discord.Member, linking: LinkingService
) -> None:
    bob = member_of(guild_a, "bob")
    link_kick_account(linking, guild_a, bob)

    [reply] = await say(f"!unlink {bob.mention}", alice)

    assert reply.content == (
        "You need the Manage Server permission to unlink someone else. "
        "!unlink alone unlinks your own account."
    )
    assert linking.link_of(bob.id) is not None


async def test_an_admin_unlinks_a_member_takes_the_linked_role_and_logs_it(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    discord_calls: OutboxWorker,
) -> None:
    await bot_may_manage_roles(guild_a)
    role = dpytest.backend.make_role("Linked", guild_a)
    await dpytest.add_role(alice, role)
    link_kick_account(linking, guild_a, alice)
    await say(f"!linkrole {role.mention}", manager)
    await say("!linklogs on", manager)

    [reply] = await say(f"!unlink {alice.mention}", manager)
    assert reply.content == "alice\\_0\\_nick is no longer linked to **kick\\_al** on Kick."
    assert await discord_calls.run_once() == 1  # the Discord worker takes the role and logs

    assert role not in member_of(guild_a, "alice").roles
    [embed] = [e for m in await drain() for e in m.embeds]
    assert embed.title == "Account unlinked"
    assert f"Unlinked by <@{manager.id}>" in embed.description
    assert embed.fields[0].value == f"{role.mention} removed"
    [*_, last] = linking.history(guild_a.id, alice.id)
    assert (last.action, last.actor_id) == (UNLINKED, manager.id)


async def test_an_unlink_discord_fails_to_follow_takes_the_linked_role_when_it_answers_again(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    discord_calls: OutboxWorker,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await bot_may_manage_roles(guild_a)
    role = dpytest.backend.make_role("Linked", guild_a)
    await dpytest.add_role(alice, role)
    link_kick_account(linking, guild_a, alice)
    await say(f"!linkrole {role.mention}", manager)
    await say("!linklogs on", manager)
    original = discord.Member.remove_roles
    outages = [503]

    async def remove_roles(self: discord.Member, *roles: Any, **kwargs: Any) -> None:
        if outages:  # Discord answers 503 once
            response = dpytest.backend.FakeRequest(outages.pop(), "Service Unavailable")
            raise discord.DiscordServerError(response, "")
        await original(self, *roles, **kwargs)

    monkeypatch.setattr(discord.Member, "remove_roles", remove_roles)

    [reply] = await say("!unlink", alice)
    assert reply.content == "Your Discord account is no longer linked to **kick\\_al** on Kick."
    await discord_calls.run_once()  # Discord fails: the call waits for its next try
    assert role in member_of(guild_a, "alice").roles
    [again] = await say("!unlink", alice)
    assert again.content == "You have no linked Kick account."
    clock.advance(60)
    await discord_calls.run_once()

    assert role not in member_of(guild_a, "alice").roles
    [embed] = [e for m in await drain() for e in m.embeds]
    assert (embed.title, embed.fields[0].value) == ("Account unlinked", f"{role.mention} removed")


async def test_unlink_of_a_mistyped_member_unlinks_nobody(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    link_kick_account(linking, guild_a, manager)

    [reply] = await say("!unlink nobody_by_that_name", manager)

    assert reply.content == "That doesn't look right. Usage: !unlink [member] [kick|twitch]"
    assert linking.link_of(manager.id) is not None


@pytest.fixture
def left_server(monkeypatch: pytest.MonkeyPatch) -> Callable[[discord.Member], None]:
    """``left(member)``: the member leaves their server (their user stays known to the bot)."""

    async def unknown_member(self: Any, bot: Any, guild: Any, user_id: int) -> None:
        return None  # Discord answers 404 Unknown Member (dpytest would answer the author)

    monkeypatch.setattr(commands.MemberConverter, "query_member_by_id", unknown_member)

    def left(member: discord.Member) -> None:
        member.guild._remove_member(member)
        assert member.guild.get_member(member.id) is None

    return left


async def test_an_admin_unlinks_someone_who_left_by_their_user_id(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    left_server: Callable[[discord.Member], None],
) -> None:
    link_kick_account(linking, guild_a, alice)  # made here: this server's to remove
    left_server(alice)

    [reply] = await say(f"!unlink {alice.id}", manager)

    assert reply.content == "alice is no longer linked to **kick\\_al** on Kick."
    assert linking.link_of(alice.id) is None
    [*_, last] = linking.history(guild_a.id, alice.id)
    assert (last.action, last.actor_id) == (UNLINKED, manager.id)


@pytest.mark.parametrize("made_in", ["another server", "nowhere"])
async def test_someone_who_left_with_no_link_made_here_is_refused_clearly(
    made_in: str,
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    left_server: Callable[[discord.Member], None],
) -> None:
    if made_in == "another server":
        link_kick_account(linking, guild_b, alice)  # that server's and alice's business
    left_server(alice)

    [reply] = await say(f"!unlink {alice.id} kick", manager)

    assert reply.content == (
        "alice is not a member of this server and has no Kick account linked here."
    )
    assert (linking.link_of(alice.id) is None) == (made_in == "nowhere")
    assert linking.history(guild_a.id, alice.id) == []


async def test_an_admin_sees_the_links_someone_who_left_made_here_by_their_user_id(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    left_server: Callable[[discord.Member], None],
) -> None:
    """As !unlink takes them: someone who left is named by their user id, and only what they
    linked here is this server's to see."""
    link_kick_account(linking, guild_a, alice)
    linking.link(
        guild_id=guild_b.id,
        discord_user_id=alice.id,
        platform=Platform.TWITCH,
        platform_user_id="t-9",
        username="tw_al",
    )
    left_server(alice)

    [reply] = await say(f"!linked {alice.id}", manager)

    assert reply.content.startswith("alice is linked to:\n- Kick: **kick\\_al** (id 7001)")
    assert "tw\\_al" not in reply.content  # made in another server: not this one's to see


async def test_someone_who_left_with_nothing_linked_here_is_said_so(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    left_server: Callable[[discord.Member], None],
) -> None:
    link_kick_account(linking, guild_b, alice)
    left_server(alice)

    [reply] = await say(f"!linked {alice.id}", manager)

    assert reply.content == (
        "alice is not a member of this server and has no Kick or Twitch account linked here."
    )


async def test_seeing_the_links_of_someone_who_left_needs_manage_server(
    guild_a: discord.Guild,
    alice: discord.Member,
    linking: LinkingService,
    left_server: Callable[[discord.Member], None],
) -> None:
    bob = member_of(guild_a, "bob")
    link_kick_account(linking, guild_a, bob)
    left_server(bob)

    [reply] = await say(f"!linked {bob.id}", alice)

    assert reply.content == "You need the Manage Server permission to see someone else's links."


# --- !linkrole -------------------------------------------------------------------------------


async def test_linkrole_shows_sets_and_turns_off_the_role(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    await bot_may_manage_roles(guild_a)
    role = dpytest.backend.make_role("Linked", guild_a)

    [empty] = await say("!linkrole", manager)
    [chosen] = await say(f"!linkrole {role.mention}", manager)
    [shown] = await say("!linkrole", manager)
    [off] = await say("!linkrole off", manager)

    assert empty.content == "Linked members get no role. Set one with !linkrole @role."
    assert (
        chosen.content == f"Members who link their Kick or Twitch account now get {role.mention}."
    )
    assert shown.content == f"Members who link their Kick or Twitch account get {role.mention}."
    assert off.content == "Linked members no longer get a role (members who have it keep it)."
    assert linking.settings(guild_a.id).linked_role_id is None


async def test_linkrole_takes_a_role_by_name_and_warns_when_it_is_above_the_bot(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    above = dpytest.backend.make_role("VIP", guild_a)  # made first: ranks above the bot's role
    await bot_may_manage_roles(guild_a)

    [reply] = await say("!linkrole VIP", manager)

    assert reply.content.startswith(
        f"Members who link their Kick or Twitch account now get {above.mention}."
    )
    assert "it is above my highest role; move my role above it" in reply.content
    assert linking.settings(guild_a.id).linked_role_id == above.id


async def test_linkrole_refuses_a_watchtime_role_that_role_sync_would_take_back(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    roles: RolesService,
) -> None:
    await bot_may_manage_roles(guild_a)
    regular = dpytest.backend.make_role("Regular", guild_a)
    roles.add_tier(guild_a.id, regular.id, 600)

    [reply] = await say(f"!linkrole {regular.mention}", manager)

    assert reply.content == (
        "That role is a watchtime role: role sync takes it from members short of its "
        "watchtime, so linked members would lose it. Pick another role, or remove it from the "
        "watchtime roles first."
    )
    assert linking.settings(guild_a.id).linked_role_id is None


async def test_linkrole_refuses_the_kick_vip_role(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    sqlite_engine: Engine,
    clock: Clock,
) -> None:
    await bot_may_manage_roles(guild_a)
    vip_role = dpytest.backend.make_role("Kick VIP", guild_a)
    vip = VipService(sqlite_engine, clock, FakeVipChannel(clock), lambda _: None)
    await vip.set_kick_reward(guild_a.id, "VIP for a day", vip_role.id)

    [reply] = await say(f"!linkrole {vip_role.mention}", manager)

    assert reply.content.startswith(
        "That role is the Kick VIP role (the Kick reward's temporary role): the bot takes it "
        "back when a member's VIP time ends, so linked members would lose it."
    )
    assert linking.settings(guild_a.id).linked_role_id is None


async def test_linkrole_shows_why_the_role_cannot_be_given_now(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    await give_bot_a_role(guild_a, manage_roles=False)
    linked = make_role(guild_a, "Linked", 2)
    linking.set_linked_role(guild_a.id, linked.id)

    [shown] = await say("!linkrole", manager)

    assert shown.content == (
        f"Members who link their Kick or Twitch account get {linked.mention}.\n"
        "\N{WARNING SIGN}\N{VARIATION SELECTOR-16} But I can't give it now: I need the Manage "
        "Roles permission."
    )


@pytest.mark.parametrize("text", ["!linkrole nosuchrole", "!linkrole <@&123456789012345678>"])
async def test_linkrole_with_an_unknown_role_is_friendly(
    text: str, guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    [reply] = await say(text, manager)

    assert reply.content == "I can't find that role in this server. Usage: !linkrole [role]"
    assert linking.settings(guild_a.id).linked_role_id is None


async def test_linkrole_refuses_everyone(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    [reply] = await say(f"!linkrole {guild_a.default_role.id}", manager)

    assert reply.content == "That role can't be given to members; pick another one."
    assert linking.settings(guild_a.id).linked_role_id is None


@pytest.mark.parametrize(
    ("text", "command"),
    [("!linkrole", "!linkrole"), ("!linkrole off", "!linkrole"), ("!linklogs", "!linklogs"),
     ("!linklogs on", "!linklogs on"), ("!linklogs off", "!linklogs off"),
     ("!linklogs status", "!linklogs status"), ("!setup_link_panel", "!setup_link_panel"),
     ("!setup_link_button", "!setup_link_button")],
)  # fmt: skip
async def test_admin_linking_commands_need_manage_server(
    text: str, command: str, guild_a: discord.Guild, alice: discord.Member, linking: LinkingService
) -> None:
    [reply] = await say(text, alice)

    assert reply.content == f"You need the Manage Server permission to use {command}."
    assert linking.settings(guild_a.id).log_channel_id is None
    assert linking.panel(guild_a.id, reply.id) is None


# --- !linklogs -------------------------------------------------------------------------------


async def test_linklogs_on_off_and_status_in_this_channel(
    guild_a: discord.Guild, manager: discord.Member
) -> None:
    channel = guild_a.text_channels[0]

    [usage] = await say("!linklogs", manager)
    [on] = await say("!linklogs on", manager)
    [status_on] = await say("!linklogs status", manager)
    [off] = await say("!linklogs off", manager)
    [status_off] = await say("!linklogs status", manager)

    assert usage.content == "Usage: !linklogs on | off | status"
    assert on.content == f"Link attempts will be logged in <#{channel.id}>."
    assert status_on.content == f"The link log is on, in <#{channel.id}>."
    assert off.content == "The link log is off."
    assert status_off.content == "The link log is off. Turn it on in a channel with !linklogs on."


async def test_linklogs_on_naming_another_channel_is_refused_not_turned_on_here(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    mod_log = dpytest.backend.make_text_channel("mod-log", guild_a)

    [reply] = await say(f"!linklogs on {mod_log.mention}", manager)

    assert reply.content == (
        "That doesn't look right. Usage: !linklogs on (in the channel the log goes to)"
    )
    assert linking.settings(guild_a.id).log_channel_id is None


async def test_linklogs_status_says_when_the_log_channel_was_deleted(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    allow_unknown_channel_mentions(monkeypatch)
    gone = dpytest.backend.make_text_channel("link-log", guild_a)
    linking.set_log_channel(guild_a.id, gone.id)
    dpytest.backend.delete_channel(gone)

    [status] = await say("!linklogs status", manager)

    assert status.content == (
        f"The link log is on, but I can't find its channel <#{gone.id}>: it was deleted, or it "
        "is a thread that was archived. Open the thread again (a message in it does), or turn "
        "the log on in another channel with !linklogs on."
    )


async def test_linklogs_on_where_i_cannot_post_the_log_is_refused_before_it_is_saved(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    channel = guild_a.text_channels[0]
    # The log is posted as embeds: without Embed Links, Discord would drop every entry.
    await dpytest.set_permission_overrides(guild_a.default_role, channel, embed_links=False)

    [reply] = await say("!linklogs on", manager)

    assert reply.content == (
        f"I can't post in {channel.mention}; give me Send Messages and Embed Links there."
    )
    assert linking.settings(guild_a.id).log_channel_id is None


async def test_a_link_is_logged_in_its_own_guild_only(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_effects: LinkEffects,
    clock: Clock,
) -> None:
    bob_b = member_of(guild_b, "bob")
    admin_b = dpytest.backend.make_role(
        "Admin", guild_b, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(bob_b, admin_b)
    await say("!linklogs on", manager)
    await say("!linklogs on", bob_b)
    [status_b] = await say("!linklogs status", bob_b)
    assert str(guild_a.text_channels[0].id) not in status_b.content

    event = AccountLinked(
        platform=Platform.KICK,
        event_id="link-1",
        occurred_at=clock(),
        guild_id=guild_a.id,
        discord_user_id=alice.id,
        viewer=Viewer("7001", "@everyone **kick_al**"),
    )
    await link_effects.account_linked(guild_a.id, event)

    sent = await drain()
    logged = [m for m in sent if m.embeds]
    [entry] = logged
    assert entry.channel.id == guild_a.text_channels[0].id
    description = entry.embeds[0].description
    assert "@everyone" not in description.replace("@\u200beveryone", "")
    assert "\\*\\*kick\\_al\\*\\*" in description
    [dm] = [m for m in sent if is_dm_to(m, alice)]
    assert "\\*\\*kick\\_al\\*\\*" in dm.content


@pytest.mark.parametrize("lost", ["the channel", "the permission"])
async def test_a_link_log_discord_does_not_take_is_listed_for_the_admins(
    lost: str,
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    link_effects: LinkEffects,
    sqlite_engine: Engine,
    discord_calls: OutboxWorker,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await say("!linklogs on", manager)
    channel = guild_a.text_channels[0]
    if lost == "the channel":
        guild_a._remove_channel(channel)  # deleted on Discord: the gateway drops it
        problem = (
            f"its channel ({channel.id}) is gone, no text channel, or an archived thread; "
            "turn the log on again in a channel with !linklogs on"
        )
    else:

        async def forbidden(self: discord.abc.Messageable, *args: Any, **kwargs: Any) -> None:
            raise discord.Forbidden(dpytest.backend.FakeRequest(403, "Forbidden"), "Missing Access")

        monkeypatch.setattr(discord.TextChannel, "send", forbidden)
        problem = f"I may not post in #{channel.name}; give me Send Messages and Embed Links there"
    linked = AccountLinked(platform=Platform.KICK, event_id="link-1", occurred_at=clock(),
                           guild_id=guild_a.id, discord_user_id=alice.id,
                           viewer=Viewer("7001", "kick_al"))  # fmt: skip
    await QueuedLinkEffects(sqlite_engine, clock, link_effects).queue(guild_a.id, linked)

    assert await discord_calls.run_once() == 1

    [dm] = await drain()
    assert is_dm_to(dm, alice)  # the member was told all the same
    [undone] = UndoneCalls(sqlite_engine, clock).recent(guild_a.id).calls
    assert undone.answer == f"link log not written: {problem}"


# --- link panels -----------------------------------------------------------------------------


async def post_panel(manager: discord.Member, text: str = "!setup_link_panel") -> discord.Message:
    sent = await say(text, manager)
    [panel] = [m for m in sent if m.embeds]
    [confirmation] = [m for m in sent if m.content]
    assert confirmation.content == "Link panel posted and pinned."
    return panel


async def test_setup_link_panel_posts_pins_reacts_and_stores_the_panel(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService, pins: list[int]
) -> None:
    panel = await post_panel(manager)

    assert panel.embeds[0].title == "Link your Kick account"
    assert LINK_EMOJI in panel.embeds[0].description
    assert pins == [panel.id]
    fetched = await guild_a.text_channels[0].fetch_message(panel.id)
    assert [(str(r.emoji), r.count) for r in fetched.reactions] == [(LINK_EMOJI, 1)]
    stored = linking.panel(guild_a.id, panel.id)
    assert stored is not None
    assert (stored.kind, stored.emoji, stored.created_by) == ("reaction", LINK_EMOJI, manager.id)


async def test_setup_link_panel_takes_another_emoji(
    guild_a: discord.Guild, manager: discord.Member, linking: LinkingService
) -> None:
    panel = await post_panel(manager, "!setup_link_panel \N{PURPLE HEART}")

    stored = linking.panel(guild_a.id, panel.id)
    assert stored is not None
    assert stored.emoji == "\N{PURPLE HEART}"


@pytest.mark.parametrize("emoji", ["abc", "<:nosuch:123456789012345678>", "🔗 🔗"])
async def test_setup_link_panel_refuses_what_is_no_emoji(
    emoji: str, guild_a: discord.Guild, manager: discord.Member
) -> None:
    [reply] = await say(f'!setup_link_panel "{emoji}"', manager)

    assert reply.content == panel_words.BAD_EMOJI


async def test_setup_link_panel_where_i_may_not_react_says_so_not_that_the_emoji_is_bad(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def forbidden(self: discord.Message, *args: Any, **kwargs: Any) -> None:
        raise discord.Forbidden(dpytest.backend.FakeRequest(403, "Forbidden"), "Missing Access")

    monkeypatch.setattr(discord.Message, "add_reaction", forbidden)  # no Add Reactions here

    sent = await say("!setup_link_panel", manager)

    assert [m.content for m in sent if m.content] == [
        "I can't react in this channel: give me Add Reactions and Read Message History here, "
        "or post a button panel with !setup_link_button."
    ]
    assert linking.panel(guild_a.id, sent[0].id) is None


async def test_reacting_to_the_panel_dms_the_reactor_a_link_and_removes_the_reaction(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, clock: Clock
) -> None:
    panel = await post_panel(manager)

    await dpytest.add_reaction(alice, panel, LINK_EMOJI)

    [dm] = await drain()
    assert is_dm_to(dm, alice)
    claims = claims_of(link_of_text(dm.content), clock)
    assert (claims.discord_user_id, claims.guild_id) == (alice.id, guild_a.id)
    fetched = await guild_a.text_channels[0].fetch_message(panel.id)
    assert [(str(r.emoji), r.count) for r in fetched.reactions] == [(LINK_EMOJI, 1)]  # the bot's


async def test_reacting_again_at_once_sends_no_second_link_but_says_where_the_first_is(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member
) -> None:
    panel = await post_panel(manager)
    await dpytest.add_reaction(alice, panel, LINK_EMOJI)
    assert len(await drain()) == 1

    await dpytest.add_reaction(alice, panel, LINK_EMOJI)
    [reminder] = await drain()
    await dpytest.add_reaction(alice, panel, LINK_EMOJI)  # told once: nothing for every click

    assert is_dm_to(reminder, alice)
    assert reminder.content.startswith(
        "I sent you a link for **Guild A** moments ago; it's above in this conversation. "
        "React again in "  # the bot's own clock: up to 30 s
    )
    assert "http" not in reminder.content
    assert await drain() == []
    fetched = await guild_a.text_channels[0].fetch_message(panel.id)
    assert [(str(r.emoji), r.count) for r in fetched.reactions] == [(LINK_EMOJI, 1)]  # the bot's


@pytest.mark.parametrize("reacted_here_first", [False, True])
async def test_another_servers_panel_sends_that_servers_link_at_once(
    reacted_here_first: bool,
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    clock: Clock,
) -> None:
    admin_b = member_of(guild_b, "bob")
    role = dpytest.backend.make_role(
        "Admin", guild_b, permissions=discord.Permissions(manage_guild=True).value
    )
    await dpytest.add_role(admin_b, role)
    alice_in_b = dpytest.backend.make_member(alice._user, guild_b)  # the same user, in both
    panel_a = await post_panel(manager)
    panel_b = await post_panel(admin_b)
    if reacted_here_first:
        await dpytest.add_reaction(alice, panel_a, LINK_EMOJI)
        [dm_a] = await drain()
        assert claims_of(link_of_text(dm_a.content), clock).guild_id == guild_a.id

    await dpytest.add_reaction(alice_in_b, panel_b, LINK_EMOJI)  # moments later, in server B

    [dm_b] = await drain()
    assert is_dm_to(dm_b, alice)
    claims = claims_of(link_of_text(dm_b.content), clock)
    assert (claims.discord_user_id, claims.guild_id) == (alice.id, guild_b.id)


async def test_other_reactions_and_other_messages_are_ignored(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member
) -> None:
    panel = await post_panel(manager)
    [plain] = await say("!linklogs status", manager)

    await dpytest.add_reaction(alice, panel, "\N{THUMBS UP SIGN}")
    await dpytest.add_reaction(alice, plain, LINK_EMOJI)

    assert await drain() == []


async def test_a_panel_reactor_with_closed_dms_is_told_in_the_channel_without_the_link(
    guild_a: discord.Guild, alice: discord.Member, manager: discord.Member, dms_closed: None
) -> None:
    panel = await post_panel(manager)

    await dpytest.add_reaction(alice, panel, LINK_EMOJI)

    [notice] = await drain()
    assert notice.channel.id == guild_a.text_channels[0].id
    assert notice.content == (
        "alice\\_0\\_nick, I couldn't DM you the link: your direct messages are closed to me. "
        "Use the slash command /link instead; it shows the link to you alone."
    )


async def test_the_button_panel_answers_the_presser_alone(
    guild_a: discord.Guild,
    alice: discord.Member,
    manager: discord.Member,
    linking: LinkingService,
    clock: Clock,
) -> None:
    panel = await post_panel(manager, "!setup_link_button")
    assert "Press the button" in panel.embeds[0].description
    stored = linking.panel(guild_a.id, panel.id)
    assert stored is not None
    assert stored.kind == "button"

    answers: list[tuple[str, dict[str, Any]]] = []

    async def send_message(content: str, **kwargs: Any) -> None:
        answers.append((content, kwargs))

    interaction = SimpleNamespace(
        guild=guild_a, user=alice, response=SimpleNamespace(send_message=send_message)
    )
    bot = dpytest.get_config().client
    [view] = [v for v in build_registered_views(bot) if isinstance(v, LinkButtonView)]
    [item] = [i for i in view.children if i.custom_id == render_linking.PANEL_BUTTON_ID]  # type: ignore[attr-defined]
    await item.callback(interaction)  # type: ignore[arg-type]

    [(content, options)] = answers
    assert options["ephemeral"] is True
    claims = claims_of(link_of_text(content), clock)
    assert (claims.discord_user_id, claims.guild_id) == (alice.id, guild_a.id)


def build_registered_views(bot: commands.Bot) -> list[discord.ui.View]:
    cog = bot.get_cog("Linking")
    assert isinstance(cog, LinkingCog)
    return cog.persistent_views()


async def test_a_started_bot_registers_the_panel_button_for_old_panels(
    services: BotServices,
) -> None:
    bot = create_bot(services)
    await bot._async_setup_hook()
    await bot.load_cogs()

    custom_ids = [
        item.custom_id  # type: ignore[attr-defined]
        for view in bot.persistent_views
        for item in view.children
    ]
    # The Kick-only button of panels posted before Twitch, and a button per platform since.
    assert custom_ids == [
        render_linking.PANEL_BUTTON_ID,
        "streamkeeper:link:start:kick",
        "streamkeeper:link:start:twitch",
    ]


# --- a linked member who joins ----------------------------------------------------------------


def calls_waiting(engine: Engine) -> int:
    with engine.connect() as conn:
        return store.pending(conn)


async def test_a_linked_member_who_comes_back_gets_the_linked_and_watchtime_roles_again(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    roles: RolesService,
    stream: Stream,
    sqlite_engine: Engine,
    discord_calls: OutboxWorker,
    member_edits: MemberEdits,
) -> None:
    await give_bot_a_role(guild_a)
    linked_role, bronze = make_role(guild_a, "Linked", 2), make_role(guild_a, "Bronze", 3)
    roles.add_tier(guild_a.id, bronze.id, 60)
    await say(f"!linkrole {linked_role.mention}", manager)
    # Carol linked her Kick account and watched 90 minutes, left the server (which took her
    # roles) and now joins again.
    carol = dpytest.backend.make_user("carol", 1)
    viewer = stream.viewer("kick_carol")
    linking.link(
        guild_id=guild_a.id,
        discord_user_id=carol.id,
        platform=Platform.KICK,
        platform_user_id=viewer.platform_user_id or "",
        username=viewer.username,
    )
    stream.earn(guild_a.id, viewer, 90 * 60)
    await dpytest.member_join(guild_a, carol)
    await eventually(lambda: calls_waiting(sqlite_engine) == 1)

    assert await discord_calls.run_once() == 1
    assert {linked_role, bronze} <= set(member_of(guild_a, "carol").roles)
    assert bronze.id in member_edits.of(member_of(guild_a, "carol"))[-1]
    assert calls_waiting(sqlite_engine) == 0


async def test_the_same_join_seen_twice_is_one_call(
    bot: commands.Bot, guild_a: discord.Guild, linking: LinkingService, sqlite_engine: Engine
) -> None:
    cog = bot.get_cog("Linking")
    assert isinstance(cog, LinkingCog)
    alice = discord.Member._copy(member_of(guild_a, "alice"))
    alice.joined_at = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
    link_kick_account(linking, guild_a, alice)
    await cog.on_member_join(alice)
    await cog.on_member_join(alice)

    assert calls_waiting(sqlite_engine) == 1


async def test_a_member_who_joins_with_no_link_gets_no_role_and_nothing_is_queued(
    bot: commands.Bot,
    guild_a: discord.Guild,
    manager: discord.Member,
    sqlite_engine: Engine,
) -> None:
    await give_bot_a_role(guild_a)
    linked_role = make_role(guild_a, "Linked", 2)
    await say(f"!linkrole {linked_role.mention}", manager)
    dave = await dpytest.member_join(guild_a, name="dave")
    cog = bot.get_cog("Linking")
    assert isinstance(cog, LinkingCog)
    await cog.on_member_join(dave)  # Discord's join, run here to its end

    assert calls_waiting(sqlite_engine) == 0
    assert linked_role not in member_of(guild_a, "dave").roles


async def test_a_member_who_linked_in_another_server_joins_this_one_without_its_linked_role(
    bot: commands.Bot,
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    sqlite_engine: Engine,
) -> None:
    await give_bot_a_role(guild_a)
    linked_role = make_role(guild_a, "Linked", 2)
    await say(f"!linkrole {linked_role.mention}", manager)
    frank = dpytest.backend.make_user("frank", 3)
    link_kick_account(linking, guild_b, frank, "kick_frank")  # type: ignore[arg-type]
    member = await dpytest.member_join(guild_a, frank)
    cog = bot.get_cog("Linking")
    assert isinstance(cog, LinkingCog)
    await cog.on_member_join(member)  # Discord's join, run here to its end

    assert calls_waiting(sqlite_engine) == 0  # running !link here gives this server's role


async def test_a_member_who_left_again_before_the_call_leaves_the_admins_nothing_to_fix(
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    sqlite_engine: Engine,
    clock: Clock,
    discord_calls: OutboxWorker,
) -> None:
    await give_bot_a_role(guild_a)
    linked_role = make_role(guild_a, "Linked", 2)
    await say(f"!linkrole {linked_role.mention}", manager)
    erin = dpytest.backend.make_user("erin", 2)
    link_kick_account(linking, guild_a, erin, "kick_erin")  # type: ignore[arg-type]
    member = await dpytest.member_join(guild_a, erin)
    await eventually(lambda: calls_waiting(sqlite_engine) == 1)
    dpytest.backend.delete_member(member)

    assert await discord_calls.run_once() == 1
    assert calls_waiting(sqlite_engine) == 0
    assert UndoneCalls(sqlite_engine, clock).recent(guild_a.id).calls == []
