"""The slot call queue: settings, picks, clearing and the blacklist, per guild, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.events import Platform, Viewer
from core.features.slot_calls.names import clean_slot_name, slot_key
from core.features.slot_calls.service import (
    InvalidSetting,
    SlotCallService,
    Verdict,
)
from core.features.viewers.repository import remember_viewers
from tests.features.chat_commands.doubles import webhook_chat
from tests.features.slot_calls.conftest import CALLS_CHANNEL, GUILD, MODERATOR, OTHER_GUILD
from tests.features.viewers.guild_support import chatted_in


def call(service: SlotCallService, clock, slot: str, guild_id: int = GUILD, **sender):
    clock.advance(60)
    event = webhook_chat(f"!call {slot}", at=clock.now, **sender)
    return service.request(guild_id, event, slot)


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("  Book   of Dead ", "Book of Dead"),
        ("Book\u200b of\u200d Dead\u2060", "Book of Dead"),
        ("\u202eDead of Book", "Dead of Book"),
        ("!!/Book of Dead", "Book of Dead"),
        ("\uff01Book of Dead", "Book of Dead"),
        ("Book\nof\tDead", "Book of Dead"),
        ("\u3164", ""),
        ("\ufe0f\u034f", ""),  # a variation selector and the combining grapheme joiner
        ("Book\u034f of\ufe0f Dead\U000e0100", "Book of Dead"),
        ("**Book** of @everyone", "**Book** of @everyone"),  # kept; Discord shows it inert
        ("B" + "\u0337\u0353" * 20 + "ook", "B\u0337\u0337ook"),  # zalgo: two marks a letter
        (
            "Pok\u00e9mon Ca\u0301fe\u0301\u0300",
            "Pok\u00e9mon C\u00e1f\u00e9\u0300",
        ),  # accents kept
    ],
)
def test_slot_names_are_kept_clean(typed, kept) -> None:
    assert clean_slot_name(typed) == kept


def test_slot_names_compare_without_case_or_spaces() -> None:
    assert slot_key("Book of Dead") == slot_key("BOOKOF dead") == "bookofdead"


def test_slot_names_compare_without_zalgo_marks() -> None:
    zalgo = clean_slot_name("B\u0337o\u0337o\u0337k\u0337 o\u0336f D\u0335e\u0334a\u0338d\u0489")
    assert slot_key(zalgo) == slot_key("Book of Dead")


def test_a_zalgo_copy_of_an_open_slot_is_already_in_the_queue(service, clock) -> None:
    service.set_enabled(GUILD, True)
    assert call(service, clock, "Book of Dead", sender_id=1).verdict == Verdict.ACCEPTED
    copy = call(service, clock, "B\u0337o\u0337o\u0337k\u0337 of De\u0353\u0353ad", sender_id=2)
    assert copy.verdict == Verdict.ALREADY_OPEN
    assert service.count_open(GUILD) == 1


def test_slot_names_compare_without_invisible_characters() -> None:
    assert slot_key("Book\u034f of\ufe0f Dead\u17b4") == "bookofdead"


def test_a_call_of_invisible_marks_only_is_empty(service, clock) -> None:
    service.set_enabled(GUILD, True)
    outcome = call(service, clock, "\ufe0f\u034f")  # VS16 + combining grapheme joiner
    assert outcome.verdict == Verdict.EMPTY, (
        f"an invisible slot name was {outcome.verdict}: {outcome.call and outcome.call.slot_name!r}"
    )


def test_an_invisible_mark_does_not_make_the_same_slot_a_new_call(service, clock) -> None:
    service.set_enabled(GUILD, True)
    first = call(service, clock, "Gates of Olympus", sender_id=1, username="ana")
    again = call(service, clock, "Gates of Olympus\u034f", sender_id=2, username="bob")
    assert first.verdict == Verdict.ACCEPTED
    assert again.verdict == Verdict.ALREADY_OPEN, "the same slot was queued twice"


def test_a_kick_emote_after_the_slot_is_not_part_of_its_name(service, clock) -> None:
    # Kick writes an emote in chat text as [emote:<id>:<name>]; Discord would show the markup.
    service.set_enabled(GUILD, True)
    first = call(service, clock, "Gates of Olympus", sender_id=1, username="ana")
    again = call(service, clock, "Gates of Olympus [emote:37226:KEKW]", sender_id=2, username="bob")
    other = call(service, clock, "[emote:4148074:HYPERCLAP]Sweet Bonanza", sender_id=3)
    only_emotes = call(service, clock, "[emote:37226:KEKW] [emote:1:x]", sender_id=4)
    assert first.verdict == Verdict.ACCEPTED
    assert again.verdict == Verdict.ALREADY_OPEN, "the same slot was queued twice"
    assert other.call is not None
    assert other.call.slot_name == "Sweet Bonanza"
    assert only_emotes.verdict == Verdict.EMPTY


def test_calls_are_off_until_turned_on_and_settings_are_stored(service) -> None:
    status = service.status(GUILD)
    assert (status.settings.enabled, status.channel_id, status.open_calls) == (
        False,
        CALLS_CHANNEL,
        0,
    )
    assert status.settings.cooldown_seconds == 30
    assert status.settings.max_open_per_user is None

    service.set_enabled(GUILD, True)
    service.set_channel(GUILD, 7001)
    service.set_cooldown(GUILD, 5)
    service.set_max_open(GUILD, 2)
    status = service.set_require_link(GUILD, True)

    assert (status.settings.enabled, status.channel_id) == (True, 7001)
    assert (status.settings.cooldown_seconds, status.settings.max_open_per_user) == (5, 2)
    assert status.settings.require_link is True
    assert service.status(OTHER_GUILD).settings.enabled is False
    assert service.set_channel(GUILD, None).channel_id == CALLS_CHANNEL


@pytest.mark.parametrize("seconds", [-1, 3601])
def test_a_cooldown_out_of_range_is_refused(service, seconds) -> None:
    with pytest.raises(InvalidSetting, match="0 to 3600 seconds"):
        service.set_cooldown(GUILD, seconds)


@pytest.mark.parametrize("limit", [0, -2, 101])
def test_a_limit_out_of_range_is_refused(service, limit) -> None:
    with pytest.raises(InvalidSetting, match="1 to 100"):
        service.set_max_open(GUILD, limit)


def test_a_call_already_stored_changes_nothing(service, clock) -> None:
    service.set_enabled(GUILD, True)
    event = webhook_chat("!call Book of Dead", at=clock.now)

    first = service.request(GUILD, event, "Book of Dead")
    again = service.request(GUILD, event, "Book of Dead")

    assert (first.verdict, again.verdict) == (Verdict.ACCEPTED, Verdict.ALREADY_STORED)
    assert service.count_open(GUILD) == 1


def test_a_pick_takes_one_open_call_and_records_who_picked_it(engine, clock) -> None:
    offered: list[list[int]] = []

    def choose(ids):
        offered.append(list(ids))
        return ids[1]

    service = SlotCallService(engine, clock, choose=choose)
    service.set_enabled(GUILD, True)
    for user_id, slot in enumerate(["Book of Dead", "Sugar Rush", "Gates of Olympus"], start=1):
        call(service, clock, slot, sender_id=user_id)

    pick = service.pick(GUILD, MODERATOR)

    assert pick is not None
    assert (pick.call.slot_name, pick.call.status, pick.call.closed_by) == (
        "Sugar Rush",
        "picked",
        MODERATOR,
    )
    assert pick.open_before == 3
    assert len(offered[0]) == 3
    assert [c.slot_name for c in service.open_calls(GUILD, 10)] == [
        "Book of Dead",
        "Gates of Olympus",
    ]


def test_picks_use_the_systems_csprng_and_reach_every_call(service, clock) -> None:
    import secrets

    assert service.choose is secrets.choice
    service.set_enabled(GUILD, True)
    service.set_cooldown(GUILD, 0)
    for index in range(3):
        call(service, clock, f"Slot {index}", sender_id=index + 1)
    picked = set()
    while (pick := service.pick(GUILD, MODERATOR)) is not None:
        picked.add(pick.call.slot_name)
    assert picked == {"Slot 0", "Slot 1", "Slot 2"}


def test_an_empty_queue_has_nothing_to_pick(service) -> None:
    assert service.pick(GUILD, MODERATOR) is None


def test_clearing_closes_every_open_call_of_that_guild_only(service, clock) -> None:
    for guild_id in (GUILD, OTHER_GUILD):
        service.set_enabled(guild_id, True)
        call(service, clock, "Book of Dead", guild_id, sender_id=1)
        call(service, clock, "Sugar Rush", guild_id, sender_id=2)

    assert service.clear(GUILD, MODERATOR) == 2
    assert service.clear(GUILD, MODERATOR) == 0
    assert service.count_open(GUILD) == 0
    assert service.count_open(OTHER_GUILD) == 2


def test_closed_calls_are_forgotten_30_days_after_they_close(service, clock) -> None:
    """As the privacy page says; an open call stays however old."""
    service.set_enabled(GUILD, True)
    call(service, clock, "Book of Dead", GUILD, sender_id=1)
    service.clear(GUILD, MODERATOR)
    clock.advance(timedelta(days=29))
    call(service, clock, "Sugar Rush", GUILD, sender_id=2)
    assert service.forget_old_calls() == 0
    clock.advance(timedelta(days=2))

    assert service.forget_old_calls() == 1
    assert service.count_open(GUILD) == 1
    assert service.pick(GUILD, MODERATOR).call.slot_name == "Sugar Rush"


def test_picks_never_reach_into_another_guild(service, clock) -> None:
    service.set_enabled(OTHER_GUILD, True)
    call(service, clock, "Book of Dead", OTHER_GUILD)

    assert service.pick(GUILD, MODERATOR) is None
    assert service.count_open(OTHER_GUILD) == 1


def test_the_blacklist_is_listed_and_removed_by_name(service, viewer_seen) -> None:
    viewer_seen(66, "Troll")

    assert service.blacklist.add(GUILD, "@troll", added_by=MODERATOR, reason="spam").is_new is True
    assert service.blacklist.add(GUILD, "TROLL", added_by=MODERATOR, reason="again").is_new is False
    assert service.blacklist.add(GUILD, "nobody_yet", added_by=MODERATOR).is_new is True

    entries = service.blacklist.entries(GUILD)
    assert sorted((e.username, str(e.platform), e.platform_user_id, e.reason) for e in entries) == [
        ("nobody_yet", "kick", None, None),  # nobody called so has chatted: kept for both
        ("nobody_yet", "twitch", None, None),
        ("troll", "kick", "66", "again"),
    ]
    assert service.blacklist.entries(OTHER_GUILD) == []
    assert service.blacklist.remove(GUILD, "Troll") is True
    assert service.blacklist.remove(GUILD, "Troll") is False
    assert service.blacklist.remove(GUILD, "twitch:nobody_yet") is True
    assert [(e.username, str(e.platform)) for e in service.blacklist.entries(GUILD)] == [
        ("nobody_yet", "kick")
    ]


def test_a_name_seen_on_both_platforms_must_say_which(service, engine, clock) -> None:
    with engine.begin() as conn:
        remember_viewers(conn, Platform.KICK, [Viewer("66", "troll")], clock())
        remember_viewers(conn, Platform.TWITCH, [Viewer("t66", "troll")], clock())
    chatted_in(engine, GUILD, Platform.KICK, "66")
    chatted_in(engine, GUILD, Platform.TWITCH, "t66")
    with pytest.raises(InvalidSetting) as refused:
        service.blacklist.add(GUILD, "troll", added_by=MODERATOR)
    assert str(refused.value) == (
        "Both a Kick and a Twitch viewer are called troll: write kick:troll or twitch:troll."
    )
    assert service.blacklist.entries(GUILD) == []
    assert service.blacklist.add(GUILD, "TWITCH:@troll", added_by=MODERATOR).is_new is True
    assert [(str(e.platform), e.platform_user_id) for e in service.blacklist.entries(GUILD)] == [
        ("twitch", "t66")
    ]


def test_a_renamed_viewer_comes_off_the_blacklist_by_their_new_name(service, viewer_seen) -> None:
    viewer_seen(66, "troll")
    service.blacklist.add(GUILD, "troll", added_by=MODERATOR)
    viewer_seen(66, "reformed")

    assert service.blacklist.remove(GUILD, "reformed") is True
    assert service.blacklist.entries(GUILD) == []


def test_blacklisting_needs_a_name(service) -> None:
    for typed in (" @ \u200b", "kick:", "x" * 65):
        with pytest.raises(
            InvalidSetting, match=r"^Name the viewer to blacklist: a Kick or Twitch"
        ):
            service.blacklist.add(GUILD, typed, added_by=MODERATOR)
    assert service.blacklist.entries(GUILD) == []


def test_a_blacklist_reason_past_200_characters_is_refused_not_cut(service) -> None:
    with pytest.raises(InvalidSetting, match=r"^Keep the reason under 200 characters\.$"):
        service.blacklist.add(GUILD, "troll", added_by=MODERATOR, reason="r" * 201)
    assert service.blacklist.entries(GUILD) == []
    service.blacklist.add(GUILD, "troll", added_by=MODERATOR, reason="w" * 200)
    assert {e.reason for e in service.blacklist.entries(GUILD)} == {"w" * 200}
