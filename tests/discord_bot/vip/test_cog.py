"""!vip on dpytest's Discord, with the service on a real database and a recording Twitch."""

from __future__ import annotations

import pytest

from core.discord_bot.services import BotServices
from core.events import Cheered, Platform, Viewer
from core.features.vip.ports import Refusal, TwitchRefused
from core.features.vip.rules import RuleAsked
from core.features.vip.service import VipService
from tests.discord_bot.fake_discord import say
from tests.discord_bot.fake_roles import give_bot_a_role, make_role
from tests.features.vip.doubles import (
    BROADCASTER,
    T0,
    FakeVipChannel,
    make_helix_calls,
    redemption,
)
from tests.support.waiting import RecordingSleep


@pytest.fixture
def twitch(clock) -> FakeVipChannel:
    return FakeVipChannel(clock, users={"carol": "77"})


@pytest.fixture
def vip_service(sqlite_engine, clock, twitch, guilds) -> VipService:
    return VipService(
        sqlite_engine,
        clock,
        twitch,
        lambda guild_id: BROADCASTER if guilds.twitch_channel_of(guild_id) else None,
        sleep=RecordingSleep(clock),
    )


@pytest.fixture
def services(watchtime, guilds, health_report, vip_service) -> BotServices:
    return BotServices(
        watchtime=watchtime, guilds=guilds, health=lambda: health_report, vip=vip_service
    )


@pytest.fixture
def followed(guilds, guild_a) -> None:
    guilds.set_twitch_channel(guild_a.id, "twitchdev", BROADCASTER)


async def test_setup_grant_list_log_revoke(manager, followed, twitch, vip_service, guild_a):
    [setup] = await say("!vip setup VIP for a day 5000 24", manager)
    assert setup.content == "Reward **VIP for a day** created: 5,000 points for 24 hour(s) of VIP."
    [reward] = twitch.rewards.values()
    assert (reward.title, reward.cost) == ("VIP for a day", 5000)

    await vip_service.redemptions.handle(guild_a.id, redemption("42", reward.id, username="Ann"))
    [grant] = await say("!vip grant carol 5", manager)
    assert grant.content.startswith("**carol** is a VIP until ")
    assert twitch.vips == {"42", "77"}

    [listing] = await say("!vip list", manager)
    lines = listing.content.splitlines()
    assert lines[0].startswith("**Ann**: since ")
    assert lines[0].endswith(", redemption")
    assert lines[1].endswith(", manual")

    [revoke] = await say("!vip revoke carol", manager)
    assert revoke.content == "**carol** is no longer a VIP."
    [log] = await say("!vip log carol", manager)
    assert log.content.splitlines()[0].split(": ", 1)[1].startswith("removed **carol** by <@")


async def test_the_log_says_a_vip_earned_by_a_cheer_came_from_the_cheer_not_a_redemption(
    manager, followed, twitch, vip_service, guild_a
):
    await say("!vip setup VIP for a day 5000 24", manager)
    [reward] = twitch.rewards.values()
    await vip_service.redemptions.handle(guild_a.id, redemption("42", reward.id, username="Ann"))
    vip_service.rules.granted_scopes = lambda guild_id: ("bits:read",)
    await vip_service.rules.add(guild_a.id, RuleAsked(Platform.TWITCH, "bits", 10, at_least=1000))
    cheer = Cheered(
        platform=Platform.TWITCH,
        event_id="cheer-43",
        broadcaster_user_id=BROADCASTER,
        occurred_at=T0,
        viewer=Viewer("43", "Bo"),
        bits=1500,
    )
    await vip_service.rule_grants.handle(guild_a.id, cheer)
    await make_helix_calls(vip_service)

    [log] = await say("!vip log", manager)
    granted = {
        line.split("**")[1]: line for line in log.content.splitlines() if "granted **" in line
    }
    assert "by a cheer" in granted["Bo"], granted["Bo"]
    assert "by redemption" not in granted["Bo"]
    assert "by redemption" in granted["Ann"]
    [listing] = await say("!vip list", manager)
    assert [line.rsplit(", ", 1)[1] for line in listing.content.splitlines()] == [
        "redemption",
        "rule",
    ]


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("!vip setup VIP", "Usage: !vip setup <title> <cost> <hours>."),
        ("!vip setup VIP 0 24", "A cost goes from 1"),
        ("!vip grant nobody 5", "Twitch knows no user called 'nobody'."),
        ("!vip grant carol lots", "That doesn't look right."),
        ("!vip grant carol \uff15", "That doesn't look right."),  # a full-width 5
        ("!vip grant carol +5", "That doesn't look right."),
        ("!vip extend carol \u0665", "That doesn't look right."),  # an Arabic-Indic 5
        ("!vip grant carol 0", "Hours go from 1 to 8760."),
        ("!vip grant carol -3", "Hours go from 1 to 8760."),
        # Too long to read: it said "Pick a number from -9007199254740991 up."
        ("!vip grant carol " + "9" * 30, "Hours go from 1 to 8760."),
        ("!vip extend carol -" + "9" * 40, "Hours go from 1 to 8760."),
        ("!vip extend carol 5", "'carol' is not a VIP StreamKeeper knows of."),
        # A pasted wall of text is quoted by its start and length, not echoed whole.
        ("!vip revoke " + "a" * 3000, "'" + "a" * 40 + "'... (3,000 characters) is not a VIP"),
        ("!vip grant " + "b" * 3000 + " 5", "Twitch knows no user called '" + "b" * 40 + "'..."),
        ("!vip reward cost 5", "There is no VIP reward yet"),
        ("!vip set stacking maybe", "stacking is on or off."),
        ("!vip set max lots", "max is a whole number."),
    ],
)
async def test_wrong_arguments_get_a_friendly_reply(manager, followed, command, answer):
    [reply] = await say(command, manager)
    assert reply.content.startswith(answer)


