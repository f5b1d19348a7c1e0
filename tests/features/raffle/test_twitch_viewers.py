"""Twitch viewers in the raffle's member commands and admin changes, on both backends: a member
linked only on Twitch sees and is given tickets, a member with both accounts sees each account's
tickets and is excluded whole, and a name is looked up on the platform it names (``kick:`` or
``twitch:``), refused when it is taken on both."""

from __future__ import annotations

import re

import pytest

from core.events import Platform
from core.features.raffle.errors import RaffleRefused
from tests.features.raffle.support import GUILD, add_viewer
from tests.features.raffle.test_service import clock, raffle
from tests.features.viewers.guild_support import chatted_in

__all__ = ["clock", "raffle"]

ONLY_TWITCH, BOTH = 41, 42


@pytest.fixture
def viewers(engine, raffle):
    add_viewer(engine, "t1", "tv_only", ONLY_TWITCH, Platform.TWITCH)
    add_viewer(engine, "k2", "both_kick", BOTH)
    add_viewer(engine, "t2", "both_tv", BOTH, Platform.TWITCH)
    add_viewer(engine, "k3", "same_name")
    add_viewer(engine, "t3", "same_name", platform=Platform.TWITCH)
    for platform, user_id in ((Platform.KICK, "k2"), (Platform.KICK, "k3")):
        chatted_in(engine, GUILD, platform, user_id)  # this server's viewers, named by name
    for user_id in ("t1", "t2", "t3"):
        chatted_in(engine, GUILD, Platform.TWITCH, user_id)
    raffle.periods.start(GUILD)
    return raffle


def _give(
    raffle, tickets: int, *, member: int | None = None, name: str | None = None
) -> tuple[str, str, int]:
    """The account the tickets went to (platform, name) and its balance."""
    given = raffle.admin.give(
        GUILD, actor_id=1, member_id=member, username=name, tickets=tickets, reason="",
        reference=f"r{member}{name}{tickets}",
    )  # fmt: skip
    return str(given.platform), given.account_name, given.balance


def test_a_member_linked_only_on_twitch_holds_and_sees_tickets(viewers):
    assert _give(viewers, 7, member=ONLY_TWITCH) == ("twitch", "tv_only", 7)
    [view] = viewers.views.tickets_of(GUILD, ONLY_TWITCH)
    assert (view.platform, view.username, view.tickets, view.rank) == (
        Platform.TWITCH, "tv_only", 7, 1,
    )  # fmt: skip
    stats = viewers.views.stats(GUILD, ONLY_TWITCH)
    assert (stats.member_username, stats.member_by_source) == ("tv_only", {"admin": 7})


def test_a_member_with_both_accounts_sees_each_and_is_given_on_kick(viewers):
    assert _give(viewers, 5, member=BOTH) == ("kick", "both_kick", 5)  # their Kick account
    assert _give(viewers, 3, name="twitch:@both_tv")[::2] == ("twitch", 3)
    kick, twitch = viewers.views.tickets_of(GUILD, BOTH)
    assert [(v.platform, v.username, v.tickets) for v in (kick, twitch)] == [
        (Platform.KICK, "both_kick", 5),
        (Platform.TWITCH, "both_tv", 3),
    ]
    stats = viewers.views.stats(GUILD, BOTH)
    assert stats.member_username == "both_kick / both_tv"
    assert stats.member_by_source == {"admin": 8}
    assert [entry.amount for entry in stats.member_entries or []] == [3, 5]  # newest first


def test_excluding_a_member_excludes_every_account_they_linked(viewers):
    _give(viewers, 5, member=BOTH)
    assert viewers.admin.exclude(GUILD, actor_id=1, member_id=BOTH, username=None).names == [
        "both_kick",
        "both_tv",
    ]
    assert all(view.is_excluded for view in viewers.views.tickets_of(GUILD, BOTH))
    with pytest.raises(RaffleRefused, match=r"^both_kick and both_tv are already excluded\.$"):
        viewers.admin.exclude(GUILD, actor_id=1, member_id=BOTH, username=None)
    included = viewers.admin.include(GUILD, member_id=None, username="twitch:both_tv")
    assert included.names == ["both_tv"]
    kick, twitch = viewers.views.tickets_of(GUILD, BOTH)
    assert (kick.is_excluded, twitch.is_excluded) == (True, False)
    assert viewers.admin.include(GUILD, member_id=BOTH, username=None).names == ["both_kick"]
    with pytest.raises(RaffleRefused, match=r"^both_kick and both_tv are not excluded\.$"):
        viewers.admin.include(GUILD, member_id=BOTH, username=None)


def test_a_name_taken_on_both_platforms_must_name_one(viewers):
    with pytest.raises(RaffleRefused) as refused:
        _give(viewers, 1, name="same_name")
    assert str(refused.value) == (
        "Both a Kick and a Twitch viewer are called same_name: write kick:same_name or "
        "twitch:same_name."
    )
    assert _give(viewers, 2, name="KICK:same_name") == ("kick", "same_name", 2)
    assert _give(viewers, 4, name="twitch:same_name") == ("twitch", "same_name", 4)
    board = viewers.views.board(GUILD)
    assert sorted((str(e.platform), e.tickets) for e in board.entries) == [
        ("kick", 2), ("twitch", 4),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("kick:tv_only", "I don't know a Kick or Twitch viewer by that name."),
        ("twitch:", "Name a viewer: their Kick or Twitch name"),
        ("x" * 65, "Name a viewer: their Kick or Twitch name"),
    ],
)
def test_a_name_that_finds_nobody_is_refused_in_words(viewers, typed, words):
    with pytest.raises(RaffleRefused, match=f"^{re.escape(words)}"):
        _give(viewers, 1, name=typed)
    assert viewers.views.board(GUILD).entries == []
