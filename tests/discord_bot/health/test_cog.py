"""!health: the shared process checks and this server's own, for members who may manage it."""

from __future__ import annotations

import dataclasses
import threading
from datetime import timedelta

import discord
import pytest
from sqlalchemy.engine import Engine

from core.discord_bot.connections.checks import fix_words
from core.discord_bot.health.cog import role_sync_checks, tick_check
from core.discord_bot.render import GREEN, RED, YELLOW
from core.discord_bot.services import BotServices
from core.features.connections.checks import kick_checks
from core.features.connections.kick.setup import KickStatus
from core.features.connections.kick.subscriptions import WANTED_EVENTS
from core.features.connections.status import ConnectionStatus
from core.features.guilds.repository import TrackedChannel
from core.features.guilds.service import GuildService
from core.features.linking.service import LinkingService
from core.features.roles.service import RolesService
from core.features.roles.sync import RoleSync, SyncResult
from core.features.watchtime.service import WatchtimeService
from core.health import Check, HealthReport
from core.outbox.store import Effect
from core.outbox.undone import UndoneCalls
from core.outbox.worker import Refused
from core.platforms.kick.pusher import PusherState
from tests.discord_bot.conftest import T0
from tests.discord_bot.fake_discord import say
from tests.discord_bot.fake_roles import give_bot_a_role, make_role
from tests.support.clock import Clock
from tests.support.outbox_calls import end_calls

FAILING = HealthReport(
    [
        Check("database", True, "sqlite, migrated"),
        Check("redis", False, "connection refused"),
    ]
)


@pytest.fixture
def probe_threads() -> list[int]:
    return []


@pytest.fixture
def services(
    watchtime: WatchtimeService,
    guilds: GuildService,
    health_report: HealthReport,
    probe_threads: list[int],
    roles: RolesService,
    role_sync: RoleSync,
    linking: LinkingService,
    sqlite_engine: Engine,
    clock: Clock,
) -> BotServices:
    """As in conftest, with a health callable that notes which thread runs it, and the list of
    what the bot could not do."""

    def health() -> HealthReport:
        probe_threads.append(threading.get_ident())
        return health_report

    return BotServices(
        watchtime=watchtime,
        guilds=guilds,
        health=health,
        roles=roles,
        role_sync=role_sync,
        linking=linking,
        undone_calls=UndoneCalls(sqlite_engine, clock),
    )


@pytest.fixture
def ticked(guild_a: discord.Guild, watchtime: WatchtimeService, clock: Clock) -> None:
    """Guild A's watchtime tick ran just now."""
    watchtime.tick(guild_a.id)
    clock.advance(20)


def lines_of(reply: discord.Message) -> list[str]:
    return reply.content.splitlines()


@pytest.mark.parametrize("health_report", [FAILING])
async def test_health_shows_a_failing_check_as_failing(
    manager: discord.Member, ticked: None
) -> None:
    [reply] = await say("!health", manager)

    assert lines_of(reply) == [
        f"{RED} **Failing**: 1 of 6 checks fail",
        f"{GREEN} ok   database: sqlite, migrated",
        f"{RED} FAIL redis: connection refused",
        f"{GREEN} ok   watchtime tick: last tick 20 s ago (every 60 s)",
        f"{GREEN} ok   actions: everything asked of a partner in 7 days was done",
        f"{GREEN} ok   watchtime roles: none set up (!roles add to add one)",
        f"{GREEN} ok   role sync: not run yet since the bot started",
    ]


async def test_health_when_all_checks_pass(manager: discord.Member, ticked: None) -> None:
    [reply] = await say("!health", manager)

    assert lines_of(reply)[0] == f"{GREEN} **Healthy**: all 5 checks pass"


async def test_health_names_what_the_bot_could_not_do_in_this_server_only(
    manager: discord.Member,
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    sqlite_engine: Engine,
    clock: Clock,
    ticked: None,
) -> None:
    refused = {
        guild_a.id: "the server follows no Twitch channel now",
        guild_b.id: "guild B's secret reason",
    }
    for guild_id, reason in refused.items():
        await _refused_call(sqlite_engine, clock, guild_id, reason)

    [reply] = await say("!health", manager)

    assert (
        f"{YELLOW} WARN actions: 1 not done in the last 7 days: Twitch: delete the reward "
        f"'VIP 1 week' (VIP rule 2 was removed) ({clock().strftime('%b %d %H:%M')} UTC: the "
        "server follows no Twitch channel now)"
    ) in lines_of(reply)
    assert "guild B" not in reply.content


