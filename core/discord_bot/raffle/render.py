"""What the bot says about the raffle: pure functions from plain values to text and embeds.

Kick usernames and reasons typed by admins pass through :func:`inert`; winners are mentioned
only in the draw announcement, and only they (see ``winner_mentions``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import discord

from core.discord_bot.render import board_name, inert, truncate, whole_lines
from core.events import utc
from core.features.raffle.admin import ExclusionChange, Given
from core.features.raffle.beacons import verification as beacon_verification
from core.features.raffle.draws.fairness import ROUND_FIXED_FROM
from core.features.raffle.draws.repository import Draw, Winner
from core.features.raffle.draws.service import Proof
from core.features.raffle.periods.repository import Period
from core.features.raffle.ports import PeriodAnnouncement
from core.features.raffle.rates import RaffleRates
from core.features.raffle.views import BoardView, InfoView, StatsView, TicketsView

SOURCE_NAMES = {
    "watchtime": "watching",
    "gift": "gifted subs",
    "wager": "wagers",
    "admin": "admins",
    "import": "another bot (imported)",
}
TICKET = "\N{ADMISSION TICKETS}\N{VARIATION SELECTOR-16}"


def when(moment: datetime, style: str = "f") -> str:
    return discord.utils.format_dt(utc(moment), style)


def period_dates(period: Period | PeriodAnnouncement) -> str:
    # ends_at is the first moment after the period; people expect its last second.
    return f"{when(period.starts_at)} to {when(period.ends_at - timedelta(seconds=1))}"


def short(digest: str | None) -> str:
    return f"`{digest[:16]}…`" if digest else "not yet"


def rates_line(rates: RaffleRates) -> str:
    hold = f", held {rates.gift_hold_minutes} min" if rates.gift_hold_minutes else ""
    return (
        f"{rates.watch_hour_tickets} per hour watched, {rates.gifted_sub_tickets} per gifted "
        f"sub{hold}, {rates.wager_thousand_tickets} per $1,000 wagered"
    )


def tickets_views(views: list[TicketsView]) -> str:
    """``!tickets``: each linked account's tickets, labelled with its platform when there are
    several (each holds its own tickets, and each may win)."""
    lines = [line for view in views for line in _tickets_lines(view, labelled=len(views) > 1)]
    if views and not views[0].period.is_open and views[0].next_planned:
        lines.append("This period is closed; the next one starts soon.")
    elif views and not views[0].period.is_open:
        lines.append("This period is closed, and no next one is planned.")
    return "\n".join(lines)


def _tickets_lines(view: TicketsView, *, labelled: bool) -> list[str]:
    who = f"**{inert(view.username)}**" + (f" on {view.platform.name.title()}" if labelled else "")
    if view.tickets <= 0 and not view.by_source and not view.period.is_open:
        return [f"{who} had no tickets in this period."]  # nothing earns any there now
    if view.tickets <= 0 and not view.by_source:
        return [f"{who} has no tickets yet this period. Watch, gift subs or wager to earn some."]
    parts = [
        f"{SOURCE_NAMES.get(source, source)} {amount:,}"
        for source, amount in sorted(view.by_source.items())
        if amount
    ]
    lines = [f"{TICKET} {who} has **{view.tickets:,}** tickets ({', '.join(parts) or 'none'})."]
    if view.is_excluded and view.period.is_open:
        lines.append("You are excluded from this raffle's draws.")
    elif view.is_excluded:
        lines.append("You are not in this period's draw: excluded, or not linked, when it closed.")
    elif view.rank is not None:
        note = " (only linked accounts can win)" if view.linked_only else ""
        lines.append(
            f"Rank {'=' if view.tied else '#'}{view.rank}, {_share(view.chance)} of the "
            f"{view.total_tickets:,} tickets{note}."
        )
    return lines


def _share(chance: float) -> str:
    """A chance to win in words: never 0% while the viewer can win, nor 100% while others can."""
    if 0 < chance < 0.00005:
        return "less than 0.01%"
    if 0.99995 <= chance < 1:
        return "more than 99.99%"
    return f"about {chance:.2%}"


def board_embed(guild_name: str, view: BoardView) -> discord.Embed:
    """``!raffleboard``; a board of Kick and Twitch accounts names each one's platform, and the
    board of a closed period says so (it is shown until the next one opens)."""
    labelled = len({entry.platform for entry in view.entries}) > 1
    lines = [
        f"**{place}** {board_name(entry.username)}"
        + (f" ({entry.platform.name.title()})" if labelled else "")
        + f" - {entry.tickets:,}"
        for place, entry in zip(view.places, view.entries, strict=True)
    ]
    period = view.period
    header, empty = [], "No tickets yet."
    if not period.is_open:
        closed = period.closed_at or period.ends_at - timedelta(seconds=1)
        header = [f"Period #{period.id} (closed {when(closed, 'D')})"]
        empty = "Nobody held tickets in this period."
    return discord.Embed(
        title=f"Raffle tickets: {inert(guild_name)}",
        description="\n".join(header + (lines or [empty])),
        colour=discord.Colour.gold(),
    ).set_footer(text=f"{view.total_tickets:,} tickets in all")


def info_embed(view: InfoView, names: Mapping[tuple[str, str], str] | None = None) -> discord.Embed:
    """``names``: the last draw's winners' names by (platform, user id)."""
    embed = discord.Embed(title="Raffle", colour=discord.Colour.gold())
    current = view.current
    if current is None:
        embed.description = "No period is open. An admin starts one with !rafflestart."
    else:
        state = "opens" if current.status == "scheduled" else "open"
        embed.description = f"Period #{current.id} ({state}): {period_dates(current)}"
        embed.add_field(
            name="Draw commitment",
            value=f"SHA-256 of the secret seed: `{current.commitment}`\n"
            f"Public randomness: beacon round {current.beacon_round or 'to be fixed'}",
            inline=False,
        )
    embed.add_field(name="Tickets", value=rates_line(view.rates), inline=False)
    rules = "only linked accounts can win" if view.rates.linked_only else "anyone can win"
    draw = "draws automatically" if view.rates.auto_draw else "an admin draws"
    embed.add_field(name="Rules", value=f"{rules}; {draw} at the end", inline=False)
    if view.last_draw is not None:
        embed.add_field(name="Last draw", value=draw_line(view.last_draw, names), inline=False)
    return embed


def draw_line(draw: Draw, names: Mapping[tuple[str, str], str] | None = None) -> str:
    if draw.status == "waiting":
        return (
            f"Draw #{draw.id} waits for the beacon ({inert(draw.last_error or 'not tried yet')})."
        )
    known = names or {}

    def winner(w: Winner) -> str:
        name = known.get((str(w.platform), w.platform_user_id))
        who = f"**{inert(name)}**" if name else f"a {str(w.platform).title()} viewer"
        return f"#{w.position} {who} (ticket {w.ticket:,})"

    # Whole winners, as many as one embed field (1,024) takes with the line to check them.
    tail, shown = f". Check it with !fair {draw.id}.", []
    for w in draw.winners:
        left = len(draw.winners) - len(shown) - 1
        more = f" and {left} more" if left else ""
        if len(f"Draw #{draw.id}: ") + len(", ".join([*shown, winner(w)]) + more + tail) > 1024:
            break
        shown.append(winner(w))
    left = len(draw.winners) - len(shown)
    winners = (", ".join(shown) or "nobody") + (f" and {left} more" if left else "")
    return truncate(f"Draw #{draw.id}: {winners}{tail}", 1024)


def draw_requested(draw: Draw, names: dict[str, str] | None = None) -> str:
    if draw.status == "waiting" and draw.beacon_round is None:  # no round fixed (yet)
        why = draw.last_error or "not tried yet"
        force = "" if "!raffleforce" in why else " !raffleforce draws without it."
        return f"Draw #{draw.id} waits for the beacon: {inert(why)}.{force}"
    if draw.status == "waiting":
        force = (
            "!raffleforce draws without it only if no relay has it 5 minutes after its time"
            if draw.reroll_of is not None
            else "!raffleforce draws without it"
        )
        return (
            f"Draw #{draw.id} waits for beacon round {draw.beacon_round}: "
            f"{inert(draw.last_error or 'not tried yet')}. It runs by itself once the round is "
            f"out; {force}."
        )
    if not draw.winners and draw.first_counter:
        return f"Draw #{draw.id}: nobody was left to win (everyone who could has won already)."
    if not draw.winners:
        return f"Draw #{draw.id}: nobody could win (no eligible tickets)."
    return f"Draw #{draw.id} is done; the winners are announced. Check it with !fair {draw.id}."


def proof_embed(proof: Proof, draw_id: int | None, page: str | None = None) -> discord.Embed:
    """``page``: the period's public proof page, linked once its proof is public."""
    period = proof.period
    embed = discord.Embed(
        title=f"Fairness proof: period #{period.id}", colour=discord.Colour.blue(), url=page
    )
    embed.add_field(name="Dates", value=period_dates(period), inline=False)
    embed.add_field(name="Seed commitment (SHA-256)", value=f"`{period.commitment}`", inline=False)
    embed.add_field(name="Beacon round", value=_round_of(period), inline=True)
    embed.add_field(name="Ledger snapshot", value=short(period.snapshot_hash), inline=True)
    for waiting in (d for d in proof.draws if d.id == draw_id and d.status != "done"):
        round_ = waiting.beacon_round or period.beacon_round or "(not fixed yet)"
        value = f"Not drawn yet: it waits for beacon round {round_}."
        embed.add_field(name=f"Draw #{waiting.id}", value=value, inline=False)
    if proof.document is None:
        embed.add_field(
            name="Seed",
            value="Secret until the period's first draw; then it is published here.",
            inline=False,
        )
        return embed
    embed.add_field(name="Seed", value=f"`{proof.document['seed']}`", inline=False)
    if any(not draw["forced"] for draw in proof.document["draws"]):
        embed.add_field(
            name="Beacon check",
            value=truncate(beacon_verification.summary(proof.document), 1024),
            inline=False,
        )
    embed.set_footer(text="Anyone can check it: python -m core raffle verify <proof> <ledger>")
    if page:
        check = f"{page}: the proof and the ledger, and a check in your browser."
        embed.add_field(name="Check it yourself", value=check, inline=False)
    draws = [d for d in proof.document["draws"] if draw_id is None or d["id"] == draw_id]
    fields: list[tuple[str, str]] = []  # the latest draws, as many as one embed takes
    room = ROOM - len(embed)
    for draw in reversed(draws):
        name, value = _draw_field(draw)
        if len(embed.fields) + len(fields) + 2 > EMBED_FIELDS or len(name) + len(value) > room:
            break
        fields.append((name, value))
        room -= len(name) + len(value)
    for name, value in reversed(fields):
        embed.add_field(name=name, value=value, inline=False)
    if len(fields) < len(draws):
        earlier = len(draws) - len(fields)
        embed.add_field(
            name=f"{earlier:,} earlier draw{'s' if earlier != 1 else ''}",
            value="`!fair <draw number>` shows one; the proof page shows them all.",
            inline=False,
        )
    return embed


