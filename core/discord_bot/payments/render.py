"""What the payments commands say in Discord."""

from __future__ import annotations

from core.discord_bot.render import MESSAGE_LIMIT, inert, truncate
from core.features.payments.service import Doubt, Settled
from core.features.payments.words import doubt_line, settled_line

SHOWN = 8  # calls listed in one reply (of at most 200 characters each); the dashboard shows more
LINE_LIMIT = 200
NONE_IN_DOUBT = "No payments in doubt here: every call StreamKeeper made has a known fate."


def doubts_text(doubts: list[Doubt], total: int, prefix: str) -> str:
    """The guild's calls in doubt, newest first, and how to settle one."""
    if not doubts:
        return NONE_IN_DOUBT
    lines = [f"**{total} payment(s) in doubt** (newest first; their fate is unknown):"]
    lines += [f"- {inert(truncate(doubt_line(d), LINE_LIMIT))}" for d in doubts[:SHOWN]]
    if total > SHOWN:
        lines.append(f"… and {total - SHOWN} more (the dashboard lists them).")
    lines.append(
        f"Check StreamElements, then `{prefix}payments settle <#> paid` (it landed) or "
        f"`{prefix}payments settle <#> again` (it did not: sent once more)."
    )
    return truncate("\n".join(lines), MESSAGE_LIMIT)


def settled_text(settled: Settled) -> str:
    return inert(settled_line(settled))


SETTLE_USAGE = "<call #> paid|again [reason]"


def settle_usage(prefix: str) -> str:
    return (
        f"Usage: {prefix}payments settle {SETTLE_USAGE}, e.g. "
        f"{prefix}payments settle 12 paid checked the SE log."
    )
