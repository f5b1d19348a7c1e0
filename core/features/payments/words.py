"""Payments in doubt in plain words, the same on the command line, in Discord and on the
dashboard: one line per call, and what a settlement did."""

from __future__ import annotations

from core.features.payments.service import PAID, Doubt, Settled


def amount_words(doubt: Doubt) -> str:
    return "" if doubt.amount is None else f"{doubt.amount:+,}"


def doubt_line(doubt: Doubt) -> str:
    """``#12 viewer2 -400 (heist #3 payout), 2026-11-26 08:00 UTC: answered 500 ...``; a call
    that is no payment names its service and kind instead of who and how much."""
    when = doubt.created_at.strftime("%Y-%m-%d %H:%M UTC")
    if doubt.who is not None and doubt.amount is not None:
        what = f"{doubt.who} {amount_words(doubt)} ({doubt.why})"
    else:
        what = f"{doubt.service} call {doubt.why}"
    return f"#{doubt.id} {what}, {when}: {doubt.result}"


def settled_line(settled: Settled) -> str:
    doubt = settled.doubt
    what = f"#{doubt.id}" + (f" ({doubt.who} {amount_words(doubt)})" if doubt.who else "")
    if settled.action == PAID:
        return f"Call {what} is marked paid: nothing more is sent."
    if settled.queued:
        return f"Call {what} is queued again; it is sent once, as a new call."
    return f"Call {what} is settled; it was queued again before."
