"""Where a heist's stakes go and what comes back: our points ledger, or the streamer's
StreamElements points (a stake held at the join, settled with one net payment through the
outbox: what comes back minus the stake)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.heist.answers import Cancelled
from core.features.heist.repository import Heist, Participant, crew_of
from core.features.points import repository as points
from core.features.points import se_holds, se_wallet
from core.features.points.repository import PointsEntry
from core.features.points.se_wallet import Settlement

SOURCE = "heist"  # on the points ledger and on the StreamElements holds and outbox
REFUND = "refund"  # what a called-off heist credits back: the ledger reference ends ":refund"


@dataclass(frozen=True)
class SeStake:
    """A join in a guild that keeps its points in StreamElements: the viewer's login there and
    the balance StreamElements said when asked at ``read_at`` (our open holds, and what
    payments made from then on took, are taken off it at the join)."""

    login: str
    balance: int
    read_at: datetime


def se_free(conn: Connection, guild_id: int, se: SeStake) -> int:
    """What of the viewer's StreamElements balance a stake may use: less their open holds, the
    losses not taken yet, and what payments made since the balance was read took."""
    return se.balance - se_wallet.held_in(conn, guild_id, se.login, se.read_at)


def hold_stake(
    conn: Connection, guild_id: int, se: SeStake, stake: int, ref: str, now: datetime
) -> int:
    """Hold the stake on the viewer's StreamElements balance (:func:`se_wallet.hold_in`)."""
    return se_wallet.hold_in(
        conn, guild_id, se.login, stake, se.balance, SOURCE, ref, now, se.read_at
    )


def ledger_ref(heist_id: int, platform: Platform, user_id: str, what: str) -> str:
    return f"{heist_id}:{platform}:{user_id}:{what}"


def pay(
    conn: Connection,
    heist: Heist,
    crew: list[Participant],
    returns: Mapping[str, int],
    what: str,
    now: datetime,
) -> None:
    """Give each member what comes back to them (``returns`` by user id: winnings, a refund,
    or 0), in the caller's transaction. A stake held on StreamElements is settled through the
    wallet's outbox (one payment of the net, recorded once under ``what``'s reference, the
    hold closed); a stake taken from our ledger is credited back there."""
    stake_refs = {
        member.platform_user_id: ledger_ref(
            heist.id, heist.platform, member.platform_user_id, "stake"
        )
        for member in crew
    }
    held = se_holds.open_holds_by_ref(conn, heist.guild_id, SOURCE, list(stake_refs.values()))
    settlements, credits = [], []
    for member in crew:
        user_id = member.platform_user_id
        ref = ledger_ref(heist.id, heist.platform, user_id, what)
        back = returns.get(user_id, 0)
        login = held.get(stake_refs[user_id])
        if login is not None:
            settlements.append(Settlement(login, stake_refs[user_id], back - member.stake, ref))
        elif back > 0:
            credits.append(
                PointsEntry(heist.guild_id, heist.platform, user_id, back, SOURCE, ref, now)
            )
    if settlements:
        se_wallet.settle_in(conn, heist.guild_id, SOURCE, settlements, now)
    points.credit_many(conn, credits)


def refund_crew(conn: Connection, heist: Heist, now: datetime) -> Cancelled:
    """Give every member of a heist just moved to cancelled their stake back, in the caller's
    transaction (the one whose compare-and-set finished the heist, so it happens once)."""
    crew = crew_of(conn, heist.id)
    pay(conn, heist, crew, {member.platform_user_id: member.stake for member in crew}, REFUND, now)
    return Cancelled(heist, len(crew), sum(member.stake for member in crew))
