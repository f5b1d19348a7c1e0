"""What the points commands say in Discord."""

from __future__ import annotations

import discord

from core.discord_bot.render import board_name, inert
from core.events import Platform
from core.features.places import place_labels
from core.features.points.board import BalanceRow, RankedBalance
from core.features.points.rates import Rates, named_rates
from core.features.points.se_holds import Held
from core.features.points.se_wallet import QueuedChange
from core.features.points.se_words import held_words, queued_change_words

PAGE_SIZE = 10
NOT_YOUR_BOARD = "Only the member who asked can turn these pages; ask for your own board."
EMPTY_BOARD = "Nobody has any points here yet."


def platform_title(row: BalanceRow) -> str:
    return str(row.platform).capitalize()


def title_case(name: str) -> str:
    """The points' name at the start of a line: its first letter made a capital, the others
    kept as the streamer typed them ("StreamCoins", "XP"; ``str.capitalize`` lowers them)."""
    return name[:1].upper() + name[1:]


def amount(points: int, name: str) -> str:
    return f"{points:,} {inert(name)}"


def balance_line(row: BalanceRow, name: str, place: str | None) -> str:
    """``place``: the balance's rank as the board shows it (``#3``, ``=3``)."""
    ranked = f" (rank {place})" if place is not None and row.points > 0 else ""
    return f"**{inert(row.username)}** ({platform_title(row)}): {amount(row.points, name)}{ranked}"


def se_balance_line(login: str, name: str, held: Held, balance: int) -> str:
    """A Twitch login's balance kept in StreamElements, less what heists here hold of it and
    what waits to be taken from it (each said)."""
    free = max(balance - held.total, 0)
    return f"**{inert(login)}** (Twitch): {amount(free, name)} on StreamElements{held_words(held)}"


def se_no_twitch_line(row: BalanceRow, prefix: str) -> str:
    """A Kick account in a StreamElements guild whose member has no Twitch account linked."""
    return (
        f"**{inert(row.username)}** ({platform_title(row)}): StreamElements knows viewers by "
        f"their Twitch account, and none is linked to this one (`{prefix}link twitch`)."
    )


def board_embed(
    guild_name: str, rows: list[RankedBalance], name: str, *, page: int, pages: int
) -> discord.Embed:
    lines = [
        f"**{ranked.label}** {board_name(ranked.row.username)} ({platform_title(ranked.row)}): "
        f"{amount(ranked.row.points, name)}"
        for ranked in rows
    ]
    embed = discord.Embed(
        title=f"{title_case(inert(name))} in {inert(guild_name)}", description="\n".join(lines)
    )
    embed.set_footer(text=f"Page {page + 1} of {pages}")
    return embed


SE_BOARD_NOTE = (
    "StreamElements balances of the viewers StreamKeeper has seen earn here (StreamElements' own "
    "leaderboard is not used: its reply is not documented)."
)


def se_board_embed(guild_name: str, rows: list[tuple[str, int]], name: str) -> discord.Embed:
    """The first :data:`PAGE_SIZE` of ``rows`` (richest first); equal balances share a rank."""
    shown = rows[:PAGE_SIZE]
    after = rows[PAGE_SIZE][1] if len(rows) > PAGE_SIZE else None
    places = place_labels([points for _login, points in shown], after=after)
    lines = [
        f"**{place}** {board_name(login)}: {amount(points, name)}"
        for place, (login, points) in zip(places, shown, strict=True)
    ]
    embed = discord.Embed(
        title=f"{title_case(inert(name))} in {inert(guild_name)} (StreamElements)",
        description="\n".join(lines),
    )
    embed.set_footer(text=SE_BOARD_NOTE)
    return embed


def se_change_text(change: QueuedChange, row: BalanceRow, login: str, name: str) -> str:
    """An admin's change queued for StreamElements (made by the outbox within seconds); a Kick
    account's is made to the Twitch ``login`` linked to its member, which is named."""
    who = f"**{inert(row.username)}** ({platform_title(row)})"
    if row.platform is not Platform.TWITCH:
        who = f"{who} as **{inert(login)}** (Twitch)"
    return queued_change_words(change, who, lambda points: amount(points, name))


def rates_text(rates: Rates, name: str, prefix: str) -> str:
    lines = [f"**{title_case(inert(name))}** are earned like this:"]
    lines += [f"- `{key}` {value}: {meaning}" for key, value, meaning in named_rates(rates)]
    lines.append(f"Change one with `{prefix}points rate <name> <value>` (Manage Server).")
    return "\n".join(lines)


def usage(prefix: str) -> str:
    return (
        f"`{prefix}points [@member|name]` a balance, `{prefix}pointsboard` the richest; "
        f"Manage Server: `{prefix}pointsgive|pointsremove <member|name> <amount> [reason]`, "
        f"`{prefix}points rate [<name> <value>]`, `{prefix}points name <name>`."
    )


def backend_text(backend: str, prefix: str, owed: int = 0) -> str:
    """``!points backend``; ``owed``: on the ledger, StreamElements payments from before the
    switch back still to be made there."""
    where = "StreamElements" if backend == "streamelements" else "StreamKeeper's own ledger"
    lines = [f"Balances are kept in {where}."]
    if owed and backend != "streamelements":
        payments, verb = ("1 payment", "is") if owed == 1 else (f"{owed:,} payments", "are")
        lines.append(
            f"{payments} already owed on StreamElements (a heist's or an admin's) {verb} still "
            "to be made there."
        )
    return "\n".join([*lines, backend_usage(prefix)])


def backend_usage(prefix: str) -> str:
    return (
        f"`{prefix}points backend streamelements <channel id> <JWT>` (the JWT from your "
        f"StreamElements dashboard; use /points backend to type it privately), or "
        f"`{prefix}points backend ledger`."
    )


def backend_set(channel: str, resent: int) -> str:
    """The answer to a JWT saved; ``resent``: payments given up on, queued again with it."""
    reply = (
        f"Bets are now held here and settled on StreamElements channel `{channel}`. "
        "The JWT is stored encrypted."
    )
    if resent:
        payments = "payment" if resent == 1 else "payments"
        reply += (
            f" {resent:,} {payments} StreamElements could not take before (the old JWT was "
            "refused, or it could not be reached) will be made now."
        )
    return reply


def back_on_ledger(waiting: int, in_doubt: int = 0) -> str:
    """The answer to ``!points backend ledger``; ``waiting``: StreamElements payments already
    owed, still made there; ``in_doubt``: payments in doubt, for which the JWT is kept too
    (``core/features/points/se_leaving.py``)."""
    reply = "Balances are kept in StreamKeeper's own ledger again"
    if not waiting and not in_doubt:
        return f"{reply}; the JWT is forgotten."
    if not waiting:
        doubts = "1 payment" if in_doubt == 1 else f"{in_doubt:,} payments"
        verb, it, settled = ("is", "it", "it is") if in_doubt == 1 else ("are", "them", "they are")
        return (
            f"{reply}. {doubts} on StreamElements {verb} in doubt: settle {it} with !payments "
            f"(sent again there if it did not land); the JWT is forgotten once {settled} settled."
        )
    if in_doubt:
        reply += f" ({in_doubt:,} StreamElements payment(s) in doubt too: settle with !payments)"
    owed = "1 payment" if waiting == 1 else f"{waiting:,} payments"
    verb, them = ("is", "it is") if waiting == 1 else ("are", "they are")
    return (
        f"{reply}. {owed} already owed on StreamElements (a heist's or an admin's) {verb} "
        f"still made there; the JWT is forgotten once {them}."
    )