async def test_a_check_that_needs_attention_is_not_called_healthy(
    manager: discord.Member,
    guild_a: discord.Guild,
    sqlite_engine: Engine,
    clock: Clock,
    ticked: None,
) -> None:
    await _refused_call(sqlite_engine, clock, guild_a.id, "the server follows no Twitch channel")

    [reply] = await say("!health", manager)

    lines = lines_of(reply)
    assert lines[0] == f"{YELLOW} **Needs attention**: all 5 checks pass, 1 with something to do"
    [actions] = [line for line in lines if " actions: " in line]
    assert actions.startswith(f"{YELLOW} WARN actions")


# Many lines, as a server with both platforms, their events and partners' refusals has.
LONG = HealthReport([Check(f"check {n}", True, f"line {n} " + "words " * 25) for n in range(20)])


@pytest.mark.parametrize("health_report", [LONG])
async def test_a_report_longer_than_a_message_comes_whole_in_several(
    manager: discord.Member, guild_a: discord.Guild, linking: LinkingService, ticked: None
) -> None:
    """Discord takes 2,000 characters a message: cut there, the server's own lines (last)
    were lost, a failing one among them."""
    linking.set_linked_role(guild_a.id, 987654321098765432)

    replies = await say("!health", manager)

    assert len(replies) == 2
    assert all(len(reply.content) <= 2000 for reply in replies)
    lines = [line for reply in replies for line in lines_of(reply)]
    assert lines[0] == f"{RED} **Failing**: 1 of 25 checks fail"
    assert len(lines) == 26
    assert lines[-1].startswith(f"{RED} FAIL linked role: deleted (987654321098765432)")


async def test_health_needs_manage_server(alice: discord.Member) -> None:
    [reply] = await say("!health", alice)

    assert reply.content == "You need the Manage Server permission to use !health."


async def test_health_checks_run_off_the_event_loop(
    manager: discord.Member, probe_threads: list[int]
) -> None:
    await say("!health", manager)

    assert probe_threads
    assert threading.get_ident() not in probe_threads


# --- tick lag ----------------------------------------------------------------------------------


async def test_a_server_without_ticks_gets_the_fix(manager: discord.Member) -> None:
    [reply] = await say("!health", manager)

    assert (
        f"{RED} FAIL watchtime tick: no tick yet for this server: run !tracking on to register "
        "it, and check that the bot process runs"
    ) in lines_of(reply)


async def test_a_late_tick_fails_with_the_fix(
    manager: discord.Member, ticked: None, clock: Clock
) -> None:
    clock.advance(600)

    [reply] = await say("!health", manager)

    assert (
        f"{RED} FAIL watchtime tick: last tick 10 min ago (every 60 s): the scheduler is stopped "
        "or behind; check the bot process and its log"
    ) in lines_of(reply)


def test_tick_check_while_tracking_is_off_is_green() -> None:
    check = tick_check(timedelta(hours=5), 60, False, "!")

    assert check == Check("watchtime tick", True, "tracking is off (!tracking on to resume)")


# --- permissions and role order ----------------------------------------------------------------


async def test_missing_manage_roles_and_a_tier_above_the_bot_fail_with_fixes(
    guild_a: discord.Guild, manager: discord.Member, roles: RolesService, ticked: None
) -> None:
    await give_bot_a_role(guild_a, manage_roles=False)
    roles.add_tier(guild_a.id, make_role(guild_a, "Bronze", 2).id, 60)
    roles.add_tier(guild_a.id, make_role(guild_a, "Legend", 30).id, 600)
    roles.add_tier(guild_a.id, 987654321098765432, 900)

    [reply] = await say("!health", manager)

    lines = lines_of(reply)
    assert f"{RED} FAIL manage roles: missing: give my role the Manage Roles permission" in lines
    assert (
        f"{RED} FAIL role order: Legend at or above my highest role: in Server Settings > "
        "Roles, drag my role above them"
    ) in lines
    assert (
        f"{RED} FAIL watchtime roles: deleted roles still set up (987654321098765432): "
        "!roles remove <id>"
    ) in lines


