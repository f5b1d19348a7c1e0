"""What stream chat hears of an event the VIP rules of several Discord servers following one
channel reach (a sub, a gift, a cheer, KICKs): one line, and the grant's when any server
granted the VIP, never a refusal beside it; each server's Discord notice stays its own.

Each server decides the event on its own (its caps, its stacking), in any order and in any
process. The line goes through the chat outbox under the channel's key for the event
(``chat_commands/event_lines.py``): a refusal is held while another server whose rule the
event reaches has not recorded its outcome, and released by the last one to record; a grant
takes over a refusal not said yet. Outcomes of one event are recorded one at a time
(:func:`~core.features.vip.redemptions_repository.lock_event`, first in the transaction), so
the last to record sees every other outcome. A server that never records one (its call given
up on) leaves a held refusal unsaid: silence, not a contradiction.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

from core.events import Platform
from core.features.guilds import repository as guilds_repository
from core.features.vip import redemptions_repository, rules_repository, texts
from core.features.vip.decisions import ELSEWHERE, Decision, Earned
from core.features.vip.effects import VipEffects
from core.features.vip.redemptions_repository import DONE
from core.features.vip.repository import VipSettings


def lock(conn: Connection, earned: Earned) -> None:
    """First in the transaction that records this server's outcome of the event."""
    redemptions_repository.lock_event(conn, earned.platform, earned.broadcaster_user_id, earned.key)


def text_of(earned: Earned, decision: Decision) -> str:
    """The viewer's line of the outcome ("" for a VIP another server holds: its line is said)."""
    if decision.action == ELSEWHERE:
        return ""
    if decision.action == "refuse":
        return texts.refused_notice(earned.username, decision.reason, is_refunded=False)
    text = texts.granted_notice(earned.username, decision.expires_at)
    if earned.platform is Platform.KICK:
        return text.replace("is a VIP", "has the VIP role")
    return text


def is_settled(conn: Connection, earned: Earned, kind: str, amount: int | None) -> bool:
    """Whether every other server following the channel whose rule of ``kind`` ``amount``
    reaches has recorded its outcome of the event (``amount`` None: not known, from a call
    queued before amounts were kept; nothing is waited for)."""
    if amount is None:
        return True
    left = guilds_repository.list_left_guild_ids(conn)
    following = guilds_repository.list_guild_ids_tracking(
        conn, earned.platform, earned.broadcaster_user_id
    )
    for other in following:
        if other == earned.guild_id or other in left:
            continue
        if rules_repository.best_rule(conn, other, earned.platform, kind, amount) is None:
            continue
        found = redemptions_repository.find_redemption(conn, other, earned.platform, earned.key)
        if found is None or found[0] != DONE:
            return False
    return True


def settle(
    conn: Connection,
    effects: VipEffects,
    earned: Earned,
    decision: Decision,
    settings: VipSettings,
    *,
    kind: str,
    amount: int | None,
) -> bool:
    """This server's part of the channel's line of the event, in the transaction recording its
    outcome (after :func:`lock`); False when chat has no such line here (no chat notices
    service: the caller says its line itself)."""
    notices = effects.chat_notices
    if notices is None:
        return False
    text = text_of(earned, decision)
    notices.settle_event_line(
        conn,
        earned.platform,
        earned.guild_id,
        earned.broadcaster_user_id,
        f"vip:{earned.key}",
        text=text if text and settings.is_chat_notices else None,
        is_grant=decision.action in ("add", "extend"),
        is_settled=is_settled(conn, earned, kind, amount),
    )
    return True
