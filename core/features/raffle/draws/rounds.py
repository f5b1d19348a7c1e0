"""Which beacon round a draw waits for: the period's (fixed at its close) for a draw, and for a
reroll a round of its own, the first published after it was asked for. By then the period's
round is out and, with the first draw, the seed is public: a reroll on that round could be
computed by anyone, its asker included, before asking for it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from core.features.raffle.beacons import chains as drand_chains
from core.features.raffle.beacons.relays import pinned_info
from core.features.raffle.draws import fairness
from core.features.raffle.draws.fairness import REPLACED
from core.features.raffle.draws.repository import Draw
from core.features.raffle.errors import RaffleRefused, checked_text
from core.features.raffle.periods.repository import Period
from core.features.raffle.ports import BeaconInfo, BeaconUnavailable

# How long after its time a round may still be missing from the relays (they publish it
# within seconds); later, the relays are the trouble, not the round.
RELAY_LAG = timedelta(minutes=5)
MAX_REASON = 200


def reroll_round(period: Period, asked_at: datetime) -> int | None:
    """The round a reroll asked for at ``asked_at`` waits for: the first published strictly
    after that moment (None when the period has no beacon timing: it can only be forced)."""
    genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
    if genesis is None or not seconds:
        return None
    return fairness.first_round_after(asked_at, genesis, seconds)


def round_of(draw: Draw, period: Period) -> int | None:
    """The round ``draw`` waits for. A reroll asked for before rerolls had rounds of their own
    has none recorded and keeps the period's, as it was asked for then."""
    if draw.reroll_of is not None and draw.beacon_round is not None:
        return draw.beacon_round
    return period.beacon_round


def replacement(draw: Draw, winner: int | None, reason: str) -> tuple[int, str]:
    """How many winners a reroll of ``draw`` draws and the reason it records: one, in place of
    winner number ``winner`` (named in the reason), or as many as ``draw`` had (None)."""
    if winner is None:
        if REPLACED.match(reason):  # the verifiers would read it as one winner replaced
            raise RaffleRefused("To replace one winner, write #2 (their number) before the reason.")
        return draw.winners_wanted, reason
    count = len(draw.winners)
    if not 1 <= winner <= count:
        if count == 0:
            raise RaffleRefused(f"Draw #{draw.id} has no winner to replace.")
        raise RaffleRefused(f"Draw #{draw.id} has winners 1 to {count}; pick one of them.")
    gone = draw.winners[winner - 1]
    head = f"in place of winner {winner} ({gone.platform}:{gone.platform_user_id}): "
    if len(head) + len(reason) > MAX_REASON:
        room = max(MAX_REASON - len(head), 0)
        raise RaffleRefused(f"With the winner it replaces, the reason holds {room} characters.")
    return 1, checked_text(head + reason, "reason")


_WINNER = re.compile(r"#([0-9]{1,6})(?:\s+|$)")


def split_winner(text: str) -> tuple[int | None, str]:
    """``!rafflereroll <draw> [#winner] <reason>``'s words after the draw: the winner's number
    when they start with ``#<number>``, and the reason."""
    text = text.strip()
    found = _WINNER.match(text)
    if found is None:
        return None, text
    return int(found.group(1)), text[found.end() :]


def refuse_early_force(draw: Draw, period: Period, now: datetime) -> None:
    """A reroll on a round of its own is forced only once no relay had that round 5 minutes
    after its time: forced, its winners follow from the seed (public since the first draw) and
    the ledger, so anyone could know them first, and reroll and force until a friend wins."""
    genesis, seconds = period.beacon_genesis_time, period.beacon_period_seconds
    if draw.reroll_of is None or draw.beacon_round is None or genesis is None or not seconds:
        return
    due = datetime.fromtimestamp(fairness.round_time(draw.beacon_round, genesis, seconds), UTC)
    if now < due + RELAY_LAG:
        after = (due + RELAY_LAG).strftime("%H:%M:%S UTC")
        raise RaffleRefused(
            f"Draw #{draw.id} is a reroll on beacon round {draw.beacon_round}; it draws by itself "
            f"once the round is out. Forced, anyone could work out its winners in advance, so "
            f"it can be forced only if no relay has the round by {after}."
        )


def not_out(period: Period, number: int, now: datetime) -> str:
    """Why a fixed round was not drawn: it is not out yet, or out a while but on no relay."""
    genesis, seconds = period.beacon_genesis_time or 0, period.beacon_period_seconds or 0
    due = datetime.fromtimestamp(fairness.round_time(number, genesis, seconds), UTC)
    if now - due < RELAY_LAG:
        return f"beacon round {number} is not out yet"
    since = due.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"beacon round {number} is out since {since}, but no relay has it: check RAFFLE_BEACON_URLS"
    )


def pinned_by_timing(genesis: int, seconds: int) -> BeaconInfo:
    for chain in drand_chains.PINNED.values():
        if (chain.genesis_time, chain.period_seconds) == (genesis, seconds):
            return pinned_info(chain)
    raise BeaconUnavailable(
        f"the period's beacon timing (genesis {genesis}, every {seconds} s) is neither the "
        "configured chain's nor a pinned one's; !raffleforce draws without the beacon"
    )
