"""One Twitch channel, one chat line per event: two Discord servers following the channel whose
VIP rules one cheer reaches, on the real Runtime and the fake Twitch on 127.0.0.1, the lines
going through the real chat outbox. Both refusing says one refusal; one refusing and the other
granting, whichever decides first, says only the grant; each server's Discord notice stays its
own."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from core.events import Cheered, Platform, Viewer, VipAdded
from core.features.vip import redemptions_repository
from core.features.vip.rules import RuleAsked
from core.runtime import Runtime
from tests.features.connections.test_twitch_connection import BROADCASTER, GUILD
from tests.features.vip import test_one_channel_one_vip as one_vip
from tests.features.vip import test_shared_channel_on_twitch as shared
from tests.features.vip.test_shared_channel_on_twitch import ADMIN, OTHER_GUILD, VIEWER
from tests.support.delivery import make_queued_calls

clock = shared.clock
twitch = shared.twitch
runtime = shared.runtime

add_bits_rule = one_vip.add_bits_rule
cheer = one_vip.cheer
REFUSED = "@Viewer no VIP this time"
GRANTED = "Viewer is a VIP until"


def the_cheer(runtime: Runtime) -> Cheered:
    return Cheered(
        platform=Platform.TWITCH,
        event_id="cheer-1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=runtime.clock(),
        viewer=Viewer(VIEWER, "Viewer"),
        bits=500,
    )


def said(twitch) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.message for m in twitch.chat_messages]


async def fill_cap(runtime: Runtime, twitch, guild_id: int) -> None:  # type: ignore[no-untyped-def]
    """The server's one temporary VIP is someone else: its rules refuse with "cap"."""
    await runtime.vip.update_settings(guild_id, max_concurrent=1)
    twitch.add_user(f"60{guild_id % 100}", f"regular{guild_id % 100}")
    await runtime.vip.manual.grant(guild_id, ADMIN, f"regular{guild_id % 100}", 24)


async def test_a_cheer_both_servers_refuse_is_said_once(runtime, twitch):
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    twitch.channels[BROADCASTER].moderators.add(VIEWER)

    await cheer(runtime, (GUILD, OTHER_GUILD))
    await make_queued_calls(runtime)

    assert said(twitch) == [f"{REFUSED}: moderators cannot be VIPs."]
    for guild_id in (GUILD, OTHER_GUILD):  # each server's own log keeps its refusal
        assert [e.action for e in await runtime.vip.log(guild_id)] == ["refused"]
    await cheer(runtime, (GUILD, OTHER_GUILD), "cheer-2")  # another cheer: its own line
    assert len(said(twitch)) == 2


async def test_both_servers_at_their_cap_say_one_refusal(runtime, twitch):
    for guild_id in (GUILD, OTHER_GUILD):
        await add_bits_rule(runtime, guild_id, 24)
        await fill_cap(runtime, twitch, guild_id)

    await cheer(runtime, (OTHER_GUILD, GUILD))
    await make_queued_calls(runtime)

    [line] = said(twitch)
    assert line.startswith(REFUSED)
    assert "the most temporary VIPs at once" in line


@pytest.mark.parametrize("order", ["refusing first", "granting first"])
async def test_one_server_refusing_and_the_other_granting_says_only_the_grant(
    runtime, twitch, order
):
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    await fill_cap(runtime, twitch, GUILD)  # the first server refuses: its cap is reached
    guilds = (GUILD, OTHER_GUILD) if order == "refusing first" else (OTHER_GUILD, GUILD)

    await cheer(runtime, guilds)
    await make_queued_calls(runtime)

    [line] = said(twitch)  # not "no VIP this time" beside it
    assert line.startswith(GRANTED)
    assert VIEWER in twitch.channels[BROADCASTER].vips
    assert [g.source for g in await runtime.vip.list_vips(OTHER_GUILD)] == ["rule"]
    assert VIEWER not in [g.platform_user_id for g in await runtime.vip.list_vips(GUILD)]


async def test_a_refusal_then_a_grant_keeps_each_servers_discord_notice(runtime, twitch):
    """Only stream chat is shared: the refusing server's VIP notice channel still hears why."""
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    await fill_cap(runtime, twitch, GUILD)
    notices = []

    async def post_notice(guild_id: int, channel_id: int, text: str) -> str | None:
        notices.append((guild_id, text))
        return None

    runtime.vip.effects.notices.post_notice = post_notice  # type: ignore[union-attr,method-assign]
    for guild_id in (GUILD, OTHER_GUILD):
        await runtime.vip.update_settings(guild_id, notice_channel_id=4000 + guild_id % 100)

    await cheer(runtime, (GUILD, OTHER_GUILD))
    await make_queued_calls(runtime)

    [line] = said(twitch)
    assert line.startswith(GRANTED)
    told = {guild_id: text for guild_id, text in notices if "Viewer" in text}
    assert told[GUILD].startswith(REFUSED)
    assert told[OTHER_GUILD].startswith(GRANTED)