@pytest.mark.parametrize("command", ["grant", "extend"])
async def test_hours_typed_with_a_unit_are_refused_not_read_as_hours(
    manager, followed, twitch, command
):
    [reply] = await say(f"!vip {command} carol 2 days", manager)

    assert reply.content == f"That doesn't look right. Usage: !vip {command} <user> <hours>"
    assert "77" not in twitch.vips


async def test_not_connected_and_no_channel_are_polite(manager, twitch):
    # The documented way to follow a channel, not the operator's command line.
    for command in ("!vip setup VIP 5 1", "!vip grant viewer 2"):
        [no_channel] = await say(command, manager)
        assert no_channel.content == (
            "This server follows no Twitch channel yet: connect one with !twitch setup <channel>."
        )


async def test_vip_setup_has_one_usage_line(manager, followed):
    [usage] = await say("!vip setup VIP", manager)
    [overview] = await say("!vip", manager)
    [help_text] = await say("!help vip setup", manager)
    assert usage.content == "Usage: !vip setup <title> <cost> <hours>."
    assert "`!vip setup <title> <cost> <hours>`" in overview.content
    assert "!vip setup <title> <cost> <hours>" in help_text.content
    assert "<details>" not in help_text.content


async def test_not_connected_is_polite(manager, followed, twitch):
    twitch.is_connected = False
    [reply] = await say("!vip setup VIP 5 1", manager)
    assert reply.content == "Twitch is not connected."


async def test_settings_change_and_show(manager, followed, guild_a):
    [reply] = await say(f"!vip set channel <#{guild_a.text_channels[0].id}>", manager)
    assert f"Notice channel: <#{guild_a.text_channels[0].id}>" in reply.content
    [reply] = await say("!vip set max 3", manager)
    assert "Most temporary VIPs at once: 3" in reply.content


@pytest.mark.parametrize("elsewhere", ["another server's", "99999999999999999999", "9" * 1990])
async def test_a_notice_channel_elsewhere_is_refused_before_it_is_saved(
    elsewhere, manager, followed, guild_a, guild_b, vip_service
):
    typed = str(guild_b.text_channels[0].id) if elsewhere == "another server's" else elsewhere

    [reply] = await say(f"!vip set channel {typed}", manager)

    assert reply.content == (
        "That channel is not in this server, or it is an archived thread; pick one of the "
        "server's text channels or an open thread."
    )
    assert (await vip_service.settings(guild_a.id)).notice_channel_id is None


@pytest.mark.parametrize("spaced", ["<# {} >", "<#{} >", "<#\t{}>", "<#{}\t>"])
async def test_a_notice_channel_with_spaces_in_its_mention_is_refused_not_saved(
    spaced, manager, followed, guild_a, guild_b, vip_service
):
    """Another server's channel typed with spaces inside its mention (the setting's own parse
    reads the id through them): refused before the channel check could be skipped."""
    typed = spaced.format(guild_b.text_channels[0].id)

    [reply] = await say(f"!vip set channel {typed}", manager)

    assert reply.content == "Type the channel as #channel or its id, with no spaces inside."
    assert (await vip_service.settings(guild_a.id)).notice_channel_id is None


async def test_members_without_manage_server_are_refused(alice, followed):
    [reply] = await say("!vip list", alice)
    assert "Manage Server" in reply.content


async def test_kick_reward_gives_a_role(manager, guild_a, vip_service):
    await give_bot_a_role(guild_a)
    role = make_role(guild_a, "Temporary VIP", 3)
    [reply] = await say(f"!vip kick <@&{role.id}> VIP role for a day", manager)
    assert (
        reply.content
        == "The Kick reward 'VIP role for a day' now gives its redeemer the role for a while."
    )
    settings = await vip_service.settings(guild_a.id)
    assert (settings.kick_reward_title, settings.kick_role_id) == ("VIP role for a day", role.id)
    [off] = await say("!vip kick off", manager)
    assert off.content == "Kick rewards give no role any more."


