"""What the front ends say of an admin's change queued for StreamElements (``!pointsgive`` and
``!pointsremove``, the dashboard's give and take), in the same words: each passes the viewer and
the amounts as it shows them."""

from __future__ import annotations

from collections.abc import Callable

from core.features.points.se_holds import Held
from core.features.points.se_wallet import QueuedChange


def held_words(held: Held) -> str:
    """What a StreamElements balance shown here leaves out, in parentheses ("" for nothing):
    " (200 held for a heist, 100 waiting to be taken away)"."""
    parts = [f"{held.staked:,} held for a heist"] if held.staked else []
    parts += [f"{held.waiting:,} waiting to be taken away"] if held.waiting else []
    return f" ({', '.join(parts)})" if parts else ""


def queued_change_words(change: QueuedChange, who: str, amount: Callable[[int], str]) -> str:
    """``who``: the viewer as shown; ``amount``: a number of points as shown, with their name."""
    if not change.is_new:
        return f"That change for {who} was queued already; it is not made twice."
    verb = "Giving {} to" if change.amount > 0 else "Taking {} from"
    return (
        f"{verb.format(amount(abs(change.amount)))} {who} on StreamElements, where they "
        f"have {amount(change.balance)}; the change is made within seconds."
    )