async def test_a_refusal_waits_only_for_servers_whose_rules_the_event_reaches(runtime, twitch):
    """The other server's rule asks for more bits than the cheer has: the refusal is said at
    once, not held for a server that will not decide."""
    await add_bits_rule(runtime, GUILD, 24)
    runtime.vip.rules.granted_scopes = lambda guild_id: one_vip.SCOPES
    await runtime.vip.rules.add(OTHER_GUILD, RuleAsked(Platform.TWITCH, "bits", 24, at_least=1000))
    twitch.channels[BROADCASTER].moderators.add(VIEWER)

    await cheer(runtime, (GUILD,))

    assert said(twitch) == [f"{REFUSED}: moderators cannot be VIPs."]


async def test_already_a_vip_from_the_other_servers_add_in_flight_is_not_said(runtime, twitch):
    """The other server's add reached Twitch first but its grant is not stored yet: the first
    server's "already a permanent VIP" is not said beside the grant."""
    await add_bits_rule(runtime, GUILD, 24)
    await add_bits_rule(runtime, OTHER_GUILD, 48)
    effects = runtime.vip.effects
    add_vip = effects.add_vip
    first_servers_turn = []

    async def first_server_answered_already(guild_id: int, broadcaster_id: str, user_id: str):
        if guild_id == OTHER_GUILD and not first_servers_turn:
            await add_vip(guild_id, broadcaster_id, user_id)  # on Twitch, not stored yet
            first_servers_turn.append(True)
            await runtime.vip.rule_grants.handle(GUILD, the_cheer(runtime))
            await make_queued_calls(runtime)
            return
        await add_vip(guild_id, broadcaster_id, user_id)

    effects.add_vip = first_server_answered_already  # type: ignore[method-assign]
    await cheer(runtime, (OTHER_GUILD,))
    await make_queued_calls(runtime)

    [line] = said(twitch)
    assert line.startswith(GRANTED)
    assert [g.source for g in await runtime.vip.list_vips(OTHER_GUILD)] == ["rule"]
    # Not listed as a permanent (outside) VIP in the first server once the grant is stored.
    assert await runtime.vip.list_vips(GUILD) == []


def test_outcomes_of_one_event_are_recorded_one_at_a_time(engine):  # type: ignore[no-untyped-def]
    """Two servers recording one event in two processes: the second waits for the first's
    transaction (PostgreSQL's lock; SQLite's one writer does it already), so the last to
    record reads the other's outcome. Another event is not held up."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's transactions each hold the one writer lock")
    lock_event = redemptions_repository.lock_event
    with engine.begin() as first:
        lock_event(first, Platform.TWITCH, BROADCASTER, "bits:cheer-1")
        with engine.begin() as second:
            lock_event(second, Platform.TWITCH, BROADCASTER, "bits:cheer-2")
            second.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
            with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
                lock_event(second, Platform.TWITCH, BROADCASTER, "bits:cheer-1")
    with engine.begin() as after:  # the first's transaction ended: free
        lock_event(after, Platform.TWITCH, BROADCASTER, "bits:cheer-1")


async def test_twitchs_vip_added_seen_before_the_grant_is_stored_is_not_kept_as_outside(
    runtime, twitch, clock
):
    """Twitch's "VIP added" of the first server's grant reached the other server before the
    grant was stored: listed there as an outside VIP only until the grant is stored."""
    added = VipAdded(
        platform=Platform.TWITCH,
        event_id="vip-add-1",
        broadcaster_user_id=BROADCASTER,
        occurred_at=clock(),
        viewer=Viewer(VIEWER, "viewer"),
    )
    twitch.add_user("6000", "handpicked")
    for viewer_id, name in ((VIEWER, "viewer"), ("6000", "handpicked")):
        event = replace(added, event_id=f"vip-add-{viewer_id}", viewer=Viewer(viewer_id, name))
        await runtime.vip.expiry.handle_vip_added(OTHER_GUILD, event)
    assert len(await runtime.vip.list_vips(OTHER_GUILD)) == 2

    await runtime.vip.manual.grant(GUILD, ADMIN, "viewer", 24)

    vips = await runtime.vip.list_vips(OTHER_GUILD)  # a VIP made by hand stays listed
    assert [(g.platform_user_id, g.source) for g in vips] == [("6000", "outside")]
    assert [g.source for g in await runtime.vip.list_vips(GUILD)] == ["manual"]
