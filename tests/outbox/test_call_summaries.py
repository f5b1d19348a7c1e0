"""Every call a feature queues says what it does in the streamer's words: that is what the
dashboard's overview and ``!health`` show when it does not happen (``core/outbox/undone.py``).
Each feature's queueing function, called as its feature calls it; the VIP service's own
queueing (redemptions, rules, reconnection) is in tests/features/vip/test_call_summaries.py."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from core.events import (
    AccountLinked,
    AccountLinkFailed,
    AccountUnlinked,
    Platform,
    RewardRedeemed,
    Viewer,
)
from core.features.chat_commands.queued import queue_line
from core.features.linking.queued import QueuedLinkEffects
from core.features.points.se_payments import queue_payment
from core.features.slot_calls.posts import queue_post
from core.features.vip.discord_calls import queue_kick_redemption, queue_notice
from core.features.vip.removal_calls import queue_removal
from core.features.vip.repository import Grant
from core.features.vip.reward_deletion import queue_deletion
from core.features.vip.rules_repository import VipRule
from core.outbox import store

T0 = datetime(2030, 6, 1, 20, 0, tzinfo=UTC)
GUILD = 111


def summaries(engine: Engine) -> list[str | None]:
    """The guild's calls' summaries, oldest first."""
    with engine.connect() as conn:
        return [call.summary for call in reversed(store.of_guild(conn, GUILD))]


def test_a_slot_call_post_names_the_viewer_and_the_slot(sqlite_engine: Engine):
    with sqlite_engine.begin() as conn:
        queue_post(conn, GUILD, 7, 5001, 1, T0, who="ana", slot="Gates of Olympus")

    assert summaries(sqlite_engine) == ["post ana's slot call 'Gates of Olympus' in Discord"]


def test_a_removed_rules_reward_deletion_names_the_reward(sqlite_engine: Engine):
    rule = VipRule(
        3, GUILD, Platform.TWITCH, "reward", 168, T0,
        reward_id="r-1", reward_title="VIP 1 week", reward_cost=25_000,
    )  # fmt: skip
    with sqlite_engine.begin() as conn:
        assert queue_deletion(conn, rule, T0)

    assert summaries(sqlite_engine) == [
        "delete the reward 'VIP 1 week' (25,000 points) (VIP rule 3 was removed)"
    ]


def test_an_expired_vips_removal_names_the_viewer_on_each_platform(sqlite_engine: Engine):
    grants = [
        Grant(n, GUILD, platform, "b1", f"u{n}", name, "reward", T0, T0)
        for n, platform, name in ((1, Platform.TWITCH, "bo"), (2, Platform.KICK, "cy"))
    ]
    with sqlite_engine.begin() as conn:
        for grant in grants:
            assert queue_removal(conn, grant, T0)

    assert summaries(sqlite_engine) == [
        "remove bo as a VIP on Twitch (their VIP time is up)",
        "take the VIP role off cy (their Kick VIP time is up)",
    ]


def test_a_vip_notice_and_a_kick_vip_role_say_what_they_post_and_give(sqlite_engine: Engine):
    redeemed = RewardRedeemed(
        platform=Platform.KICK, event_id="e1", broadcaster_user_id="b1", occurred_at=T0,
        viewer=Viewer("9", "dee"), reward_title="Kick VIP",
    )  # fmt: skip
    with sqlite_engine.begin() as conn:
        queue_notice(conn, GUILD, 5001, "dee is a VIP until Friday.", T0)
        queue_kick_redemption(conn, GUILD, redeemed, T0)

    assert summaries(sqlite_engine) == [
        "post in the VIP channel: dee is a VIP until Friday.",
        "give dee the VIP role for redeeming 'Kick VIP'",
    ]


def test_a_streamelements_payment_says_who_gets_or_loses_how_much_and_why(
    sqlite_engine: Engine,
):
    with sqlite_engine.begin() as conn:
        queue_payment(conn, GUILD, "ann", 1_500, "heist", "7:kick:1:payout", T0, heist_id=7)
        queue_payment(conn, GUILD, "bob", -250, "admin", "discord:1", T0, actor_id=77)

    assert summaries(sqlite_engine) == [
        "give ann 1,500 StreamElements points (the heist)",
        "take 250 StreamElements points from bob (an admin's change)",
    ]


def test_a_chat_line_says_where_and_what(sqlite_engine: Engine):
    with sqlite_engine.begin() as conn:
        queue_line(conn, Platform.TWITCH, GUILD, "b1", "ana won the heist!", "line:1", T0)

    assert summaries(sqlite_engine) == ["say in chat: ana won the heist!"]


async def test_what_follows_a_link_names_the_member_and_the_account(sqlite_engine: Engine):
    queued = QueuedLinkEffects(sqlite_engine, lambda: T0, effects=None)  # type: ignore[arg-type]
    common = {"guild_id": GUILD, "platform": Platform.KICK, "occurred_at": T0}
    ana = Viewer("5", "ana_kick")
    await queued.queue(GUILD, AccountLinked(**common, event_id="l1", discord_user_id=42,
                                            viewer=ana))  # fmt: skip
    await queued.queue(GUILD, AccountLinkFailed(**common, event_id="l2", discord_user_id=43,
                                                reason="declined"))  # fmt: skip
    await queued.queue(GUILD, AccountLinkFailed(**common, event_id="l4", discord_user_id=44,
                                                reason="already_linked", viewer=ana))  # fmt: skip
    await queued.queue(GUILD, AccountUnlinked(**common, event_id="l3", discord_user_id=42,
                                              actor_id=42, viewer=ana))  # fmt: skip

    assert summaries(sqlite_engine) == [
        "DM the member who linked the Kick account 'ana_kick' and give them the linked roles",
        "tell the member who tried to link why it failed",
        "tell the member who tried to link the Kick account 'ana_kick' why it failed",
        "take the linked roles off the member who unlinked the Kick account 'ana_kick'",
    ]
