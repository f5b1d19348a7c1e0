"""The Twitch chat sender's answers when a post does not go out: Twitch got it and no answer
came back (it may be in chat: never sent again, the outbox ends it uncertain), Twitch refused it
(a plain reason), or Twitch asked for time before anything went out (to try later)."""

from __future__ import annotations

from core.outbox import deadline
from core.platforms.http import FateUnknown, TryLater
from core.platforms.twitch.chat import TwitchChatSender
from core.platforms.twitch.helix import HelixClient
from tests.fakes.twitch_server import FakeTwitch
from tests.platforms.twitch.conftest import BROADCASTER_ID

GUILD = 111
CHAT = "/helix/chat/messages"


def sender(helix: HelixClient, token: str) -> TwitchChatSender:
    async def as_streamer(guild_id, call):  # type: ignore[no-untyped-def]
        return await call(token)

    return TwitchChatSender(helix, streamer_call=as_streamer)


async def test_a_post_twitch_got_but_never_answered_is_not_sent_again_and_its_fate_is_unknown(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    twitch.disconnect_next(CHAT, method="POST")  # Twitch takes it, then the answer is lost

    stopped = await sender(helix, token).deliver_now(
        guild_id=GUILD, broadcaster_user_id=BROADCASTER_ID, text="hello"
    )

    assert isinstance(stopped, FateUnknown)
    assert stopped == "http_unreachable"
    assert len(twitch.requests_to(CHAT, "POST")) == 1


async def test_a_refused_post_is_a_plain_reason_and_a_sent_one_none(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    said = sender(helix, token)
    twitch.fail_next(CHAT, 403, method="POST")

    refused = await said.deliver_now(
        guild_id=GUILD, broadcaster_user_id=BROADCASTER_ID, text="hello"
    )
    sent = await said.deliver_now(guild_id=GUILD, broadcaster_user_id=BROADCASTER_ID, text="hi")

    assert (refused, isinstance(refused, FateUnknown)) == ("http_403", False)
    assert sent is None
    assert [m.message for m in twitch.chat_messages] == ["hi"]


async def test_a_rate_limit_with_nothing_sent_is_to_try_later_within_the_calls_time(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    """Inside an outbox call with a second left, Twitch's 429 is not waited out (15 s
    attempts do not fit): nothing went out, so the line is for later, not refused."""
    twitch.fail_next(CHAT, 429, method="POST", times=5)

    with deadline.within(1):
        stopped = await sender(helix, token).deliver_now(
            guild_id=GUILD, broadcaster_user_id=BROADCASTER_ID, text="hello"
        )

    assert isinstance(stopped, TryLater)
    assert stopped == "http_429"
    assert len(twitch.requests_to(CHAT, "POST")) == 1
    assert twitch.chat_messages == []


async def test_a_rate_limit_longer_than_the_client_waits_says_how_long_twitch_asked(
    helix: HelixClient, token: str, twitch: FakeTwitch
) -> None:
    """The chat outbox then says the line after that wait, not at its own backoff's."""
    twitch.fail_next(CHAT, 429, method="POST", headers={"Retry-After": "120"})

    stopped = await sender(helix, token).deliver_now(
        guild_id=GUILD, broadcaster_user_id=BROADCASTER_ID, text="hello"
    )

    assert isinstance(stopped, TryLater)
    assert (stopped, stopped.retry_after) == ("http_429", 120.0)
    assert len(twitch.requests_to(CHAT, "POST")) == 1
