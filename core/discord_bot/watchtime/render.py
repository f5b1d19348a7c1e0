"""What the watchtime commands say: pure functions from plain values to text and embeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import discord

from core.discord_bot.render import (
    TYPED_NAME_LIMIT,
    board_name,
    format_last_seen,
    inert,
    truncate,
)
from core.events import Platform, utc
from core.features.linking.repository import AccountLink
from core.features.roles.service import Progress
from core.features.watchtime.durations import format_duration
from core.features.watchtime.service import RankedWatchtime, TrackingStatus
from core.features.watchtime.standings_repository import WatchtimeRow

LEADERBOARD_MIN = 1
LEADERBOARD_MAX = 25
LEADERBOARD_DEFAULT = 10
EMPTY_LEADERBOARD = (
    "No watchtime recorded yet. Viewers earn it by chatting while the stream is live."
)


PLATFORM_NAMES = {Platform.KICK: "Kick", Platform.TWITCH: "Twitch"}


def member_key(entry: WatchtimeRow) -> str:
    """How :meth:`WatchtimeService.linked_members` names a row's account."""
    return f"{entry.platform}:{entry.platform_user_id}"


def viewer_watchtime(
    ranked: RankedWatchtime,
    total_viewers: int,
    *,
    member_id: int | None = None,
    progress: Progress | None = None,
    show_platform: bool = False,
) -> str:
    """Time, rank and last sighting; with tiers, the next role and what is missing to reach it.

    ``member_id`` is the Discord member the account is linked to (shown as a mention, which
    never pings: replies go out with NO_MENTIONS). ``show_platform`` names the platform of an
    unlinked account too (a name found on both platforms).
    """
    entry = ranked.entry
    name = f"**{inert(entry.username)}**"
    platform = PLATFORM_NAMES.get(entry.platform, str(entry.platform))
    if member_id is not None:
        who = f"<@{member_id}> ({name} on {platform})"
    else:
        who = f"{name} on {platform}" if show_platform else name
    line = (
        f"{who} has watched {format_duration(entry.seconds)}, "
        f"rank {ranked.label} of {total_viewers}, last seen {format_last_seen(entry.last_seen)}."
    )
    if progress is None:
        return line
    return f"{line}\n{next_role(progress)}"


def next_role(progress: Progress) -> str:
    if progress.next_tier is None:
        return "Every watchtime role reached."
    # What is missing is rounded up to the minute: 30 s short is "1 min to go", never "0 min".
    missing = -(-progress.seconds_missing // 60) * 60
    return (
        f"Next role: <@&{progress.next_tier.role_id}> at "
        f"{format_duration(progress.next_tier.seconds)}, "
        f"{format_duration(missing)} to go."
    )


def no_watchtime_for(username: str) -> str:
    # The name is whatever was typed: cut before escaping, so the reply fits in one message.
    return f"No watchtime recorded for {inert(truncate(username, TYPED_NAME_LIMIT))} yet."


def no_watchtime_for_member(member_id: int, accounts: Sequence[AccountLink]) -> str:
    names = " and ".join(
        f"{inert(account.username)} on {PLATFORM_NAMES.get(account.platform, account.platform)}"
        for account in accounts
    )
    return (
        f"No watchtime recorded here yet for <@{member_id}> ({names}). "
        "Chatting while the stream is live earns it."
    )


def not_linked_yourself(prefix: str) -> str:
    return (
        f"Your Discord account isn't linked to Kick or Twitch yet: use {prefix}link, then ask "
        f"again. You can also look anyone up with {prefix}watchtime <Kick or Twitch name>."
    )


def not_linked_member(member_id: int, prefix: str) -> str:
    return (
        f"<@{member_id}> hasn't linked a Kick or Twitch account yet. "
        f"Try {prefix}watchtime <Kick or Twitch name>."
    )


def leaderboard_line(row: RankedWatchtime, member_id: int | None, *, labelled: bool) -> str:
    """A linked viewer shows as their Discord mention (embeds never ping), others by their
    Kick or Twitch name; ``labelled``: with the account's platform after it."""
    who = f"<@{member_id}>" if member_id is not None else board_name(row.entry.username)
    if labelled:
        who += f" ({PLATFORM_NAMES[row.entry.platform]})"
    return f"**{row.label}** {who} - {format_duration(row.entry.seconds)}"


def leaderboard_embed(
    guild_name: str,
    rows: list[RankedWatchtime],
    members: Mapping[str, int] | None = None,
    *,
    page: int = 0,
    pages: int = 1,
) -> discord.Embed:
    """``members`` maps a row's account (:func:`member_key`) to the Discord member it is linked
    to. A page that holds Kick and Twitch accounts names each row's platform."""
    members = members or {}
    # A page of Kick and Twitch accounts names each one's platform ("cy" may be two people).
    labelled = len({row.entry.platform for row in rows}) > 1
    lines = [
        leaderboard_line(row, members.get(member_key(row.entry)), labelled=labelled) for row in rows
    ]
    embed = discord.Embed(
        title=f"Watchtime leaderboard: {inert(guild_name)}",
        description="\n".join(lines),
        colour=discord.Colour.green(),
    )
    if pages > 1:
        embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


NOT_YOUR_LEADERBOARD = "Only the member who asked can turn these pages; run the command yourself."


def tracking_status(status: TrackingStatus) -> str:
    last_tick = (
        discord.utils.format_dt(utc(status.last_tick_at), "R")
        if status.last_tick_at is not None
        else "not yet"
    )
    state = "on" if status.enabled else "off"
    return "\n".join(
        [
            f"Watchtime tracking is **{state}**.",
            f"Viewers present now: {status.present_viewers}",
            f"Credited every {status.interval_seconds} s to viewers who chatted in the last "
            f"{status.active_window_minutes} min",
            f"Last tick: {last_tick}",
        ]
    )


def tracking_changed(status: TrackingStatus) -> str:
    if status.enabled:
        return "Watchtime tracking is now **on**: viewers who chat while live earn watchtime."
    return "Watchtime tracking is now **off**: nobody earns watchtime until you turn it on."


def tracking_usage(prefix: str) -> str:
    return f"Usage: {prefix}tracking on | off | status"
