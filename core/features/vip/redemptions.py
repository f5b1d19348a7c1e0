"""A channel-point redemption of the guild's VIP reward becomes a VIP grant, an extension, or a
refusal whose points are refunded (CANCELED), told to the viewer in chat.

Exactly once across redeliveries, both EventSub transports and restarts: the redemption's row
(``vip_redemptions``) is written before Twitch is asked, and its state moves on in the same
transaction as the grant or the refusal it decides:

``adding`` → ``granted`` (grant + audit) or ``refusing`` (audit) → ``done`` (redemption status
set, notices posted). A retry resumes from the stored state, so Twitch's "already a VIP" after
an ``adding`` that may have reached Twitch is our own earlier grant, not a permanent VIP.

While the guild's Twitch connection needs re-authorization, Twitch is not asked: a new (or
resumed) redemption goes ``adding`` → ``waiting`` and is taken back to ``adding`` when it is
handled again after the streamer connected (``reconnection.py``), as is one whose Add VIP
found it gone (the refresh refused: StreamKeeper revoked); a refund then keeps its chat line
for that moment (chat goes as the streamer) and Discord's notice says so.

A cancel made on Twitch (a moderator in the reward queue) is recorded once as a refund
(``cancels.py``): before we handled it, no VIP follows; after, the grant stays until it expires.
Redemptions missed while away are read back by ``reconnection.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Connection

from core.bus.base import NotReady
from core.events import Platform, RewardRedeemed, system_clock
from core.features.vip import decisions, redemptions_repository, repository, rules_repository, texts
from core.features.vip.cancels import (
    GRANTED,
    WAIT,
    refund_entry,
    settle_accepted,
    settle_canceled,
)
from core.features.vip.decisions import Decision, Earned
from core.features.vip.effects import VipEffects, log
from core.features.vip.ports import (
    FINAL_ADD_REFUSALS,
    Refusal,
    TwitchBusyUnchanged,
    TwitchRefused,
)
from core.features.vip.redemptions_repository import (
    ADDING,
    DONE,
    IN_FLIGHT,
    WAITING,
    redemption_key,
)
from core.features.vip.repository import Grant, VipSettings
from core.ownership import claims

REFUSING = "refusing"
SETTLED = frozenset({"fulfilled", "canceled"})  # a status update, not a new redemption
# A delivery asking Twitch holds the redemption for as long as its process lives (the process's
# heartbeat lease: a killed one's passes on within seconds), up to claims.SAFETY_NET. A
# delivery with no process behind it (a tool, a test) holds it this long, the longest one call
# may take to ask Twitch (VIP additions wait their turn: 10 per 10 s; the outbox worker gives a
# call 60 s), before another takes the redemption over as abandoned.
LEASE = timedelta(minutes=2)


class RedemptionInFlight(NotReady):
    """Another delivery of this redemption is asking Twitch right now: the bus tries this one
    again later, when it finds the redemption done (or abandoned, and takes it over)."""


class VipRedemptions:
    def __init__(self, effects: VipEffects, holder: str | None = None) -> None:
        """``holder``: the name of this process, whose heartbeat lease its ownership renews
        (``core/ownership/claims.py``); None: a redemption is held for a fixed ``LEASE``."""
        self.effects = effects
        self.holder = holder[: claims.HOLDER_LENGTH] if holder is not None else None
        # How long a redemption this process asks Twitch about is held at most.
        self.lease = claims.SAFETY_NET if self.holder is not None else LEASE

    async def handle(self, guild_id: int, event: RewardRedeemed) -> None:
        """The bus handler for ``RewardRedeemed``. Raises ``TwitchBusy`` when Twitch did not
        answer, so the bus delivers the event again and the retry resumes."""
        viewer_id = event.viewer.platform_user_id
        if event.platform is not Platform.TWITCH or event.reward_id is None or viewer_id is None:
            return
        if event.status in SETTLED:  # fulfilled or canceled: an update, not a new redemption
            await self._settled_on_twitch(guild_id, event)
            return
        settings = await self.effects.settings(guild_id)
        earning = await self.effects.in_transaction(
            lambda conn: rules_repository.earning_reward(conn, guild_id, settings, event)
        )
        if earning is None:  # not a reward that earns VIP
            return
        earned = Earned.of_redemption(guild_id, event, str(viewer_id), *earning)
        now = self.effects.clock()
        stored = await self.effects.in_transaction(
            lambda conn: redemptions_repository.claim_redemption(
                conn,
                guild_id,
                event.platform,
                redemption_key(event),
                now,
                now + self.lease,
                holder=self.holder,
                alive_at=system_clock(),  # heartbeats are written on the wall clock
            )
        )
        state, reason = stored or (None, None)
        if state == DONE:
            return
        if state == IN_FLIGHT:
            raise RedemptionInFlight(redemption_key(event))
        if state in (None, ADDING) and await self.effects.is_twitch_marked(guild_id):
            await self._wait_for_connection(guild_id, event, was_adding=state == ADDING)
            return
        if state in (None, ADDING):
            try:
                decided = await self._decide_and_record(
                    guild_id, event, settings, earned, resuming=state
                )
            finally:
                await self.effects.in_transaction(
                    lambda conn: redemptions_repository.end_lease(
                        conn, guild_id, event.platform, redemption_key(event)
                    )
                )
            if decided is None:
                return
            state, reason = decided
        if state == GRANTED:
            await self._fulfill(guild_id, event, settings)
        elif state == REFUSING:
            await self._refund(guild_id, event, settings, reason or "")

    async def _wait_for_connection(
        self, guild_id: int, event: RewardRedeemed, *, was_adding: bool
    ) -> None:
        """The guild's connection needs re-authorization: Twitch is not asked (it would refuse
        every call); the redemption waits, counted, until the streamer connects again and the
        reconnection reads it back (``reconnection.py``)."""
        await self.effects.in_transaction(
            lambda conn: redemptions_repository.wait_for_connection(
                conn, guild_id, event, was_adding=was_adding
            )
        )
        log.info(
            "guild %s: VIP redemption %s is %s until the streamer connects Twitch again",
            guild_id,
            redemption_key(event),
            WAITING,
        )

    async def _decide_and_record(
        self,
        guild_id: int,
        event: RewardRedeemed,
        settings: VipSettings,
        earned: Earned,
        resuming: str | None,
    ) -> tuple[str, str | None] | None:
        viewer_id = str(event.viewer.platform_user_id)
        now = self.effects.clock()
        decision = await self.effects.in_transaction(
            lambda conn: self._decide(conn, guild_id, event, settings, earned, now, resuming)
        )
        if decision.action == "add":
            try:
                await self.effects.add_vip(guild_id, event.broadcaster_user_id, viewer_id)
            except TwitchBusyUnchanged:
                if resuming is None:  # this first try added nothing: so is the next one
                    await self.effects.in_transaction(
                        lambda conn: redemptions_repository.release_redemption(
                            conn, guild_id, event.platform, redemption_key(event)
                        )
                    )
                raise
            except TwitchRefused as refused:
                if refused.reason == Refusal.ALREADY_VIP and resuming == ADDING:
                    pass  # our own earlier attempt reached Twitch before the process stopped
                elif refused.reason in FINAL_ADD_REFUSALS:
                    decision = Decision("refuse", refused.reason)
                elif refused.reason == Refusal.NOT_CONNECTED:  # no token, or its refresh refused
                    await self._wait_for_connection(guild_id, event, was_adding=bool(resuming))
                    return None
                else:  # Twitch said no: nothing was added, so start afresh
                    log.warning(
                        "guild %s: VIP redemption %s not handled: %s",
                        guild_id,
                        redemption_key(event),
                        refused,
                    )
                    await self.effects.in_transaction(
                        lambda conn: redemptions_repository.release_redemption(
                            conn, guild_id, event.platform, redemption_key(event)
                        )
                    )
                    return None
        return await self.effects.in_transaction(
            lambda conn: self._record(conn, guild_id, event, earned, decision, now)
        )

    def _decide(
        self,
        conn: Connection,
        guild_id: int,
        event: RewardRedeemed,
        settings: VipSettings,
        earned: Earned,
        now: datetime,
        resuming: str | None = None,
    ) -> Decision:
        viewer_id, hours = earned.viewer_id, earned.hours
        grant = repository.open_grant(conn, guild_id, event.platform, viewer_id)
        if resuming == ADDING and decisions.is_echo_of_our_add(conn, earned, grant):
            grant = None  # the add resumed below adopts it (decisions.store_outcome)
        is_ours = grant is not None and grant.source != repository.OUTSIDE
        if not is_ours and decisions.is_held_elsewhere(conn, earned):
            return Decision("refuse", texts.HELD_ELSEWHERE)  # refunded, as "already a VIP" is
        if grant is not None and grant.source == repository.OUTSIDE:
            return Decision("refuse", Refusal.ALREADY_VIP)
        if grant is not None:
            return decisions.decide_extension(grant, settings, now, hours)
        if viewer_id == event.broadcaster_user_id:
            return Decision("refuse", "broadcaster")
        return decisions.decide_new_grant(conn, guild_id, event.platform, settings, now, hours)

    def _record(
        self,
        conn: Connection,
        guild_id: int,
        event: RewardRedeemed,
        earned: Earned,
        decision: Decision,
        now: datetime,
    ) -> tuple[str, str | None]:
        """Store the decision and move the redemption on, or, when a concurrent delivery did
        that first, change nothing and return the state it stored."""
        if decision.reason == Refusal.ALREADY_VIP and decisions.is_held_elsewhere(conn, earned):
            decision = Decision("refuse", texts.HELD_ELSEWHERE)  # granted there meanwhile
        state = GRANTED if decision.action != "refuse" else REFUSING
        if not redemptions_repository.move_redemption(
            conn, guild_id, event.platform, redemption_key(event), state, decision.reason or None
        ):
            return redemptions_repository.redemption_state(
                conn, guild_id, event.platform, redemption_key(event)
            )
        decisions.store_outcome(conn, earned, decision, now)
        return state, decision.reason or None

    async def _set_status(
        self, guild_id: int, event: RewardRedeemed, status: Literal["FULFILLED", "CANCELED"]
    ) -> Literal["set", "settled", "failed"]:
        """``set``: the redemption has this status now. ``settled``: Twitch says it is no
        longer UNFULFILLED (404 as documented, 400 from twitch-cli): an earlier try of ours, or
        a moderator in the reward queue, settled it, so we cannot say how. ``failed``: not set.
        """
        try:
            await self.effects.twitch.set_redemption_status(
                guild_id,
                event.broadcaster_user_id,
                str(event.reward_id),
                redemption_key(event),
                status,
            )
        except TwitchRefused as refused:
            if refused.reason in (Refusal.NOT_FOUND, Refusal.INVALID):
                log.info(
                    "guild %s: redemption %s was already settled on Twitch",
                    guild_id,
                    redemption_key(event),
                )
                return "settled"
            log.warning("guild %s: redemption %s: %s", guild_id, redemption_key(event), refused)
            return "failed"
        return "set"

    async def _fulfill(self, guild_id: int, event: RewardRedeemed, settings: VipSettings) -> None:
        await self._set_status(guild_id, event, "FULFILLED")
        viewer_id = str(event.viewer.platform_user_id)

        def finish(conn: Connection) -> tuple[bool, Grant | None]:
            is_first = redemptions_repository.finish_redemption(
                conn, guild_id, event.platform, redemption_key(event)
            )
            return is_first, repository.open_grant(conn, guild_id, event.platform, viewer_id)

        is_first, grant = await self.effects.in_transaction(finish)
        if not is_first:  # a concurrent delivery finished it and told the viewer
            return
        if grant is None:  # finished late (after a restart): the VIP has already ended
            log.info(
                "guild %s: redemption %s finished after its VIP ended",
                guild_id,
                redemption_key(event),
            )
            return
        await self.effects.notify(
            guild_id,
            event.broadcaster_user_id,
            settings,
            texts.granted_notice(event.viewer.username, grant.expires_at if grant else None),
        )

    async def _refund(
        self, guild_id: int, event: RewardRedeemed, settings: VipSettings, reason: str
    ) -> None:
        # Only a cancel Twitch took is a refund we can tell the viewer about.
        is_refunded = await self._set_status(guild_id, event, "CANCELED") == "set"
        notice = texts.refused_notice(event.viewer.username, reason, is_refunded=is_refunded)
        # Chat goes as the streamer: with the connection marked it cannot, so the line is kept
        # (counted for the streamer, said when they connect again) and Discord says why.
        is_told = not await self.effects.is_twitch_marked(guild_id)

        def finish(conn: Connection) -> bool:
            if not redemptions_repository.finish_redemption(
                conn, guild_id, event.platform, redemption_key(event)
            ):
                return False
            if is_refunded:
                entry = refund_entry(
                    guild_id, event, texts.reason_text(reason), self.effects.clock()
                )
                repository.add_audit(conn, entry)
            if not is_told:
                redemptions_repository.keep_untold(
                    conn, guild_id, event.platform, redemption_key(event), notice
                )
            return True

        if not await self.effects.in_transaction(finish):
            return  # a concurrent delivery finished it and told the viewer
        await self.effects.notify(
            guild_id,
            event.broadcaster_user_id,
            settings,
            notice if is_told else texts.untold_notice(notice),
            is_chat=is_told,
        )

    async def _settled_on_twitch(self, guild_id: int, event: RewardRedeemed) -> None:
        """Our record follows a cancel made on Twitch, once however often it arrives, and an
        accept there of a redemption an earlier attempt may have added (``cancels.py``); any
        other fulfilled one was by us, or accepted elsewhere (the add grants as usual)."""
        settle = settle_canceled if event.status == "canceled" else settle_accepted
        outcome = await settle(self.effects, guild_id, event)
        if outcome == WAIT:
            raise RedemptionInFlight(redemption_key(event))  # its update is delivered again
        if outcome is not None:
            log.info("guild %s: VIP redemption %s %s", guild_id, redemption_key(event), outcome)
