"""How the dashboard words a guild's Kick and Twitch state: the overview's checks and the Sync
buttons' results, in the browser's terms (the Kick & Twitch page, the Sync button), where the
bot names its commands (``core/discord_bot/connections/checks.py``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from core.features.connections.checks import FixWords, consent_words
from core.features.connections.kick.subscriptions import (
    NEEDS_REAUTH_PROBLEM,
    OTHER_ACCOUNT_PROBLEM,
    WANTED_EVENTS,
    SyncReport,
)
from core.features.connections.twitch.subscriptions import TwitchSyncReport

CONNECT_HERE = "connect it on this server's Kick & Twitch page"


def _setup(platform: str, slug: str | None) -> str:
    if slug is None:
        return "choose the channel on this server's Kick & Twitch page"
    return CONNECT_HERE


def ago(moment: datetime, now: datetime) -> str:
    """How long before ``now`` ``moment`` was, in words ("3 hours ago"): the same for a reader in
    any time zone."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    seconds = int((now - moment).total_seconds())
    if seconds < 60:
        return "just now"
    if seconds < 2 * 3600:
        count, unit = seconds // 60, "minute"
    elif seconds < 2 * 86_400:
        count, unit = seconds // 3600, "hour"
    else:
        count, unit = seconds // 86_400, "day"
    return f"{count} {unit}{'' if count == 1 else 's'} ago"


def fix_words(clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> FixWords:
    """The dashboard's words, times said as how long ago by ``clock``."""
    return FixWords(
        setup=_setup,
        sync=lambda platform: f"press Sync {platform.capitalize()} below",
        when=lambda moment: ago(moment, clock()),
    )


def kick_sync_words(report: SyncReport) -> str:
    if report.problem == NEEDS_REAUTH_PROBLEM:
        return f"Kick no longer accepts the streamer's sign-in: {CONNECT_HERE} again."
    if report.problem == OTHER_ACCOUNT_PROBLEM:
        return (
            "The connected Kick account does not own this server's channel, so nothing was "
            f"subscribed: {CONNECT_HERE} again, signed in to Kick as the channel's owner."
        )
    if report.problem is not None and report.broadcaster_user_id is None:
        return f"The streamer's Kick account is not connected yet: {CONNECT_HERE}."
    if report.problem is not None:
        return f"Couldn't sync Kick's webhook subscriptions: {report.problem}"
    live = len(report.created) + len(report.kept)
    lines = [
        f"Kick webhook subscriptions: {len(report.created)} created, {len(report.kept)} kept, "
        f"{len(report.failed)} failed ({live}/{len(WANTED_EVENTS)} live)."
    ]
    lines += [f"{name}: {error}" for name, error in sorted(report.failed.items())]
    if report.failed:
        lines.append("Try again later; Kick may refuse some events for a while.")
    return "\n".join(lines)


def twitch_sync_words(report: TwitchSyncReport) -> str:
    lines = [
        f"Twitch subscriptions: {len(report.kept)} kept, {len(report.created)} created, "
        f"{len(report.removed)} removed."
    ]
    lines += [f"{kind} failed: {why}" for kind, why in sorted(report.failed.items())]
    if report.skipped:
        words = consent_words(report.skipped)
        lines.append(f"The streamer must {words}: {CONNECT_HERE} again.")
    return "\n".join(lines)