@pytest.mark.parametrize("trouble", ["no manage roles", "above the bot", "deleted"])
async def test_a_linked_role_the_bot_cannot_give_fails_with_the_fix(
    trouble: str,
    guild_a: discord.Guild,
    manager: discord.Member,
    linking: LinkingService,
    ticked: None,
) -> None:
    await give_bot_a_role(guild_a, manage_roles=trouble != "no manage roles")
    linked = make_role(guild_a, "Linked", 30 if trouble == "above the bot" else 2)
    linking.set_linked_role(guild_a.id, 987654321098765432 if trouble == "deleted" else linked.id)

    [reply] = await say("!health", manager)

    expected = {
        "no manage roles": "FAIL linked role: Linked: I need the Manage Roles permission",
        "above the bot": (
            "FAIL linked role: Linked: it is above my highest role; move my role above it in "
            "Server Settings > Roles"
        ),
        "deleted": (
            "FAIL linked role: deleted (987654321098765432): set another with !linkrole @role, "
            "or !linkrole off"
        ),
    }[trouble]
    assert f"{RED} {expected}" in lines_of(reply)


async def test_roles_the_bot_may_hand_out_are_green(
    guild_a: discord.Guild, manager: discord.Member, roles: RolesService, ticked: None
) -> None:
    await give_bot_a_role(guild_a)
    roles.add_tier(guild_a.id, make_role(guild_a, "Bronze", 2).id, 60)

    [reply] = await say("!health", manager)

    lines = lines_of(reply)
    assert lines[0] == f"{GREEN} **Healthy**: all 6 checks pass"
    assert f"{GREEN} ok   manage roles: granted" in lines
    assert f"{GREEN} ok   role order: every watchtime role is below my highest role" in lines


async def test_health_never_shows_another_servers_roles(
    guild_a: discord.Guild,
    guild_b: discord.Guild,
    manager: discord.Member,
    roles: RolesService,
    ticked: None,
) -> None:
    roles.add_tier(guild_b.id, make_role(guild_b, "SecretTier", 30).id, 60)

    [reply] = await say("!health", manager)

    assert "SecretTier" not in reply.content
    assert f"{GREEN} ok   watchtime roles: none set up (!roles add to add one)" in lines_of(reply)


async def test_health_shows_the_last_role_sync(
    guild_a: discord.Guild,
    manager: discord.Member,
    roles: RolesService,
    role_sync: RoleSync,
    ticked: None,
) -> None:
    await give_bot_a_role(guild_a)
    roles.add_tier(guild_a.id, make_role(guild_a, "Bronze", 2).id, 60)
    await role_sync.sync_guild(guild_a.id)

    [reply] = await say("!health", manager)

    finished = int((T0 + timedelta(seconds=20)).timestamp())
    assert (
        f"{GREEN} ok   role sync: <t:{finished}:R>: 0 member(s) updated, 0 role(s) given, "
        "0 taken away"
    ) in lines_of(reply)


def test_failed_role_edits_fail_the_role_sync_line() -> None:
    result = SyncResult(1, T0, members_edited=1, failed_edits=2)

    [check] = role_sync_checks(result)

    assert not check.ok
    assert check.detail.endswith("2 edit(s) failed: see the bot's log")


def test_a_role_sync_stopped_early_fails_the_role_sync_line_with_why() -> None:
    why = "Discord rate-limits role changes in this server for 2 min"
    result = SyncResult(1, T0, members_edited=1, stopped=why, edits_left=3)

    [check] = role_sync_checks(result)

    assert not check.ok
    assert check.detail.endswith(f"stopped early: {why}")


# --- Kick ---------------------------------------------------------------------------------------


def kick_status(*, connected=True, missing=(), pusher=None, last_events=None) -> KickStatus:
    channel = TrackedChannel(1, "kick", "streamer", "123")  # type: ignore[arg-type]
    connection = ConnectionStatus(
        1, connected, False, "streamer" if connected else None, "123", None, ()
    )
    return KickStatus(
        channel, connection, (), tuple(missing), pusher, last_events or {}, client_configured=True
    )


