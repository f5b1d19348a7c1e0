"""Events in a streamer's words (core/events/words.py): each type says who did what, a viewer's
text is cut short, and any event the codec can build, however odd, gets a sentence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.events import (
    EVENT_TYPES,
    AccountLinkFailed,
    ChatMessageSent,
    Cheered,
    KicksGifted,
    Platform,
    Raided,
    RewardRedeemed,
    StreamStarted,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
    ViewerBanned,
)
from core.events.base import InvalidEvent
from core.events.words import (
    LABELS,
    LINK_FAILURES,
    SHORT,
    describe,
    kick_webhook_type,
    label,
    subscription_types,
)
from core.features.linking.service import REASONS

AT = datetime(2030, 1, 1, 20, 0, tzinfo=UTC)
ANA = Viewer("1", "ana")


def common(**fields):  # type: ignore[no-untyped-def]
    return {"platform": Platform.TWITCH, "broadcaster_user_id": "99", "event_id": "e1",
            "occurred_at": AT, **fields}  # fmt: skip


@pytest.mark.parametrize(
    ("event", "said"),
    [
        (ChatMessageSent(**common(viewer=ANA, content="hi   there")), "ana: hi there"),
        (Subscribed(**common(viewer=ANA, tier="1000")), "ana subscribed (tier 1)"),
        (
            Subscribed(**common(viewer=ANA, is_renewal=True, months=7, is_prime=True)),
            "ana resubscribed for 7 months (Prime)",
        ),
        (SubscriptionsGifted(**common(gifter=ANA, count=5)), "ana gifted 5 subs"),
        (SubscriptionsGifted(**common(gifter=None, count=1)), "An anonymous viewer gifted 1 sub"),
        (
            RewardRedeemed(**common(viewer=ANA, reward_title="Temporary VIP", cost=5000)),
            "ana redeemed Temporary VIP (5,000 points)",
        ),
        (StreamStarted(**common(title="Road to 1,000")), "The stream went live: Road to 1,000"),
        (
            ViewerBanned(**common(viewer=ANA, moderator=Viewer("2", "mod"), expires_at=AT)),
            "ana was timed out by mod",
        ),
        (
            KicksGifted(**common(viewer=ANA, amount=100, platform=Platform.KICK)),
            "ana sent 100 KICKs",
        ),
        (KicksGifted(**common(viewer=ANA, amount=1, platform=Platform.KICK)), "ana sent 1 KICK"),
        (Raided(**common(raider=ANA, viewers=1200)), "ana raided with 1,200 viewers"),
        (Cheered(**common(viewer=None, bits=500, message="gg")), "someone cheered 500 bits: gg"),
        (
            AccountLinkFailed(**common(guild_id=5, discord_user_id=7, reason="declined")),
            "A member's link did not work: declined on the platform",
        ),
    ],
)
def test_each_event_says_who_did_what(event, said):
    assert describe(event) == said


def test_every_reason_a_link_fails_for_is_said_in_words():
    """A failed Twitch sign-in read "A member's link did not work: twitch_error"."""
    assert set(REASONS) <= set(LINK_FAILURES)
    said = describe(
        AccountLinkFailed(**common(guild_id=5, discord_user_id=7, reason="twitch_error"))
    )
    assert said == "A member's link did not work: the platform did not answer"


def test_a_long_text_is_cut_short():
    said = describe(ChatMessageSent(**common(viewer=ANA, content="x" * 2000)))
    assert said.endswith("…")
    assert len(said) == len("ana: ") + SHORT


def test_every_event_type_has_a_label_for_the_filters():
    assert set(EVENT_TYPES) <= set(LABELS)
    assert label("something_new") == "Something new"


@settings(max_examples=100)
@given(st.sampled_from(sorted(EVENT_TYPES)), st.text(max_size=300), st.integers(0, 10**6))
def test_any_event_gets_a_sentence(kind, text, number):
    """Built leniently as the platforms' parsers would (a name, a text, a count), every type
    answers a non-empty sentence without raising."""
    import dataclasses

    cls = EVENT_TYPES[kind]
    fields = {f.name: f for f in dataclasses.fields(cls)}
    try:
        typed = {
            "viewer": Viewer("3", "v" + text[:50]),
            "raider": Viewer("4", "r" + text[:50]),
            "gifter": None,
            "discord_user_id": number,
            "actor_id": number,
            "guild_id": number + 1,
        }
        values = common()
        for name, field in fields.items():
            required = field.default is dataclasses.MISSING
            required = required and field.default_factory is dataclasses.MISSING  # type: ignore[misc]
            if name not in values and required:
                values[name] = typed.get(name, text[:50])
        event = cls(**{k: v for k, v in values.items() if k in fields})
    except (InvalidEvent, ValueError, TypeError):
        return  # the event's own checks refused the value: nothing to describe
    assert describe(event).strip()


def test_kicks_are_spelled_as_kick_spells_them():
    """Kick calls its currency KICKs: the feed's filter, its webhook type and a missing
    subscription say so, not "Kicks" or "kicks"."""
    assert LABELS["kicks_gifted"] == "KICKs"
    assert kick_webhook_type("kicks.gifted") == "KICKs gifted"
    missing = subscription_types("kick", ["chat.message.sent", "kicks.gifted"])
    assert missing == "chat messages, KICKs gifted"
