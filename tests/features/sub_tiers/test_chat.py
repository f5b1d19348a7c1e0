"""``!tier [name]`` in stream chat: what StreamKeeper knows, where it learned it, until when."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform, Subscribed, Viewer
from core.features.chat_commands.router import ChatInvocation, Permission
from core.features.sub_tiers.chat import SubTierChat
from core.features.sub_tiers.service import SubTierService
from tests.features.chat_commands.doubles import RecordingSender, replier_for, webhook_chat
from tests.features.sub_tiers.conftest import GUILD, T0, twitch_event
from tests.support.delivery import make_queued_calls
from tests.support.events import chat_message


def ask(
    tiers: SubTierService, arguments: str = "", *, user_id: str = "1234", platform=Platform.TWITCH
) -> str | None:  # type: ignore[no-untyped-def]
    event = chat_message(
        f"!tier {arguments}".strip(),
        platform=platform,
        broadcaster="1337",
        user_id=user_id,
        username="someone",
        at=T0,
        event_id="chat-1",
    )
    invocation = ChatInvocation(GUILD, event, "tier", arguments, Permission.EVERYONE)
    return SubTierChat(tiers).reply(invocation)


def test_own_tier_with_where_it_came_from(tiers: SubTierService) -> None:
    tiers.handle_subscribed(GUILD, twitch_event("channel.subscription.message", T0, tier="2000"))
    assert ask(tiers) == "Your sub: Tier 2 since 3 Nov, from a Twitch resub; good until 3 Dec."


def test_prime_is_named(tiers: SubTierService) -> None:
    tiers.handle_subscribed(GUILD, twitch_event("channel.chat.notification.sub_prime", T0))
    assert ask(tiers, user_id="49912639") == (
        "Your sub: Prime since 3 Nov, from Twitch chat's sub notice; good until 3 Dec."
    )


def test_nothing_known(tiers: SubTierService) -> None:
    assert ask(tiers) == "Your sub: nothing known."


def test_someone_else_by_name(tiers: SubTierService) -> None:
    tiers.handle_subscribed(GUILD, twitch_event("channel.subscribe.gift_recipient_tier3", T0))
    assert ask(tiers, "@lucky_viewer") == (
        "lucky_viewer: Tier 3 since 3 Nov, from a gifted Twitch sub; good until 3 Dec."
    )


def test_a_name_nobody_has(tiers: SubTierService) -> None:
    assert ask(tiers, "!ban everyone") == "ban: nothing known."


@pytest.mark.parametrize("typed", ["x@the_streamer", "@@the_streamer", "a,@the_streamer"])
def test_a_name_said_back_mentions_nobody(tiers: SubTierService, typed) -> None:
    """Only a leading ``@`` was dropped: "!tier x@the_streamer" made the bot say
    "x@the_streamer: nothing known.", a mention anyone could have the bot send (a slot name
    said back loses its ``@`` for the same reason)."""
    answer = ask(tiers, typed)
    assert "@" not in answer
    assert answer.endswith("the_streamer: nothing known.")


@pytest.mark.parametrize("typed", ["a" * 65, "x" * 1900, "@"])
def test_what_no_viewer_can_be_called_is_answered_short(tiers: SubTierService, typed) -> None:
    answer = ask(tiers, typed)
    assert answer.endswith(": nothing known.")
    assert len(answer) < 80


def test_the_other_platform_is_not_mixed_in(tiers: SubTierService) -> None:
    tiers.handle_subscribed(GUILD, twitch_event("channel.subscribe", T0))
    assert ask(tiers, platform=Platform.KICK) == "Your sub: nothing known."


def test_an_expired_record_is_nothing_known(tiers: SubTierService, clock) -> None:  # type: ignore[no-untyped-def]
    tiers.handle_subscribed(GUILD, twitch_event("channel.subscribe", T0))
    clock.advance(timedelta(days=31))
    assert ask(tiers) == "Your sub: nothing known."


async def test_kick_sub_then_tier_in_kick_chat_through_the_runtime(make_runtime) -> None:
    runtime = make_runtime()
    runtime.guilds.set_kick_channel(GUILD, "broadcaster_channel", "123456789")
    sender = RecordingSender()
    runtime.chat_commands.replies = replier_for(sender)
    now = runtime.clock()
    sub = Subscribed(
        platform=Platform.KICK,
        event_id="kick-sub-1",
        broadcaster_user_id="123456789",
        occurred_at=now,
        viewer=Viewer("987654321", "subscriber_name"),
        expires_at=now + timedelta(days=30),
    )
    await runtime.dispatcher(sub)

    await runtime.dispatcher(webhook_chat("!tier", sender_id=987654321, at=now))
    await runtime.dispatcher(webhook_chat("!tier subscriber_name", sender_id=1, at=now))
    await runtime.chat_commands.flush()
    await make_queued_calls(runtime)

    assert len(sender.texts) == 2
    assert sender.texts[0].startswith("Your sub: Tier 1 since ")
    assert "from a Kick sub; good until " in sender.texts[0]
    assert sender.texts[1].startswith("subscriber_name: Tier 1 since ")


def test_every_bot_process_looks_up_whom_its_own_chat_queued(make_runtime) -> None:
    """The lookups wait in the memory of the process whose chat asked for them (a `!join`
    read by process B): a job held by one process alone would leave B's never asked."""
    runtime = make_runtime()
    assert "looking up subscription tiers" in runtime.scheduler.loops
    assert "looking up subscription tiers" not in runtime.scheduler.jobs_held_once()