async def test_a_watchtime_role_cannot_be_the_kick_vip_role(manager, guild_a, vip_service, roles):
    """Role sync would take it from a Kick VIP short of its watchtime, the VIP's end the tier."""
    await give_bot_a_role(guild_a)
    regular = make_role(guild_a, "Regular", 3)
    roles.add_tier(guild_a.id, regular.id, 600)

    [reply] = await say(f"!vip kick <@&{regular.id}> VIP role for a day", manager)

    assert reply.content == (
        "That role is a watchtime role: role sync takes it from members short of its "
        "watchtime, so Kick VIPs would lose it. Pick another role, or remove it from the "
        "watchtime roles first."
    )
    settings = await vip_service.settings(guild_a.id)
    assert (settings.kick_reward_title, settings.kick_role_id) == (None, None)


@pytest.mark.parametrize(
    ("which", "answer"),
    [
        ("everyone", "That role can't be given to members; pick another one."),
        ("bot", "That role can't be given to members; pick another one."),
        ("managed", "That role can't be given to members; pick another one."),
        ("above", "I can't give Admin: it is above my highest role; move my role above it in "
                  "Server Settings > Roles. Pick a role I can give."),
    ],
)  # fmt: skip
async def test_a_kick_role_the_bot_cannot_give_is_refused_as_linkrole_does(
    manager, guild_a, vip_service, which, answer
):
    bot_role = await give_bot_a_role(guild_a)
    bot_role.managed = True  # the bot's own role is an integration's
    role = {
        "everyone": guild_a.default_role,
        "bot": bot_role,
        "managed": make_role(guild_a, "Server Booster", 2, managed=True),
        "above": make_role(guild_a, "Admin", 20),
    }[which]
    [reply] = await say(f"!vip kick {role.id} VIP role for a day", manager)
    assert reply.content == answer
    settings = await vip_service.settings(guild_a.id)
    assert (settings.kick_reward_title, settings.kick_role_id) == (None, None)


async def test_vip_list_says_why_an_expired_vip_is_still_there(
    manager, followed, twitch, vip_service, guild_a, clock
):
    """Twitch refused the removal (403): the VIP stays past its end, and !vip list says why
    in words, as the docs promise, instead of only an end that has passed."""
    from tests.features.vip.doubles import expire

    await say("!vip grant carol 5", manager)
    clock.advance(6 * 3600)
    twitch.busy.append(TwitchRefused(Refusal.FORBIDDEN, "403"))
    assert (await expire(vip_service)).postponed == 1

    [listing] = await say("!vip list", manager)
    assert listing.content.endswith(
        ", manual; not removed yet: Twitch does not let StreamKeeper change VIPs in this "
        "channel (tried again every minute)"
    )
    clock.advance(60)  # the expiry job's next run
    await expire(vip_service)  # Twitch takes it now: the VIP is gone and so is the line
    [listing] = await say("!vip list", manager)
    assert listing.content == "No VIPs are tracked."


async def test_a_long_vip_list_and_log_show_whole_lines_and_say_how_many_more(
    manager, followed, twitch, vip_service, guild_a
):
    twitch.slots = 100  # a big channel's
    await say("!vip setup VIP for a day 5000 24", manager)
    [reward] = twitch.rewards.values()
    for number in range(30):
        event = redemption(str(100 + number), reward.id, username=f"viewer_number_{number:02}")
        await vip_service.redemptions.handle(guild_a.id, event)

    [listing] = await say("!vip list", manager)
    *shown, more = listing.content.splitlines()
    assert all(line.endswith(", redemption") for line in shown), shown[-1]
    assert more == f"...and {30 - len(shown)} more; the dashboard's VIP page lists them all."

    [log] = await say("!vip log", manager)
    *shown, more = log.content.splitlines()
    assert all(line.endswith(")") and "**viewer" in line for line in shown), shown[-1]
    assert more == f"...and {20 - len(shown)} older; the dashboard's VIP log has them all."


async def test_vip_times_are_discord_timestamps_each_reader_sees_in_their_own_zone(
    manager, followed, twitch, vip_service, guild_a, clock
):
    """Discord shows ``<t:...:f>`` in each reader's own time zone; the replies said
    "2026-03-01 17:00 UTC", which a streamer in New York had to work out by hand."""
    start = int(clock().timestamp())
    end = start + 5 * 3600
    [grant] = await say("!vip grant carol 5", manager)
    assert grant.content == f"**carol** is a VIP until <t:{end}:f>."
    [extend] = await say("!vip extend carol 1", manager)
    assert extend.content == f"**carol** is now a VIP until <t:{end + 3600}:f>."
    [listing] = await say("!vip list", manager)
    assert listing.content.startswith(f"**carol**: since <t:{start}:f>, until <t:{end + 3600}:f>")
    [log] = await say("!vip log carol", manager)
    assert log.content.splitlines()[0].startswith(f"<t:{start}:f>: ")
    assert f"until <t:{end + 3600}:f>" in log.content
    assert "UTC" not in grant.content + extend.content + listing.content + log.content