def test_kick_checks_when_everything_works() -> None:
    checks = kick_checks(kick_status(last_events={"chat_message_sent": T0}), fix_words("!"))

    assert [(c.name, c.ok, c.detail) for c in checks] == [
        ("kick connection", True, "streamer, connected as streamer"),
        ("kick subscriptions", True, f"{len(WANTED_EVENTS)}/{len(WANTED_EVENTS)} live"),
        ("last chat message sent", True, f"<t:{int(T0.timestamp())}:R>"),
    ]


def test_kick_checks_name_the_fixes() -> None:
    pusher = PusherState("refused", last_error="bad app key")
    checks = kick_checks(
        kick_status(connected=False, missing=WANTED_EVENTS[:2], pusher=pusher), fix_words("!")
    )

    assert [(c.name, c.ok) for c in checks] == [
        ("kick connection", False),
        ("kick subscriptions", False),
        ("kick pusher", False),
        ("last event", True),
    ]
    assert checks[0].detail == (
        "streamer not connected: run !kick setup streamer and open the link I send you"
    )
    assert checks[1].detail.endswith(": connect the streamer first")
    assert checks[2].detail == "refused (bad app key)"


def test_kick_checks_fail_a_connection_to_another_account_than_the_channels() -> None:
    """The channel changed outside !kick setup: no subscription is made as this account."""
    status = kick_status()
    other = dataclasses.replace(status.connection, broadcaster_user_id="999", username="someone")

    [link, *_] = kick_checks(dataclasses.replace(status, connection=other), fix_words("!"))

    assert link == Check(
        "kick connection",
        False,
        "connected as someone, who does not own streamer: run !kick setup streamer and open "
        "the link I send you",
    )


def test_a_server_without_a_kick_channel_is_told_to_set_one_up() -> None:
    status = kick_status()
    status = KickStatus(None, status.connection, (), WANTED_EVENTS, None, {}, True)

    assert kick_checks(status, fix_words("!")) == [
        Check("kick", False, "no Kick channel set up: run !kick setup <channel>")
    ]


async def _refused_call(engine: Engine, clock: Clock, guild_id: int, reason: str) -> None:
    """A reward deletion the Twitch worker made, refused with ``reason``."""
    effect = Effect(
        "twitch-helix", "delete", guild_id, f"delete:{guild_id}", {},
        "delete the reward 'VIP 1 week' (VIP rule 2 was removed)",
    )  # fmt: skip
    await end_calls(engine, clock, (effect, Refused(reason)))


def test_without_a_kick_app_pusher_is_what_counts() -> None:
    """Behind NAT, with no Kick app, Pusher alone brings Kick's events: no streamer can connect
    and no webhook can be subscribed, so neither is a failure (it kept such servers red)."""
    status = kick_status(connected=False, missing=WANTED_EVENTS, pusher=PusherState("connected"))
    with_chatroom = dataclasses.replace(status.channel, chatroom_id=77)
    status = dataclasses.replace(status, channel=with_chatroom, client_configured=False)

    checks = kick_checks(status, fix_words("!"))

    assert [(c.name, c.ok, c.detail) for c in checks] == [
        (
            "kick connection",
            True,
            "streamer: no Kick app (KICK_CLIENT_ID and KICK_CLIENT_SECRET), so no webhooks: "
            "events come over Pusher",
        ),
        ("kick pusher", True, "connected"),
        ("last event", True, "none since the bot started (normal while offline)"),
    ]


def test_without_a_kick_app_or_a_chatroom_id_no_event_comes() -> None:
    status = dataclasses.replace(
        kick_status(connected=False, missing=WANTED_EVENTS), client_configured=False
    )

    checks = kick_checks(status, fix_words("!"))

    assert ("kick pusher", False) in [(c.name, c.ok) for c in checks]
    [pusher] = [c for c in checks if c.name == "kick pusher"]
    assert pusher.detail == (
        "the channel's chatroom id is unknown, so Pusher cannot listen: with no Kick app, no "
        "Kick event reaches the bot (set the channel up again with its chatroom id)"
    )
