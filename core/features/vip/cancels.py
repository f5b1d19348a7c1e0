"""A Twitch redemption canceled on Twitch (a moderator rejected it in the reward queue, so the
viewer's points went back): our record follows, once however often the update arrives.

The update reads the redemption's row and never claims it (a claim would take a waiting one out
of waiting). By what the row says:

- never seen: recorded done, "canceled before StreamKeeper handled it"; its add, if it comes
  later, changes nothing;
- being added (``adding``): looked at again later, once the add has decided;
- granted: the VIP stays until it expires (we never cancel a grant, so a moderator did);
- waiting for the streamer to connect Twitch again, Twitch never asked: done, as canceled before;
- waiting after an attempt that may have reached Twitch (``was_adding``), or closed by the
  catch-up when the streamer connected again (``SETTLED_AFTER_ADDING``): Twitch is asked (Get
  VIPs) once the streamer is connected, and until then the update is delivered again later. A
  VIP found there that holds no grant here is that attempt's: it gets the grant the redemption
  earned, which expires (Remove VIP) like any other; none found, it is canceled before.
- refused by us, or this update seen before: nothing.

A redemption accepted on Twitch (FULFILLED in the reward queue) needs the same look only when
an earlier attempt may have added the VIP: a VIP found there with no grant here gets the grant
the redemption earned, so it expires rather than staying for good. Any other accept needs
nothing (the add, when it comes, grants as usual).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Connection

from core.events import RewardRedeemed
from core.features.vip import decisions, redemptions_repository, repository, rules_repository
from core.features.vip.decisions import Decision, Earned
from core.features.vip.effects import VipEffects
from core.features.vip.ports import Refusal, TwitchRefused
from core.features.vip.redemptions_repository import (
    ADDING,
    DONE,
    SETTLED_AFTER_ADDING,
    WAITING,
    WAS_ADDING,
    redemption_key,
)
from core.features.vip.repository import AuditEntry

GRANTED = "granted"
CANCELED_OUTCOME = "canceled on Twitch"
CANCELED_BEFORE = "canceled on Twitch before StreamKeeper handled it"
CANCELED_AFTER = "canceled on Twitch after the VIP was granted; the VIP stays until it expires"
ACCEPTED_OUTCOME = "accepted on Twitch"
WAIT: Literal["wait"] = "wait"  # look again later: the update is delivered again
_ASK_TWITCH = "ask Twitch"  # whether an earlier attempt added the VIP
# What the row says when the update must ask Twitch whether an earlier attempt added the VIP.
_MAY_HAVE_ADDED = ((WAITING, WAS_ADDING), (DONE, SETTLED_AFTER_ADDING))


async def settle_canceled(effects: VipEffects, guild_id: int, event: RewardRedeemed) -> str | None:
    """Record the cancel of ``event``'s redemption: the audit reason written, None when there
    was nothing to write, ``WAIT`` when it must be looked at again later."""
    settings = await effects.settings(guild_id)
    earning = await effects.in_transaction(
        lambda conn: rules_repository.earning_reward(conn, guild_id, settings, event)
    )
    if earning is None:
        return None
    key = redemption_key(event)
    now = effects.clock()

    def settle(conn: Connection) -> str | None:
        stored = redemptions_repository.find_redemption(conn, guild_id, event.platform, key)
        if stored is None:  # never seen: canceled before we handled it
            if not redemptions_repository.record_settled(
                conn, guild_id, event.platform, key, CANCELED_OUTCOME, now
            ):
                return WAIT  # its add arrived meanwhile
            reason = CANCELED_BEFORE
        elif stored in _MAY_HAVE_ADDED:
            return _ASK_TWITCH
        elif stored == (WAITING, None):  # Twitch was never asked: no VIP
            if not redemptions_repository.close_settled(
                conn, guild_id, event.platform, key, stored, CANCELED_OUTCOME
            ):
                return WAIT  # the catch-up took it meanwhile
            reason = CANCELED_BEFORE
        elif stored[0] == ADDING:  # Add VIP may be under way: look again later
            return WAIT
        # Granted (done or not): we never cancel a grant, so a moderator did, and the points
        # went back. A refusal of ours, or this update seen before: nothing.
        elif stored[0] not in (GRANTED, DONE) or not (
            redemptions_repository.note_settled_elsewhere(
                conn, guild_id, event.platform, key, CANCELED_OUTCOME
            )
        ):
            return None
        else:
            reason = CANCELED_AFTER
        repository.add_audit(conn, refund_entry(guild_id, event, reason, now))
        return reason

    outcome = await effects.in_transaction(settle)
    if outcome == _ASK_TWITCH:
        earned = Earned.of_redemption(guild_id, event, str(event.viewer.platform_user_id), *earning)
        return await _settle_after_adding(effects, event, earned)
    return outcome


async def settle_accepted(effects: VipEffects, guild_id: int, event: RewardRedeemed) -> str | None:
    """Record an accept made on Twitch of ``event``'s redemption when an earlier attempt may
    have added the VIP (see the module's doc): the outcome written, None when there was nothing
    to do, ``WAIT`` when it must be looked at again later."""
    settings = await effects.settings(guild_id)
    earning = await effects.in_transaction(
        lambda conn: rules_repository.earning_reward(conn, guild_id, settings, event)
    )
    if earning is None:
        return None
    stored = await effects.in_transaction(
        lambda conn: redemptions_repository.find_redemption(
            conn, guild_id, event.platform, redemption_key(event)
        )
    )
    if stored not in _MAY_HAVE_ADDED:
        return None
    earned = Earned.of_redemption(guild_id, event, str(event.viewer.platform_user_id), *earning)
    return await _settle_after_adding(effects, event, earned, is_refunded=False)


async def _settle_after_adding(
    effects: VipEffects, event: RewardRedeemed, earned: Earned, *, is_refunded: bool = True
) -> str | None:
    """The cancel (``is_refunded``) or accept of a redemption an earlier attempt may have added
    as a VIP: Twitch says."""
    guild_id = earned.guild_id
    if await effects.is_twitch_marked(guild_id):
        return WAIT  # Twitch refuses every call until the streamer connects again
    try:
        vips = await effects.twitch.list_vips(guild_id, event.broadcaster_user_id)
    except TwitchRefused as refused:
        if refused.reason in (Refusal.NOT_CONNECTED, Refusal.UNAUTHORIZED):
            return WAIT
        raise
    is_vip = earned.viewer_id in {vip.user_id for vip in vips}
    key = redemption_key(event)
    now = effects.clock()

    def settle(conn: Connection) -> str | None:
        stored = redemptions_repository.find_redemption(conn, guild_id, event.platform, key)
        if (
            stored not in _MAY_HAVE_ADDED
            or not stored
            or not redemptions_repository.close_settled(
                conn,
                guild_id,
                event.platform,
                key,
                stored,
                CANCELED_OUTCOME if is_refunded else ACCEPTED_OUTCOME,
            )
        ):
            return WAIT  # moved meanwhile (the catch-up queued it again): look again
        grant = repository.open_grant(conn, guild_id, event.platform, earned.viewer_id)
        # Twitch's "VIP added" of that attempt's add, seen first, is that add too.
        is_echo = decisions.is_echo_of_our_add(conn, earned, grant)
        is_ours = is_vip and (grant is None or is_echo)
        if is_ours:  # that attempt's VIP: it expires as the redemption earned
            decision = Decision("add", expires_at=now + timedelta(hours=earned.hours))
            decisions.store_outcome(conn, earned, decision, now)
        if not is_refunded:
            return GRANTED if is_ours else ACCEPTED_OUTCOME
        reason = CANCELED_AFTER if is_ours else CANCELED_BEFORE
        repository.add_audit(conn, refund_entry(guild_id, event, reason, now))
        return reason

    return await effects.in_transaction(settle)


def refund_entry(guild_id: int, event: RewardRedeemed, reason: str, at: datetime) -> AuditEntry:
    """The audit row of a Twitch redemption whose points went back to the viewer."""
    return AuditEntry(
        guild_id=guild_id,
        platform=event.platform,
        broadcaster_user_id=event.broadcaster_user_id,
        platform_user_id=str(event.viewer.platform_user_id),
        username=event.viewer.username,
        action="refunded",
        actor_kind="system",
        reason=reason,
        at=at,
        redemption_id=redemption_key(event),
        reward_cost=event.cost,
    )
