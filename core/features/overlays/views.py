"""What each overlay shows, read from our own database only: plain dicts ready for JSON.

- heist: an open heist's crew (name, stake, risk, badge) and when its window closes, in
  either of the guild's chats (a heist called off in the other chat hides nothing); else the
  last resolved heist's outcome and payouts for ``OUTCOME_SECONDS``; else idle.
- raffle: the open period's top viewers by tickets and its total; the last finished draw's
  winners with the path of its public proof page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from core.events import utc
from core.features.chat_commands.text import clean_text, few_marks
from core.features.heist import repository as heists
from core.features.overlays.alert_kinds import WHO_MAX
from core.features.places import place_labels
from core.features.raffle import ledger_repository
from core.features.raffle.draws import repository as draws_repository
from core.features.raffle.periods import repository as periods_repository
from core.features.viewers.repository import usernames_of

OUTCOME_SECONDS = 120  # how long a finished heist's result stays on the overlay
TOP = 5  # the raffle overlay's board


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def _name(stored: str | None) -> str | None:
    """A viewer's name as an overlay shows it: no direction overrides, zero-width or control
    characters, two combining marks a letter, at most :data:`WHO_MAX` characters (as in the
    alerts)."""
    return None if stored is None else few_marks(clean_text(stored))[:WHO_MAX]


def _badge(tier: str | None, has_sub_badge: bool) -> str | None:
    if tier == "prime":
        return "Prime"
    if tier in ("1", "2", "3"):
        return f"Tier {tier}"
    return "Sub" if has_sub_badge else None


class OverlayViews:
    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def heist(self, guild_id: int) -> dict[str, Any]:
        now = utc(self.clock())
        with self.engine.connect() as conn:
            heist = heists.overlay_heist(conn, guild_id)  # open (either chat) or resolved
            if heist is None:
                return {"state": "idle"}
            if heist.state == heists.RESOLVED and (
                heist.resolved_at is None
                or utc(heist.resolved_at) + timedelta(seconds=OUTCOME_SECONDS) <= now
            ):
                return {"state": "idle"}
            crew = heists.crew_of(conn, heist.id)
        members = [
            {
                "name": _name(p.username),
                "stake": p.stake,
                "risk": p.risk,
                "badge": _badge(p.tier, p.has_sub_badge),
                "won": p.won,
                "payout": p.payout,
            }
            for p in crew
        ]
        view: dict[str, Any] = {
            "state": "open" if heist.state == heists.OPEN else "resolved",
            "heist_id": heist.id,
            "crew": members,
            "staked": sum(p.stake for p in crew),
            "closes_at": _iso(heist.closes_at),
        }
        if heist.state == heists.RESOLVED:
            view["paid"] = sum(p.payout or 0 for p in crew)
            view["winners"] = sum(1 for p in crew if p.won)
            view["shown_until"] = _iso(
                utc(heist.resolved_at or now) + timedelta(seconds=OUTCOME_SECONDS)
            )
        return view

    def raffle(self, guild_id: int, top: int = TOP) -> dict[str, Any]:
        with self.engine.connect() as conn:
            period = periods_repository.find_open_period(conn, guild_id)
            board: list[dict[str, Any]] = []
            total = 0
            if period is not None:
                # One more than shown: a tie across the last line shows on it.
                found = ledger_repository.list_top_balances(conn, guild_id, period.id, top + 1)
                after = found[top].tickets if len(found) > top else None
                places = place_labels([b.tickets for b in found[:top]], after=after)
                board = [
                    {"name": _name(b.username), "tickets": b.tickets, "place": place}
                    for b, place in zip(found[:top], places, strict=True)
                ]
                total = ledger_repository.sum_tickets(conn, guild_id, period.id)
            draw = draws_repository.find_last_draw(conn, guild_id)
            if draw is not None and draw.status != "done":
                draw = None
            names = {}
            why = ""
            if draw is not None:
                names = usernames_of(
                    conn, [(str(w.platform), w.platform_user_id) for w in draw.winners]
                )
                if not draw.winners:
                    held = ledger_repository.period_totals_by_source(conn, guild_id, draw.period_id)
                    why = _no_winner_reason(draw, sum(held.values()) > 0)
        view: dict[str, Any] = {
            "period_id": None if period is None else period.id,
            "ends_at": None if period is None else _iso(period.ends_at),
            "top": board,
            "total": total,
            "draw": None,
        }
        if draw is not None:
            view["draw"] = {
                "id": draw.id,
                "prize": draw.prize,
                "drawn_at": _iso(draw.drawn_at),
                "proof_path": f"/raffle/{draw.period_id}",
                "winners": [  # a viewer forgotten at their request has no name: not their id
                    _name(names.get(f"{w.platform}:{w.platform_user_id}"))
                    or f"a {str(w.platform).title()} viewer"
                    for w in sorted(draw.winners, key=lambda w: w.position)
                ],
                "no_winner_reason": why,
            }
        return view


def _no_winner_reason(draw: draws_repository.Draw, anyone_held: bool) -> str:
    """Why a finished draw has no winner, in the words the overlay shows: a draw after others
    (a reroll) finds everyone who could win among their winners; a first draw finds nobody who
    could win (``anyone_held``: someone held tickets, none of them eligible)."""
    if draw.first_counter:
        return "Everyone who could win has won an earlier draw."
    if anyone_held:
        return "None of the tickets could win (nobody who held one was eligible)."
    return "Nobody held a ticket when the raffle closed."
