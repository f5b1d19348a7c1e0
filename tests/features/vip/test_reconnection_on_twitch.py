"""Temporary VIP while the streamer's Twitch connection needs re-authorization, end to end on the
real Runtime and the fake Twitch on 127.0.0.1: a refund whose chat line cannot be said reaches
the streamer (Discord, ``!twitch status``, the count) and is said when they connect again;
redemptions that arrive meanwhile wait, counted, and are handled once when they do."""

from __future__ import annotations

import asyncio
import json

import sqlalchemy as sa

from core.events import Platform
from core.features.connections.checks import twitch_checks
from core.features.vip.discord_calls import NOTICE
from core.features.vip.reconnection import LEFT, RECONNECTED
from core.runtime import Runtime
from core.storage.tables import outbox
from tests.fakes.twitch_server import FakeTwitch
from tests.features.connections.test_twitch_connection import BROADCASTER, GUILD, complete, consent
from tests.features.connections.test_twitch_transport_lines import WORDS
from tests.features.vip import test_redemptions_on_twitch as on_twitch
from tests.features.vip.test_redemptions_on_twitch import ADMIN, VIEWER, redeem
from tests.support.delivery import make_queued_calls

# The fake Twitch, its clock and a runtime on it, as the redemption tests have them.
clock = on_twitch.clock
twitch = on_twitch.twitch
runtime = on_twitch.runtime

NOTICE_CHANNEL = 5001
SECOND_VIEWER = "5001"


def discord_notices(runtime: Runtime) -> list[str]:
    with runtime.engine.connect() as conn:
        payloads = conn.execute(
            sa.select(outbox.c.payload).where(outbox.c.kind == NOTICE).order_by(outbox.c.id)
        ).scalars()
        return [json.loads(payload)["text"] for payload in payloads]


def status_lines(runtime: Runtime) -> list[str]:
    return [check.detail for check in twitch_checks(runtime.twitch_setup.status(GUILD), WORDS)]


async def said_in_chat(runtime: Runtime, twitch: FakeTwitch) -> list[str]:
    """The chat lines Twitch took (the sender's queued messages sent first)."""
    sender = runtime.chat_sender_for(Platform.TWITCH)
    assert sender is not None
    await sender.close()  # type: ignore[attr-defined]
    return [message.message for message in twitch.chat_messages]


async def connect_again(runtime: Runtime) -> None:
    """The streamer consents again (all scopes) and the callback completes; the calls it
    queued are made, as the Helix worker of a bot process would within a poll."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    await make_queued_calls(runtime)


async def test_a_refund_that_cannot_be_said_in_chat_reaches_the_streamer_and_is_said_later(
    runtime, twitch
):
    """Add VIP answers 401 even to a fresh token: the viewer is refunded (CANCELED), chat is
    not tried (it goes as the streamer), Discord's VIP channel gets the notice with why, and
    the status says 1 viewer was refunded but not told; connecting again says the line."""
    await asyncio.to_thread(complete, runtime, consent(runtime, drop_scope="channel:manage:vips"))
    twitch.add_user(VIEWER, "viewer")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    await runtime.vip.update_settings(GUILD, notice_channel_id=NOTICE_CHANNEL)
    redemption_id, event = await redeem(runtime, twitch, reward_id)

    await runtime.vip.queued.handle(GUILD, event)
    await make_queued_calls(runtime)

    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"
    assert await said_in_chat(runtime, twitch) == []
    assert twitch.requests_to("/helix/chat/messages") == []
    [notice] = discord_notices(runtime)
    assert notice.startswith("@Viewer no VIP this time")
    assert "Your points were refunded." in notice
    assert "Not said in Twitch chat" in notice
    counts = await runtime.vip.reconnection.counts(GUILD)
    assert (counts.waiting, counts.untold) == (0, 1)
    assert any(
        "1 viewer was refunded but not told in chat" in line for line in status_lines(runtime)
    )

    await connect_again(runtime)

    [line] = await said_in_chat(runtime, twitch)
    assert line.startswith("@Viewer no VIP this time")
    assert line.endswith("Your points were refunded.")
    counts = await runtime.vip.reconnection.counts(GUILD)
    assert (counts.waiting, counts.untold) == (0, 0)
    assert not any(
        "vip" in check.name for check in twitch_checks(runtime.twitch_setup.status(GUILD), WORDS)
    )

    await connect_again(runtime)  # another consent: the line is not said twice
    assert len(await said_in_chat(runtime, twitch)) == 1
    assert twitch.redemptions[redemption_id]["status"] == "CANCELED"


async def test_redemptions_while_reauthorization_is_needed_wait_and_are_handled_on_reconnect(
    runtime, twitch
):
    """The streamer's grant is gone: redemptions made meanwhile do not reach Helix, are
    counted as waiting, and once the streamer connects again each is granted exactly once
    with its notices; Twitch delivering them again, or the 10-minute drain, changes nothing."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    twitch.add_user(VIEWER, "viewer")
    twitch.add_user(SECOND_VIEWER, "second")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    await runtime.vip.update_settings(GUILD, notice_channel_id=NOTICE_CHANNEL)
    twitch.revoke_grant()  # "Disconnect" on twitch.tv: EventSub says the authorization is gone
    assert runtime.twitch_connections.grant_revoked(BROADCASTER) == [GUILD]
    first_id, first = await redeem(runtime, twitch, reward_id)
    second_id = twitch.add_redemption(reward_id, SECOND_VIEWER)
    second = first.__class__(
        **{
            **first.__dict__,
            "event_id": f"{second_id}:unfulfilled",
            "redemption_id": second_id,
            "viewer": first.viewer.__class__(SECOND_VIEWER, "Second"),
        }
    )
    helix_before = len([r for r in twitch.requests if r.path.startswith("/helix/")])

    for event in (first, second):
        await runtime.vip.queued.handle(GUILD, event)
    await make_queued_calls(runtime)

    assert len([r for r in twitch.requests if r.path.startswith("/helix/")]) == helix_before
    assert {r["status"] for r in twitch.redemptions.values()} == {"UNFULFILLED"}
    counts = await runtime.vip.reconnection.counts(GUILD)
    assert (counts.waiting, counts.untold) == (2, 0)
    assert any("2 redemptions of the VIP reward wait" in line for line in status_lines(runtime))
    assert discord_notices(runtime) == []

    await connect_again(runtime)

    assert sorted(twitch.channels[BROADCASTER].vips) == sorted([VIEWER, SECOND_VIEWER])
    assert twitch.redemptions[first_id]["status"] == "FULFILLED"
    assert twitch.redemptions[second_id]["status"] == "FULFILLED"
    assert len(twitch.requests_to("/helix/channels/vips", "POST")) == 2  # each asked once
    counts = await runtime.vip.reconnection.counts(GUILD)
    assert (counts.waiting, counts.untold) == (0, 0)
    notices = discord_notices(runtime)
    assert len(notices) == 2
    assert all("is a VIP until" in n for n in notices)

    for event in (first, second):  # Twitch delivers them again; the drain runs
        await runtime.vip.queued.handle(GUILD, event)
    await runtime.vip.drain_missed()
    await make_queued_calls(runtime)
    assert len(twitch.requests_to("/helix/channels/vips", "POST")) == 2
    assert len(discord_notices(runtime)) == 2
    assert [e.action for e in await runtime.vip.log(GUILD)].count("granted") == 2