def _round_of(period: Period) -> str:
    """The period's beacon round; a period whose close fixed none never gets one."""
    if period.beacon_round:
        return str(period.beacon_round)
    closed = period.status == "closed" and period.snapshot_version >= ROUND_FIXED_FROM
    return "none: the beacon was not known when the period closed" if closed else "not fixed yet"


# Discord refuses an embed of more than 25 fields or 6,000 characters in all; room is kept for
# the line that names the draws left out.
EMBED_FIELDS = 25
ROOM = 6000 - 200


def _draw_field(draw: dict[str, Any]) -> tuple[str, str]:
    how = f"round {draw['beacon_round']}"
    if draw["forced"]:
        by = f" by {draw['forced_by']}" if draw["forced_by"] else ""  # the proof's name for them
        how = f"forced without the beacon{by}"
    reroll = (
        f", reroll of #{draw['reroll_of']}: {inert(draw['reason'])}" if draw["reroll_of"] else ""
    )
    lines = [
        f"#{w['position']} {inert(w['username'] or w['participant'])} "
        f"(ticket {w['ticket']:,}, counter {w['counter']})"
        for w in draw["winners"]
    ]
    winners = whole_lines(lines, 1024, lambda n: f"and {n} more: the proof page lists them all.")
    return f"Draw #{draw['id']} ({how}{reroll})"[:256], truncate(winners or "nobody", 1024)


