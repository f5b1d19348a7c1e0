"""What the bot says, checked without Discord."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.discord_bot import render
from core.discord_bot.health import render as health_render
from core.discord_bot.watchtime import render as watchtime_render
from core.events import Platform
from core.features.watchtime.durations import format_duration
from core.features.watchtime.service import RankedWatchtime, TrackingStatus
from core.features.watchtime.standings_repository import WatchtimeRow
from core.health import Check, HealthReport

SEEN = datetime(2030, 6, 1, 22, 5, tzinfo=UTC)


def ranked(rank: int, username: str, seconds: int, last_seen: datetime | None = SEEN):
    return RankedWatchtime(
        rank, WatchtimeRow(Platform.KICK, str(1000 + rank), username, seconds, last_seen)
    )


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 min"),
        (59, "0 min"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 00 min"),
        (7500, "2 h 05 min"),
        (90061, "25 h 01 min"),
        (4_442_460, "1,234 h 01 min"),  # a regular of years, as the dashboard writes it
        (-5, "0 min"),
    ],
)
def test_format_duration_shows_whole_hours_and_minutes(seconds: int, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_last_seen_is_a_relative_discord_timestamp_even_for_naive_utc() -> None:
    expected = f"<t:{int(SEEN.timestamp())}:R>"
    assert render.format_last_seen(SEEN) == expected
    assert render.format_last_seen(SEEN.replace(tzinfo=None)) == expected
    assert render.format_last_seen(None) == "never"


def test_viewer_watchtime_shows_time_rank_and_last_seen() -> None:
    text = watchtime_render.viewer_watchtime(ranked(3, "carol", 7500), total_viewers=42)

    assert text == (
        f"**carol** has watched 2 h 05 min, rank #3 of 42, last seen <t:{int(SEEN.timestamp())}:R>."
    )


@pytest.mark.parametrize(
    "name", ["@everyone", "@here", "**bold**", "<@123456789012345678>", "__x__`y`"]
)
def test_inert_names_neither_mention_nor_format(name: str) -> None:
    shown = render.inert(name)

    assert "@everyone" not in shown
    assert "@here" not in shown
    assert "<@1" not in shown
    assert "**" not in shown
    assert "__" not in shown
    assert "`y`" not in shown


@pytest.mark.parametrize("control", ["\u202e", "\u202b", "\u2067", "\u2068"])
def test_inert_text_cannot_turn_the_rest_of_the_line_around(control: str) -> None:
    """A prize or name with a right-to-left override left open reversed the words after it in
    the same line (the winner's tickets, the !fair hint); a joiner inside an emoji stays."""
    shown = render.inert(f"Gift card{control} 50")
    assert shown == "Gift card 50"
    assert render.inert("family \U0001f468\u200d\U0001f469") == "family \U0001f468\u200d\U0001f469"


def test_no_watchtime_reply_escapes_the_name() -> None:
    assert watchtime_render.no_watchtime_for("**x**") == r"No watchtime recorded for \*\*x\*\* yet."


def test_leaderboard_embed_lists_rank_name_and_time() -> None:
    embed = watchtime_render.leaderboard_embed(
        "My *Server*", [ranked(1, "alice", 7200), ranked(2, "bob_the_viewer", 61)]
    )

    assert embed.title == r"Watchtime leaderboard: My \*Server\*"
    assert embed.description == "**#1** alice - 2 h 00 min\n**#2** bob\\_the\\_viewer - 1 min"


def test_a_leaderboard_of_regulars_writes_their_hours_with_thousands_separators() -> None:
    """ "12345 h 05 min" was hard to read beside the dashboard's "12,345 h 05 min"."""
    embed = watchtime_render.leaderboard_embed("Guild", [ranked(1, "regular", 44_442_300)])

    assert embed.description == "**#1** regular - 12,345 h 05 min"


def test_tracking_status_shows_state_presence_interval_window_and_last_tick() -> None:
    status = TrackingStatus(
        enabled=True,
        present_viewers=4,
        last_tick_at=SEEN,
        interval_seconds=60,
        active_window_minutes=5,
    )

    text = watchtime_render.tracking_status(status)

    assert "**on**" in text
    assert "Viewers present now: 4" in text
    assert "every 60 s" in text
    assert "last 5 min" in text
    assert f"<t:{int(SEEN.timestamp())}:R>" in text


def test_tracking_status_before_the_first_tick() -> None:
    status = TrackingStatus(False, 0, None, 60, 5)

    text = watchtime_render.tracking_status(status)

    assert "**off**" in text
    assert "Last tick: not yet" in text


def test_health_report_puts_the_overall_status_first_and_marks_each_check() -> None:
    report = HealthReport(
        [Check("database", True, "sqlite"), Check("redis", False, "connection refused")]
    )

    lines = health_render.health_report(report).splitlines()

    assert lines[0] == f"{render.RED} **Failing**: 1 of 2 checks fail"
    assert lines[1] == f"{render.GREEN} ok   database: sqlite"
    assert lines[2] == f"{render.RED} FAIL redis: connection refused"


def test_healthy_report_says_so_first() -> None:
    report = HealthReport([Check("database", True, "sqlite")])

    assert health_render.health_report(report).startswith(f"{render.GREEN} **Healthy**")


def test_health_messages_stay_within_discords_message_limit() -> None:
    report = HealthReport([Check("database", False, "x" * 5000), Check("bus", True, "y" * 1500)])

    messages = health_render.health_messages(report)

    assert [len(message) <= render.MESSAGE_LIMIT for message in messages] == [True] * 3
    assert messages[2].endswith("y" * 1500)


def _closed(beacon_round: int | None) -> str:
    """The close announcement of a March period with ledger hash "abab..."."""
    from core.discord_bot.raffle.announcements import closed_announcement
    from core.features.raffle.ports import PeriodAnnouncement

    return closed_announcement(
        PeriodAnnouncement(
            guild_id=1,
            period_id=2,
            starts_at=datetime(2026, 3, 1, tzinfo=UTC),
            ends_at=datetime(2026, 4, 1, tzinfo=UTC),
            time_zone="UTC",
            commitment="c" * 64,
            beacon_round=beacon_round,
            snapshot_hash="ab" * 32,
        )
    )


def test_the_raffle_close_announcement_names_the_ledger_hash_and_the_beacon_round() -> None:
    text = _closed(1234)
    assert "ab" * 32 in text
    assert "beacon round 1234" in text


def test_the_raffle_close_announcement_of_a_period_without_a_round_promises_none() -> None:
    """Closed while the beacon was never reachable, a period has no round and never gets one:
    the announcement said "The draw follows as soon as the beacon round is out"."""
    text = _closed(None)
    assert "ab" * 32 in text
    assert "as soon as" not in text
    assert "no beacon round was fixed" in text
    assert "!raffleforce" in text
