"""A Shuffle poll's tickets: for each verified account, what its wagers since the period's
baseline are worth beyond what it was given, written with its progress in the poll's
transaction (:meth:`~core.features.raffle.wagers.service.WagerService.apply_rows`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from core.features.linking import repository as linking_repository
from core.features.raffle import awards_repository
from core.features.raffle.awards_repository import TicketAward
from core.features.raffle.wagers import repository
from core.features.raffle.wagers.repository import Total
from core.features.raffle.wagers.rules import tickets_for

SOURCE = "wager"


@dataclass(frozen=True)
class Award:
    username: str  # the Shuffle name
    discord_user_id: int
    tickets: int  # given by this poll
    total_tickets: int  # given in the period so far
    wagered_cents: int  # since the baseline


@dataclass(frozen=True)
class Awarded:
    awards: list[Award]  # what was written
    too_large: list[str]  # the Shuffle names left out: more tickets due than a ledger row holds


def award_due(
    conn: Connection,
    guild_id: int,
    period_id: int,
    totals: dict[str, Total],
    rate: int,
    now: datetime,
) -> Awarded:
    """Give each verified account of the guild the tickets its wagers are due in the period
    (``rate`` tickets per $1,000), its progress moved by compare-and-set. An account due more
    tickets at once than a ledger row holds (a garbage total, far past any real wager) is left
    out and named, so it does not stop the others' tickets."""
    progress = repository.load_progress(conn, guild_id, period_id)
    due_rows: list[tuple[TicketAward, Award]] = []
    too_large: list[str] = []
    for link in repository.list_links(conn, guild_id):
        counted = progress.get(link.account_key)
        total = totals.get(link.account_key)
        if counted is None or total is None:
            continue
        wagered = total.cents - counted.baseline_cents
        earned = tickets_for(wagered, rate)
        due = earned - counted.tickets_given
        if due <= 0:
            continue
        if due > awards_repository.MAX_AMOUNT:
            too_large.append(link.username)
            continue
        accounts = linking_repository.links_of_member(conn, link.discord_user_id)
        if not accounts:
            continue  # nothing lost: the next poll after they link an account gives it all
        holder = accounts[0]  # their Kick account, else their Twitch one
        if not repository.advance_tickets(
            conn, period_id, link.account_key, counted.tickets_given, earned, now
        ):
            continue  # another poll gave these a moment ago
        row = TicketAward(
            guild_id=guild_id,
            period_id=period_id,
            platform=holder.platform,
            platform_user_id=holder.platform_user_id,
            amount=due,
            source=SOURCE,
            source_ref=f"shuffle:{link.account_key}:{earned}",
            actor_id=None,
            reason=f"${wagered / 100:,.2f} wagered on Shuffle as {link.username}",
            at=now,
        )
        due_rows.append((row, Award(link.username, link.discord_user_id, due, earned, wagered)))
    written = awards_repository.award_many(conn, [row for row, _ in due_rows])
    return Awarded([award for row, award in due_rows if row.key in written], too_large)
