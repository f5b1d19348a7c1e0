"""Temporary VIP earned by a channel event other than a redemption, by the guild's rules: a
subscription of at least the rule's tier, new or renewed (a gifted one earns nothing: its gifter
does, by a gift rule); a gift of at least N subs (the gifter); a cheer of at least N bits; at
least N KICKs. Of a kind's rules the event reaches, the one with the highest bar grants, once.

The bus handler only queues (one outbox row per event and guild, keyed by the event: a second
delivery, or Twitch's other source of the same gift, queues nothing); on Twitch the Helix worker
adds the VIP at Twitch's pace, on Kick the Discord worker gives the server's Kick VIP role to the
viewer's linked member. The grant is kept once by a ``vip_redemptions`` row under the event's
key (written before Twitch is asked; a retry after a stop takes Twitch's "already a VIP", or a
Kick role the member holds, as its own add), and stacking, caps, outside VIPs (a Kick member
holding the role by hand too), expiry, the audit (naming the rule) and the notices are those of
a redemption. Nothing is refunded: a refusal is told and audited.

A grant the worker gave up on (Twitch or Discord did not answer through every attempt) is
queued again by :meth:`RuleGrants.retake_given_up`, every 10 minutes as the missed redemptions
are read, under a key of its own, for a day after it was first queued; the ``vip_redemptions``
row keeps it granted once (one done is not queued again).

One Twitch channel has one VIP badge: a viewer whose VIP another server following the channel
granted (an open grant of its own there) is that server's. Here the event grants nothing, says
nothing (that server's line was said) and records nothing but the event handled, so nothing
here refuses, takes over or removes that VIP.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from core.events import (
    Cheered,
    Event,
    KicksGifted,
    Platform,
    Subscribed,
    SubscriptionsGifted,
    Viewer,
)
from core.features.linking.repository import find_link_by_account
from core.features.vip import (
    channel_lines,
    redemptions_repository,
    repository,
    rules_repository,
    texts,
)
from core.features.vip.decisions import (
    ELSEWHERE,
    Decision,
    Earned,
    decide_extension,
    decide_new_grant,
    is_echo_of_our_add,
    is_held_elsewhere,
    store_outcome,
)
from core.features.vip.effects import VipEffects, log
from core.features.vip.kick_roles import held_for_extension
from core.features.vip.ports import (
    FINAL_ADD_REFUSALS,
    Refusal,
    RoleRefused,
    TwitchBusy,
    TwitchBusyUnchanged,
    TwitchRefused,
)
from core.features.vip.redemptions_repository import ADDING, DONE, IN_FLIGHT
from core.features.vip.removal_calls import HELIX
from core.features.vip.repository import VipSettings
from core.features.vip.rules_repository import BITS, GIFT, KICKS, SUB
from core.outbox import DISCORD, store
from core.outbox.worker import Done, Kind, Outcome, Retry

HELIX_KIND = "vip-rule-grant"  # Twitch: Add VIP, by the twitch-helix worker
KICK_KIND = "vip.kick-rule-grant"  # Kick: the role, by the Discord worker
IN_FLIGHT_RETRY_SECONDS = 5.0
RETAKE_WITHIN = timedelta(days=1)  # how long after it was first queued a grant is retaken
# Twitch tells a sub twice (EventSub and the chat notice) and a gift twice (the gift event and
# the chat notice, one gift_key): a rule counts the EventSub events its scope lets it read.
TWITCH_SOURCES = {SUB: ("channel.subscribe", "channel.subscription.message")}


def earning_of(event: Event) -> tuple[str, int, Viewer, str] | None:
    """(rule kind, amount, who earns, the key it is granted once by) of an event that may earn
    VIP by a rule; None for one that cannot (a gifted sub, an anonymous gift or cheer)."""
    if isinstance(event, Subscribed):
        sources = TWITCH_SOURCES[SUB] if event.platform is Platform.TWITCH else ("",)
        if event.is_gift or event.source_type not in sources:
            return None
        tier = {"2000": 2, "3000": 3}.get(event.tier or "", 1)
        return SUB, tier, event.viewer, event.key
    if isinstance(event, SubscriptionsGifted):
        if event.gifter is None:
            return None
        if event.platform is Platform.TWITCH and event.source_type != "channel.subscription.gift":
            return None
        # A gift key is the gifter's running total of gifts in this channel: the same total in
        # another channel (the server moved to another one) is another gift, granted again.
        key = f"{event.broadcaster_user_id}:{event.gift_key}" if event.gift_key else event.key
        return GIFT, event.count, event.gifter, key
    if isinstance(event, Cheered):
        return None if event.viewer is None else (BITS, event.bits, event.viewer, event.key)
    if isinstance(event, KicksGifted):
        return KICKS, event.amount, event.viewer, event.key
    return None


def _claim_key(kind: str, key: str) -> str:
    """The event's key in ``vip_redemptions`` and the audit (64 characters at most), its rule's
    kind first (``texts.earned_by`` reads it)."""
    text = f"{kind}:{key}"
    return text if len(text) <= 64 else f"{kind}:" + hashlib.sha256(key.encode()).hexdigest()[:48]


class RuleGrants:
    def __init__(self, effects: VipEffects) -> None:
        self.effects = effects

    async def handle(self, guild_id: int, event: Event) -> None:
        """The bus handler for subs, gifts, cheers and KICKs: queue the grant its best rule
        earns, once per event, for the platform's worker."""
        earning = earning_of(event)
        if earning is None:
            return
        kind, amount, viewer, key = earning
        platform = event.platform
        if viewer.platform_user_id is None or amount <= 0:
            return
        if platform is Platform.KICK and self.effects.roles is None:
            return
        now = self.effects.clock()
        claim_key = _claim_key(kind, key)

        def queue(conn: Connection) -> None:
            rule = rules_repository.best_rule(conn, guild_id, platform, kind, amount)
            if rule is None:
                return
            payload = {
                "rule_id": rule.id,
                "platform": platform.value,
                "broadcaster_user_id": event.broadcaster_user_id,
                "viewer_id": viewer.platform_user_id,
                "username": viewer.username,
                "key": claim_key,
                "amount": amount,  # whose other servers' rules it reaches (channel_lines.py)
            }
            service, effect_kind = (
                (HELIX, HELIX_KIND) if platform is Platform.TWITCH else (DISCORD, KICK_KIND)
            )
            effect_key = f"{effect_kind}:{guild_id}:{claim_key}"
            who = viewer.username or viewer.platform_user_id
            made = "a VIP on Twitch" if platform is Platform.TWITCH else "the VIP role (Kick)"
            summary = f"make {who} {made} for {rule.describe()} (VIP rule {rule.id})"
            effect = store.Effect(service, effect_kind, guild_id, effect_key, payload, summary)
            store.enqueue(conn, effect, now)

        await self.effects.in_transaction(queue)

    async def retake_given_up(self) -> int:
        """Queue again, in every guild, the grants queued within :data:`RETAKE_WITHIN` that
        the worker gave up on and that were not granted since; how many."""
        now = self.effects.clock()
        run = uuid.uuid4().hex[:12]

        def retake(conn: Connection) -> int:
            taken = 0
            for service, kind in ((HELIX, HELIX_KIND), (DISCORD, KICK_KIND)):
                for call in store.given_up(conn, service, kind, now - RETAKE_WITHIN):
                    payload = call.payload
                    first = payload.get("first_queued") or call.created_at.isoformat()
                    base = f"{kind}:{call.guild_id}:{payload['key']}"
                    if datetime.fromisoformat(first) < now - RETAKE_WITHIN or store.is_pending(
                        conn, service, base
                    ):
                        continue
                    found = redemptions_repository.find_redemption(
                        conn, call.guild_id, Platform(payload["platform"]), payload["key"]
                    )
                    if found is not None and found[0] == DONE:
                        continue
                    again = {**payload, "first_queued": first}
                    effect = store.Effect(
                        service, kind, call.guild_id, f"{base}:{run}", again, call.summary
                    )
                    taken += store.enqueue(conn, effect, now)
            return taken

        return await self.effects.in_transaction(retake)

    def kinds(self) -> tuple[dict[str, Kind], dict[str, Kind]]:
        """The Helix worker's kind and the Discord worker's."""
        return {HELIX_KIND: Kind(self._make)}, {KICK_KIND: Kind(self._make)}

    async def _make(self, guild_id: int, payload: dict[str, Any]) -> Outcome:
        rule = await self.effects.in_transaction(
            lambda conn: rules_repository.get_rule(conn, guild_id, int(payload["rule_id"]))
        )
        if rule is None:
            return Done("the rule was removed")
        earned = Earned(
            guild_id,
            Platform(payload["platform"]),
            str(payload["broadcaster_user_id"]),
            str(payload["viewer_id"]),
            str(payload["username"]),
            str(payload["key"]),
            rule.hours,
            rule,
            is_redemption=False,
        )
        amount = payload.get("amount")
        try:
            return await self.grant(earned, None if amount is None else int(amount))
        except TwitchBusy as busy:
            return Retry(str(busy), busy.retry_after)

    async def grant(self, earned: Earned, amount: int | None = None) -> Outcome:
        """Grant, extend or refuse, once per event; tell the viewer (one line in the channel's
        chat, however many servers' rules ``amount`` reaches: ``channel_lines.py``) and the
        VIP channel."""
        now = self.effects.clock()
        guild_id, platform, key = earned.guild_id, earned.platform, earned.key
        stored = await self.effects.in_transaction(
            lambda conn: redemptions_repository.claim_redemption(
                conn, guild_id, platform, key, now, now + redemptions_repository.RULE_LEASE
            )
        )
        state = None if stored is None else stored[0]
        if state == IN_FLIGHT:
            return Retry("in flight elsewhere", IN_FLIGHT_RETRY_SECONDS)
        if state not in (None, ADDING):
            return Done("granted before")
        settings = await self.effects.settings(guild_id)
        decision, member = await self.effects.in_transaction(
            lambda conn: self._decide(conn, earned, settings, now, state)
        )
        try:
            if decision.action == "add":
                decision = await self._add(earned, decision, member, settings.kick_role_id, state)
            elif decision.action == "extend" and platform is Platform.KICK:
                decision = await held_for_extension(self.effects, guild_id, decision, settings)
        finally:
            await self.effects.in_transaction(
                lambda conn: redemptions_repository.end_lease(conn, guild_id, platform, key)
            )
        made = decision
        recorded = await self.effects.in_transaction(
            lambda conn: self._record(conn, earned, made, member, settings, now, amount)
        )
        if recorded is None:
            return Done("granted by another delivery")
        decision, is_said = recorded
        if decision.action == ELSEWHERE:  # that server's line was said: no second one
            log.info(
                "guild %s: VIP by %s not granted: %s is a VIP through another server of the "
                "channel",
                guild_id,
                earned.why(),
                earned.viewer_id,
            )
            return Done("granted in another server of this channel")
        await self.effects.notify(
            guild_id,
            earned.broadcaster_user_id,
            settings,
            channel_lines.text_of(earned, decision),
            is_chat=False if is_said else None,  # said in the channel's line of the event
            platform=platform,
            once_per=key,  # Kick's chat hears one line of it however many servers follow it
        )
        return Done(f"{decision.action} by {earned.why()}")

    def _decide(
        self, conn: Connection, earned: Earned, settings: Any, now: datetime, state: str | None
    ) -> tuple[Decision, int | None]:
        """The decision, and (Kick) the linked member the role goes to."""
        member = None
        if earned.platform is Platform.KICK:
            link = find_link_by_account(conn, Platform.KICK, earned.viewer_id)
            if link is None or settings.kick_role_id is None:
                return Decision("refuse", texts.NOT_LINKED), None
            member = link.discord_user_id
        grant = repository.open_grant(conn, earned.guild_id, earned.platform, earned.viewer_id)
        if state == ADDING and is_echo_of_our_add(conn, earned, grant):
            grant = None  # the add resumed below adopts it (store_outcome)
        is_ours = grant is not None and grant.source != repository.OUTSIDE
        if not is_ours and is_held_elsewhere(conn, earned):
            return Decision(ELSEWHERE), member  # even over an outside row: Twitch's echo of it
        if grant is not None and grant.source == repository.OUTSIDE:
            if earned.platform is Platform.TWITCH:
                return Decision("refuse", Refusal.ALREADY_VIP), member
            grant = None  # a Kick role given by hand: Discord says whether it is still held
        if grant is not None:
            return decide_extension(grant, settings, now, earned.hours), member
        if earned.viewer_id == earned.broadcaster_user_id:
            return Decision("refuse", "broadcaster"), member
        new = decide_new_grant(conn, earned.guild_id, earned.platform, settings, now, earned.hours)
        return new, member

    async def _add(
        self,
        earned: Earned,
        decision: Decision,
        member: int | None,
        role_id: int | None,
        state: str | None,
    ) -> Decision:
        """Add the VIP (Twitch) or the role (Kick); a refusal that no retry cures becomes the
        decision. Raises TwitchBusy when Twitch did not answer."""
        if earned.platform is Platform.KICK:
            if self.effects.roles is None or member is None or role_id is None:
                return Decision("refuse", texts.NOT_LINKED)
            try:
                gave = await self.effects.roles.add_role(earned.guild_id, member, role_id)
            except RoleRefused as refused:
                return Decision("refuse", str(refused))
            if not gave and state != ADDING:  # given by hand: never ours to take away
                return Decision("refuse", Refusal.ALREADY_VIP)
            return decision
        if await self.effects.is_twitch_marked(earned.guild_id):
            return Decision("refuse", Refusal.UNAUTHORIZED)
        try:
            await self.effects.add_vip(
                earned.guild_id, earned.broadcaster_user_id, earned.viewer_id
            )
        except TwitchBusyUnchanged:
            if state is None:  # this first try added nothing: so is the next one
                await self.effects.in_transaction(
                    lambda conn: redemptions_repository.release_redemption(
                        conn, earned.guild_id, earned.platform, earned.key
                    )
                )
            raise
        except TwitchRefused as refused:
            if refused.reason == Refusal.ALREADY_VIP and state == ADDING:
                return decision  # our own earlier attempt reached Twitch before a stop
            if refused.reason not in FINAL_ADD_REFUSALS:
                log.warning(
                    "guild %s: VIP by %s refused: %s", earned.guild_id, earned.why(), refused
                )
            return Decision("refuse", refused.reason)
        return decision

    def _record(
        self,
        conn: Connection,
        earned: Earned,
        decision: Decision,
        member: int | None,
        settings: VipSettings,
        now: datetime,
        amount: int | None,
    ) -> tuple[Decision, bool] | None:
        """Store the outcome, mark the event done and settle the channel's chat line of it:
        the decision stored and whether chat was told through that line; None when another
        delivery did. Twitch's "already a VIP" for a VIP another server of the channel granted
        meanwhile is that server's grant: nothing is stored but the event done."""
        channel_lines.lock(conn, earned)  # the servers of the channel one at a time
        if not redemptions_repository.finish_redemption(
            conn, earned.guild_id, earned.platform, earned.key
        ):
            return None
        if decision.reason == Refusal.ALREADY_VIP and is_held_elsewhere(conn, earned):
            decision = Decision(ELSEWHERE)
        if decision.action != ELSEWHERE:
            kick = earned.platform is Platform.KICK
            store_outcome(
                conn,
                earned,
                decision,
                now,
                discord_user_id=member if kick else None,
                role_id=settings.kick_role_id if kick else None,
            )
        kind = earned.rule.kind if earned.rule is not None else ""
        is_said = channel_lines.settle(
            conn, self.effects, earned, decision, settings, kind=kind, amount=amount
        )
        return decision, is_said
