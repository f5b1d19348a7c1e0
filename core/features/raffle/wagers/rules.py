"""The wager rules as plain functions: tickets for an amount, the backoff after failed polls, the
campaign codes and affiliate URL an admin may set, and where an account's count starts in a period.

:class:`~core.features.raffle.wagers.service.WagerService` applies them; they hold no state and
touch no network, so tests check them directly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from core.features.raffle.errors import WagerRefused
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.wagers import repository
from core.features.raffle.wagers.repository import Total
from core.platforms.shuffle.api import SHUFFLE_HOSTS, is_allowed_url, is_printable_url
from core.platforms.shuffle.payloads import WagerRow

CENTS_PER_THOUSAND = 100_000
MAX_BACKOFF_SECONDS = 3600
MAX_CODES = 20
# How far from a period's end the last total seen may lie and still be the next period's
# baseline (a bot down longer than this over the boundary loses the wagers in between, rather
# than crediting days of them to the wrong period).
CARRY_LIMIT = timedelta(days=1)
_CODE = re.compile(r"^[A-Za-z0-9_\-]{1,32}$")


def tickets_for(wagered_cents: int, tickets_per_thousand: int) -> int:
    """Whole tickets for this many cents wagered: ``floor(cents / 100_000 * rate)``."""
    if wagered_cents <= 0 or tickets_per_thousand <= 0:
        return 0
    return wagered_cents * tickets_per_thousand // CENTS_PER_THOUSAND


def backoff_seconds(failures: int, interval_seconds: int, retry_after: float | None) -> float:
    """How long to leave a guild alone after its ``failures``-th failed poll in a row: twice
    the poll interval, doubling, at most an hour; never less than Shuffle's Retry-After."""
    step = min(MAX_BACKOFF_SECONDS, interval_seconds * 2 ** max(1, failures))
    return max(float(step), retry_after or 0.0)


def parse_campaign_codes(text: str) -> tuple[str, ...]:
    """Codes separated by commas or spaces, deduplicated without regard to case."""
    codes: dict[str, str] = {}
    for code in re.split(r"[\s,]+", text.strip()):
        if not code:
            continue
        if not _CODE.match(code):
            raise WagerRefused(
                f"{code[:40]!r} is not a campaign code (letters, digits, - and _, at most 32)."
            )
        codes.setdefault(code.casefold(), code)
    if not codes:
        raise WagerRefused("Give at least one campaign code.")
    if len(codes) > MAX_CODES:
        raise WagerRefused(f"At most {MAX_CODES} campaign codes.")
    return tuple(codes.values())


def check_affiliate_url(url: str, allowed_hosts: Sequence[str] = SHUFFLE_HOSTS) -> str:
    url = url.strip().strip("<>")
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    if (
        parts is None
        or not is_printable_url(url)
        or parts.scheme not in ("http", "https")
        or not parts.hostname
    ):
        raise WagerRefused("That is not a link: paste the whole https://... statistics URL.")
    if len(url) > 1000:
        raise WagerRefused("That link is too long.")
    if not is_allowed_url(url, allowed_hosts):
        raise WagerRefused(
            "That is not a Shuffle statistics link: it must be on "
            f"{' or '.join(allowed_hosts)}. Copy it from the Shuffle affiliate dashboard."
        )
    return url


def totals_under_codes(rows: Sequence[WagerRow], campaign_codes: Sequence[str]) -> dict[str, Total]:
    """Each account's total under the guild's codes (summed when it has rows under several);
    rows under other codes are not the streamer's and are left out, and so are rows whose
    name is no Shuffle username (no member could be verified as it). A row repeated under the
    same code (pages that overlap) is one lifetime total, counted once: the largest."""
    wanted = {code.casefold() for code in campaign_codes}
    per_code: dict[tuple[str, str], WagerRow] = {}
    for row in rows:
        code = row.campaign_code.casefold()
        if code not in wanted or not row.is_account_name:
            continue
        earlier = per_code.get((row.account_key, code))
        if earlier is None or row.wagered_cents > earlier.wagered_cents:
            per_code[(row.account_key, code)] = row
    totals: dict[str, Total] = {}
    for (key, _), row in per_code.items():
        earlier_total = totals.get(key)
        cents = row.wagered_cents + (earlier_total.cents if earlier_total else 0)
        totals[key] = Total(row.username, cents)
    return totals


def codes_added(codes: Sequence[str], before: Sequence[str]) -> bool:
    """Whether ``codes`` hold one that ``before`` did not (codes compare without case)."""
    return bool({c.casefold() for c in codes} - {c.casefold() for c in before})


def no_player_under_codes(rows: Sequence[WagerRow], campaign_codes: Sequence[str]) -> str | None:
    """The problem to show when the reply lists players but none under the guild's codes (a
    code typed otherwise than on Shuffle): which codes the reply does list."""
    wanted = {code.casefold() for code in campaign_codes}
    if not rows or any(row.campaign_code.casefold() in wanted for row in rows):
        return None
    players = len({row.account_key for row in rows})
    codes = sorted({row.campaign_code[:32] for row in rows if row.campaign_code})
    listed = ", ".join(codes[:5]) + (", …" if len(codes) > 5 else "") if codes else "none"
    return (
        f"Shuffle lists {players} player{'' if players == 1 else 's'} but none under your "
        f"campaign codes; its codes: {listed}"
    )


def show_problem(conn: Connection, guild_id: int, problem: str, now: datetime) -> None:
    """Name ``problem`` in ``!shuffle status`` as that of the poll taken at ``now`` (taken all
    the same: no backoff)."""
    repository.update_settings(conn, guild_id, now, last_problem=problem[:200], last_problem_at=now)


def carried_totals(
    conn: Connection, guild_id: int, period: periods_repository.Period, known: dict[str, Total]
) -> dict[str, Total]:
    """The totals the new ``period`` starts from, if it follows a closed one: those ``known``
    (seen before this poll) that were seen near that one's end. Empty when there are none."""
    previous = periods_repository.find_last_closed_period(conn, guild_id)
    if previous is None or period.starts_at > previous.ends_at + CARRY_LIMIT:
        return {}
    since = previous.ends_at - CARRY_LIMIT
    return {
        key: total
        for key, total in known.items()
        if total.seen_at is not None and total.seen_at >= since
    }


def baseline(
    key: str, total: Total, is_baseline: bool, carried: dict[str, Total], known: dict[str, Total]
) -> int:
    """Where an account starts counting in the period. At the period's first poll: the total
    carried from the previous period's end (what that period was paid up to, even when this
    reply says less), else today's total (nothing before counts). Later: the last total seen,
    or zero for an account never seen (a new referral)."""
    if is_baseline:
        start = carried.get(key)
        return total.cents if start is None else start.cents
    return cents_of(known.get(key))


def cents_of(total: Total | None) -> int:
    return 0 if total is None else total.cents