def _more(left: int) -> str:
    return f"and {left} more"


def stats_embed(view: StatsView) -> discord.Embed:
    period = view.period
    embed = discord.Embed(
        title=f"Raffle stats: period #{period.id} ({period.status})", colour=discord.Colour.gold()
    )
    totals = ", ".join(
        f"{SOURCE_NAMES.get(s, s)} {n:,}" for s, n in sorted(view.totals_by_source.items())
    )
    embed.add_field(name="Tickets by source", value=totals or "none", inline=False)
    embed.add_field(name="Holders", value=f"{view.participants:,}", inline=True)
    embed.add_field(name="Ledger entries", value=f"{view.ledger_entries:,}", inline=True)
    if view.recent_gifts:
        lines = [
            f"`{g.reference}` {inert(g.gifter_name)} x{g.giftees} = {g.tickets} ({g.status})"
            for g in view.recent_gifts
        ]
        embed.add_field(name="Recent gifts", value=whole_lines(lines, 1024, _more), inline=False)
    if view.member_username is not None:
        by_source = ", ".join(
            f"{SOURCE_NAMES.get(s, s)} {n:,}"
            for s, n in sorted((view.member_by_source or {}).items())
        )
        entries = [
            f"{e.amount:+,} {e.source}" + (f" ({inert(e.reason)})" if e.reason else "")
            for e in view.member_entries or []
        ]
        embed.add_field(
            name=f"{inert(view.member_username)}"[:256],
            value=whole_lines([by_source or "no tickets", *entries], 1024, _more),
            inline=False,
        )
    return embed


