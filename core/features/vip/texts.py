"""The words of temporary VIP: why a redemption was refused, and the notices."""

from __future__ import annotations

from datetime import datetime

from core.events import RewardRedeemed
from core.features.vip.ports import Refusal
from core.features.vip.removal_calls import retry_wait
from core.features.vip.repository import MANUAL, OUTSIDE, REDEMPTION, RULE, AuditEntry, Grant
from core.features.vip.rules_repository import BITS, GIFT, KICKS, SUB

NOT_LINKED = "not_linked"
HELD_ELSEWHERE = "held_elsewhere"  # another server following the channel granted the VIP

# Why a grant could not happen, for the viewer in chat (their points are refunded).
REASONS: dict[str, str] = {
    "broadcaster": "the broadcaster cannot be a VIP of their own channel",
    Refusal.MODERATOR: "moderators cannot be VIPs",
    Refusal.ALREADY_VIP: "you are already a permanent VIP",
    HELD_ELSEWHERE: "you are already a VIP for a while, through another Discord server",
    Refusal.NO_SLOTS: "the channel has no free VIP slots",
    Refusal.NO_COMMUNITY: "the channel has not unlocked VIPs yet (Build a Community)",
    Refusal.BANNED: "you are banned from the channel",
    "cap": "the most temporary VIPs at once are already granted",
    "no_stacking": "you are already a VIP and time does not stack",
    "stack_cap": "that would go past the longest VIP time allowed",
    Refusal.NOT_CONNECTED: "Twitch is not connected",
    Refusal.UNAUTHORIZED: "StreamKeeper may not add VIPs until the streamer connects Twitch again",
    Refusal.NOT_FOUND: "Twitch does not know that account (it was deleted or suspended)",
    Refusal.FORBIDDEN: "Twitch does not let StreamKeeper change VIPs in this channel",
    Refusal.INVALID: "Twitch refused the request",
    NOT_LINKED: "link your Kick account in Discord first (!link kick)",
}
# Why an expired VIP is not removed yet, where it differs from a grant's words (shown on the
# VIP list and the dashboard until the next try).
REMOVAL_REASONS: dict[str, str] = {
    Refusal.UNAUTHORIZED: (
        "StreamKeeper may not remove VIPs until the streamer connects Twitch again"
    ),
}
# Why an outside VIP was closed: it was another server's grant, seen here (Twitch's "VIP added",
# or its "already a VIP" to this server's own add) before that server stored it.
GRANTED_ELSEWHERE = "another Discord server of the channel granted this VIP"
# The audit's reason for an expired VIP closed because its Twitch account is gone.
ACCOUNT_GONE = "expired (the Twitch account no longer exists)"


def reason_text(reason: str) -> str:
    return REASONS.get(reason, reason)


def removal_reason_text(reason: str) -> str:
    """Why an expired VIP could not be removed now, in words."""
    return REMOVAL_REASONS.get(reason) or reason_text(reason)


def removal_note(grant: Grant) -> str | None:
    """Why a VIP whose time is up is still there, for `!vip list` and the dashboard's list:
    its last removal failed (tried again at the next expiry run), or it was extended while
    being removed and its VIP could not be given back; None when nothing is wrong (an error
    from before an extension is no longer the VIP's state)."""
    error, tried = grant.last_error, grant.removal_tried_at
    if not error or tried is None:
        return None
    if grant.expires_at is not None and grant.expires_at <= tried:
        minutes = int(retry_wait(grant).total_seconds() // 60)
        every = "every minute" if minutes == 1 else f"in {minutes} min"
        return f"not removed yet: {error} (tried again {every})"
    return error if error.startswith("extended while") else None


# How a VIP was granted (its grant's source), for `!vip list` and the dashboard's VIP list.
HOW_GRANTED: dict[str, str] = {
    REDEMPTION: "redemption",
    RULE: "rule",
    MANUAL: "manual",
    OUTSIDE: "outside (never removed)",
}
# What a viewer did to earn VIP by a rule other than a reward, by the kind its audit key starts
# with (``rule_grants._claim_key``: "bits:<event key>").
EARNED_BY: dict[str, str] = {
    SUB: "a subscription",
    GIFT: "gifted subs",
    BITS: "a cheer",
    KICKS: "KICKs",
}


def how_granted(source: str) -> str:
    return HOW_GRANTED.get(source, source)


def earned_by(entry: AuditEntry) -> str:
    """What the viewer of a viewer's audit entry did: "redemption" for a reward's redemption,
    else the rule's event ("a cheer"); the rule itself is in the entry's reason."""
    kind, colon, _ = (entry.redemption_id or "").partition(":")
    return EARNED_BY.get(kind, "redemption") if colon else "redemption"


def when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def held_elsewhere(username: str, expires_at: datetime | None) -> str:
    """Why an admin's grant, extension or removal of a VIP another Discord server of the
    channel granted is refused (that server's name is its own)."""
    until = "with no set end" if expires_at is None else f"until {when(expires_at)}"
    return (
        f"{username} is a VIP through another Discord server that follows this channel, "
        f"{until}: that server's grant ends it, so nothing was changed."
    )


def granted_notice(username: str, expires_at: datetime | None) -> str:
    return f"{username} is a VIP until {when(expires_at)}."


def extended_notice(username: str, expires_at: datetime | None) -> str:
    return f"{username}'s VIP now lasts until {when(expires_at)}."


def refused_notice(username: str, reason: str, *, is_refunded: bool = True) -> str:
    refund = " Your points were refunded." if is_refunded else ""
    return f"@{username} no VIP this time: {reason_text(reason)}.{refund}"


def untold_notice(notice: str) -> str:
    """The Discord notice of a refund whose chat line could not be said."""
    return (
        f"{notice} (Not said in Twitch chat: the streamer must connect Twitch again with "
        "!twitch setup; the line is said in chat then.)"
    )


def removed_notice(username: str, why: str) -> str:
    return f"{username} is no longer a VIP ({why})."


def redeeming(event: RewardRedeemed) -> tuple[str, str]:
    """Who redeemed and "for redeeming 'VIP 1 week'", for the summaries of the calls that
    grant it (``core/outbox/undone.py``)."""
    who = event.viewer.username or event.viewer.platform_user_id or "a viewer"
    return who, f"for redeeming {event.reward_title or 'the VIP reward'!r}"
