"""Deleting what StreamKeeper keeps about one person, when they ask the operator to
(``python -m core privacy forget``): the rows *about* them, found as
:mod:`core.features.person_data` finds them, table by table as :data:`FORGET` says.

Some rows stay, each table for its stated reason (:data:`KEPT`): what a closed raffle period
published as the evidence of its draw, an admin's own actions on other people (a row whose
Discord id is the person only as the admin who acted), a moderator's decision about them (the
slot-call blacklist, a raffle exclusion), a VIP grant still running (its removal is due), a
StreamElements stake and seat in a heist under way, the marker of a row imported from another
bot (without it, importing again would bring the row back). The report says how many of each
stayed.

A test (tests/features/test_person_forget.py) fails when a table the export searches is in
neither list, so a feature's new table gets a decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.features.heist import repository as heist_repository
from core.features.person_data import Person, person_rows, subject_matches
from core.features.schema import all_tables

OPEN_PERIODS = ("scheduled", "open")


def _all(table: sa.Table, now: datetime) -> Any:
    return sa.true()


def _open_periods(table: sa.Table, now: datetime) -> Any:
    periods = all_tables().tables["raffle_periods"]
    still_open = sa.select(periods.c.id).where(periods.c.status.in_(OPEN_PERIODS))
    return table.c.period_id.in_(still_open)


def _finished_heists(table: sa.Table, now: datetime) -> Any:
    heists = all_tables().tables["heists"]
    finished = sa.select(heists.c.id).where(heists.c.state != heist_repository.OPEN)
    return table.c.heist_id.in_(finished)


def _ended_grants(table: sa.Table, now: datetime) -> Any:
    return sa.or_(table.c.removed_at.is_not(None), table.c.expires_at < now)


def _settled_holds(table: sa.Table, now: datetime) -> Any:
    return table.c.settled_at.is_not(None)


def _undelivered(table: sa.Table, now: datetime) -> Any:
    return table.c.acked_at.is_(None)


# table -> which of the person's rows go (besides matching them): every one, or only some.
Rows = Callable[[sa.Table, datetime], Any]
FORGET: dict[str, Rows] = {
    "account_links": _all,
    "link_history": _all,  # their links and unlinks (an admin's unlink of someone else stays)
    "viewers": _all,
    "watchtime": _all,
    "watch_presence": _all,
    "points_balances": _all,
    "points_ledger": _all,  # their points lines (the points an admin gave others stay)
    "points_accrual": _all,
    "heist_participants": _finished_heists,
    "imported_winners": _all,
    "raffle_ledger": _open_periods,
    "raffle_balances": _open_periods,
    "raffle_watch_progress": _open_periods,
    "raffle_gifts": _open_periods,
    "role_awards": _all,
    "directory_members": _all,
    "web_sessions": _all,
    "oauth_states": _all,
    "used_links": _all,
    "shuffle_links": _all,
    "shuffle_link_requests": _all,
    "slot_calls": _all,
    "sub_tiers": _all,
    "vip_grants": _ended_grants,
    "vip_audit": _all,
    "points_se_holds": _settled_holds,  # a stake whose game ended (by their Twitch login)
    "overlay_alerts": _all,  # alerts naming them: shown once already, evidence of nothing
    "bus_events": _undelivered,  # their events waiting or dead (delivered ones go in 7 days)
}
KEPT: dict[str, str] = {
    "raffle_ledger": "a closed period's ledger is the evidence its published draw was fair",
    "raffle_balances": "a closed period's standings belong to its published proof",
    "raffle_watch_progress": "a closed period's progress belongs to its frozen ledger",
    "raffle_gifts": "a closed period's gifts belong to its frozen ledger",
    "raffle_frozen_ranges": "a closed period's ticket ranges, from which its winners were drawn",
    "raffle_winners": "a published draw's winners",
    "raffle_draws": "draws an admin asked for (the person as the admin)",
    "raffle_exclusions": "an admin's decision to keep them out of the raffle",
    "slot_call_blacklist": "a moderator's decision to ignore their slot calls",
    "vip_grants": "a VIP grant still running: its removal on Twitch or Discord is due",
    "points_se_holds": "a StreamElements stake held for a heist under way, paid or given back",
    "heist_participants": "a seat in a heist under way: its result pays or refunds the stake",
    "import_markers": (
        "the other bot's watchtime row already imported (by Kick name), so that importing "
        "again does not bring it back"
    ),
    "shuffle_wager_totals": "wager totals the raffle's Shuffle poll counts from (by Shuffle name)",
    "payments_settlements": "an admin's settlement of a payment (the person as the admin)",
    "link_panels": "a link panel an admin posted (the person as the admin)",
    "kick_connections": "a channel's connection an admin made (the person as the admin)",
    "twitch_connections": "a channel's connection an admin made (the person as the admin)",
    "points_ledger": "points an admin gave or took from others (the person as the admin)",
    "link_history": "an admin's unlink of someone else (the person as the admin)",
    "slot_calls": "calls an admin closed (the person as the admin)",
    "vip_audit": "an admin's VIP actions on others (the person as the admin)",
    "shuffle_links": "a Shuffle link an admin verified (the person as the admin)",
}


@dataclass
class ForgetReport:
    deleted: dict[str, int] = field(default_factory=dict)
    kept: dict[str, tuple[int, str]] = field(default_factory=dict)  # table -> (rows, why)


def forget(conn: Connection, person: Person, now: datetime, *, delete: bool) -> ForgetReport:
    """Delete (``delete``) or only count the rows about ``person``, in the caller's
    transaction; what stays, counted with its reason."""
    report = ForgetReport()
    tables = all_tables().tables
    for name, chosen in sorted(FORGET.items()):
        table = tables[name]
        about = subject_matches(conn, name, table, person)
        if not about:
            continue
        condition = sa.and_(sa.or_(*about), chosen(table, now))
        if delete:
            gone = conn.execute(sa.delete(table).where(condition)).rowcount
        else:
            counted = sa.select(sa.func.count()).select_from(table).where(condition)
            gone = int(conn.execute(counted).scalar_one())
        if gone:
            report.deleted[name] = gone
    remaining = person_rows(conn, person)
    for name, rows in remaining.items():
        left = len(rows) - (0 if delete else report.deleted.get(name, 0))
        if left > 0:
            report.kept[name] = (left, KEPT.get(name, "not deleted by this tool"))
    return report