def period_started(period: Period) -> str:
    verb = "is open" if period.is_open else "is scheduled"
    return (
        f"Raffle period #{period.id} {verb}: {period_dates(period)}.\n"
        f"Seed commitment: `{period.commitment}`"
    )


def period_ended(period: Period, draw: Draw | None) -> str:
    if period.status != "closed":
        return f"Raffle period #{period.id} will not open."
    text = f"Raffle period #{period.id} is closed; its ledger is frozen "
    text += f"({short(period.snapshot_hash)})."
    if draw is not None:
        text += "\n" + draw_requested(draw)
    return text


def receiver(viewer: discord.Member | str, given: Given) -> str:
    """Who tickets went to or came from: the member as named, or the account a name found."""
    if isinstance(viewer, discord.Member):
        return inert(viewer.display_name)
    return f"{given.platform.name.title()} viewer {inert(given.account_name)}"


def excluded(change: ExclusionChange) -> str:
    """``!raffleexclude``'s answer; a closed period's draws keep who its close froze."""
    verb = "is" if len(change.names) == 1 else "are"
    text = f"{_and(change.names)} {verb} excluded from the raffle."
    if change.closed_period is not None:
        text += (
            f" Period #{change.closed_period} closed before this, and its draws can still pick "
            "them: who could win was frozen when it closed, and its proof checks that list. "
            "If they win there, draw again with !rafflereroll."
        )
    return text


def included(change: ExclusionChange) -> str:
    """``!raffleinclude``'s answer; a closed period's draws keep who its close froze."""
    verb = "takes" if len(change.names) == 1 else "take"
    text = f"{_and(change.names)} {verb} part again."
    if change.closed_period is not None:
        text += (
            f" Period #{change.closed_period} closed before this, and its draws still leave "
            "them out: who could win was frozen when it closed."
        )
    return text


def _and(names: list[str]) -> str:
    return " and ".join(inert(name) for name in names)


def zone_changed(current: Period) -> str:
    """After ``!raffleset time_zone``: the open (or scheduled) period keeps its dates."""
    return (
        f"Period #{current.id} keeps its dates: it ends {when(current.ends_at)}. "
        "The new time zone counts from the next period on."
    )


def settings_text(rates: RaffleRates) -> str:
    channel = f"<#{rates.announcement_channel_id}>" if rates.announcement_channel_id else "none"
    return (
        f"Tickets: {rates_line(rates)}. Auto draw: {'on' if rates.auto_draw else 'off'}. "
        f"Announcements: {channel}. Time zone: {inert(rates.time_zone)}. "
        f"Linked accounts only: {'on' if rates.linked_only else 'off'}."
    )