async def test_a_waiting_redemption_whose_reward_was_deleted_on_twitch_tv_is_closed_refused(
    runtime, twitch
):
    """While the streamer's grant is gone, a redemption waits; the streamer then deletes the
    reward on twitch.tv (Helix answers 404 for it; its redemptions became FULFILLED, so the
    points cannot be refunded). Connecting again closes it as refused with the reason in the
    audit log, no longer waiting; the 10-minute read asks nothing more about it."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    twitch.add_user(VIEWER, "viewer")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    twitch.revoke_grant()
    assert runtime.twitch_connections.grant_revoked(BROADCASTER) == [GUILD]
    redemption_id, event = await redeem(runtime, twitch, reward_id)
    await runtime.vip.queued.handle(GUILD, event)
    await make_queued_calls(runtime)
    assert (await runtime.vip.reconnection.counts(GUILD)).waiting == 1
    twitch.delete_reward_on_twitch_tv(reward_id)

    await connect_again(runtime)
    await runtime.vip.drain_missed()  # the 10-minute read
    await make_queued_calls(runtime)

    assert (await runtime.vip.reconnection.counts(GUILD)).waiting == 0
    assert not any("wait" in line for line in status_lines(runtime))
    [refusal] = [e for e in await runtime.vip.log(GUILD) if e.redemption_id == redemption_id]
    assert (refusal.action, refusal.platform_user_id, refusal.username) == (
        "refused",
        VIEWER,
        event.viewer.username,
    )
    assert refusal.reason == "its reward was deleted on Twitch, so its points could not be refunded"
    assert twitch.requests_to("/helix/channel_points/custom_rewards/redemptions", "PATCH") == []
    assert twitch.requests_to("/helix/channels/vips", "POST") == []


async def test_a_server_that_removed_the_bot_catches_up_on_nothing_when_the_streamer_connects(
    runtime, twitch
):
    """The bot was removed from the server (its chat, rewards and events are not acted on):
    the streamer connecting again ends the queued catch-up as left, reading no redemption and
    saying nothing; the waiting one stays UNFULFILLED on Twitch and counted, for when the bot
    is invited again."""
    await asyncio.to_thread(complete, runtime, consent(runtime))
    twitch.add_user(VIEWER, "viewer")
    reward_id = (await runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24)).reward.id
    twitch.revoke_grant()
    assert runtime.twitch_connections.grant_revoked(BROADCASTER) == [GUILD]
    redemption_id, event = await redeem(runtime, twitch, reward_id)
    await runtime.vip.queued.handle(GUILD, event)
    await make_queued_calls(runtime)
    runtime.guilds.mark_left(GUILD)
    read_before = len(twitch.requests_to("/helix/channel_points/custom_rewards/redemptions"))

    await connect_again(runtime)

    with runtime.engine.connect() as conn:
        *_first_consent, (state, result) = conn.execute(
            sa.select(outbox.c.state, outbox.c.result)
            .where(outbox.c.kind == RECONNECTED)
            .order_by(outbox.c.id)
        ).all()
    assert (state, result) == ("done", LEFT)
    assert (
        len(twitch.requests_to("/helix/channel_points/custom_rewards/redemptions")) == read_before
    )
    assert twitch.redemptions[redemption_id]["status"] == "UNFULFILLED"
    assert twitch.requests_to("/helix/channels/vips", "POST") == []
    assert await said_in_chat(runtime, twitch) == []
    assert (await runtime.vip.reconnection.counts(GUILD)).waiting == 1
