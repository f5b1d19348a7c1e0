"""What the bot posts in a guild's raffle announcement channel: a period opened or closed, and a
draw's winners, the only raffle message that mentions anyone (only the winners still in the
server, see :func:`winner_mentions`)."""

from __future__ import annotations

from datetime import timedelta

import discord

from core.discord_bot.raffle.render import TICKET, period_dates
from core.discord_bot.render import in_messages, inert
from core.features.raffle.periods.calendar import BadDates, in_words
from core.features.raffle.ports import DrawAnnouncement, PeriodAnnouncement


def dates(period: PeriodAnnouncement) -> str:
    """The period on each reader's clock (Discord timestamps), then as the raffle counts it, in
    its own time zone, so a Berlin March raffle does not read as starting in February."""
    last = period.ends_at - timedelta(seconds=1)
    try:
        local = f"{in_words(period.starts_at, period.time_zone)} to "
        local += f"{in_words(last, period.time_zone)} in {period.time_zone}"
    except BadDates:  # a zone this host's database no longer has
        return period_dates(period)
    return f"{period_dates(period)} ({local})"


def opened_announcement(period: PeriodAnnouncement) -> str:
    return (
        f"{TICKET} **A new raffle period is open**: {dates(period)}.\n"
        f"The draw is fixed in advance: seed commitment `{period.commitment}`, "
        f"public randomness from {_beacon(period, 'a')} after the end. "
        "See !raffleinfo and !tickets."
    )


def closed_announcement(period: PeriodAnnouncement) -> str:
    # Posted before the round is out, this fixes the frozen ledger and the round in public.
    head = (
        f"The raffle period {dates(period)} is over and its tickets are frozen "
        f"(ledger hash `{period.snapshot_hash}`). "
    )
    if not period.beacon_round:  # the close fixes the round: without one, none ever comes
        return head + (
            "The beacon could not be reached, so no beacon round was fixed: an admin draws "
            "with !raffleforce, and the proof will say it was drawn without the beacon."
        )
    return head + f"The draw follows as soon as {_beacon(period, 'the')} is out."


def _beacon(period: PeriodAnnouncement, article: str) -> str:
    """The period's beacon round by number, or ``article`` + "beacon round" before it is fixed."""
    if period.beacon_round:
        return f"beacon round {period.beacon_round}"
    return f"{article} beacon round"


def draw_announcement(draw: DrawAnnouncement, gone: frozenset[int] = frozenset()) -> str:
    """``gone``: winners' Discord ids that left the server (named as such, not mentioned)."""
    prize = f" for **{inert(draw.prize)}**" if draw.prize else ""
    head = f"{TICKET} **Raffle draw #{draw.draw_id}**{prize}"
    if draw.reroll_of is not None:
        head += f" (reroll of #{draw.reroll_of}: {inert(draw.reason)})"
    if not draw.winners and draw.total_tickets:
        return head + "\nNobody was left to win: everyone who could has won an earlier draw."
    if not draw.winners:
        return head + "\nNobody could win: no eligible tickets."
    lines = [head]
    for position, winner in enumerate(draw.winners, start=1):
        who = inert(winner.username) if winner.username else f"a {winner.platform.title()} viewer"
        if winner.discord_user_id in gone:
            who += " (left the server)"
        elif winner.discord_user_id is not None:
            who += f" (<@{winner.discord_user_id}>)"
        lines.append(
            f"**#{position}** {who} with {winner.tickets:,} of {draw.total_tickets:,} tickets"
        )
    if draw.forced:
        lines.append("Drawn without the public beacon (forced by an admin); the proof says so.")
    lines.append(f"Check it yourself: !fair {draw.draw_id}")
    return "\n".join(lines)


def draw_messages(
    draw: DrawAnnouncement, gone: frozenset[int] = frozenset(), limit: int = 2000
) -> list[str]:
    """:func:`draw_announcement` as the messages Discord takes (2,000 characters each), cut
    between lines: 25 winners and their mentions pass one message, and each must be named and
    pinged."""
    return in_messages(draw_announcement(draw, gone), limit)


def winner_mentions(
    draw: DrawAnnouncement, gone: frozenset[int] = frozenset()
) -> discord.AllowedMentions:
    ids = [
        discord.Object(w.discord_user_id)
        for w in draw.winners
        if w.discord_user_id and w.discord_user_id not in gone
    ]
    return discord.AllowedMentions(everyone=False, roles=False, users=ids)
