"""Kick has channel-point rewards but no VIP: a Kick reward (matched by its title) gives the
viewer's linked Discord member a temporary role, with the same expiry, stacking, cap, audit log
and notices. Nothing is refunded (Kick has no refund): a refusal is told in chat.

Kick's redemption events are keyed ``<redemption id>:<status>``; only a ``pending`` one (a new
redemption) counts, once, by the same ``vip_redemptions`` row as Twitch's, stored in the same
transaction as the grant. Adding a role is idempotent, so a retry after Discord was away
simply adds it again (a role it finds held then is taken as its earlier try's). A member who
already held the role before (a moderator gave it by hand) is refused as Twitch's "already a
VIP" is: tracked as an outside VIP, never removed; their next redemption finds whether they
still hold it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from core.events import Platform, RewardRedeemed
from core.features import managed_roles
from core.features.linking.repository import find_link_by_account
from core.features.vip import redemptions_repository, repository, rules_repository, texts
from core.features.vip.decisions import (
    Decision,
    Earned,
    decide_extension,
    decide_new_grant,
    store_outcome,
)
from core.features.vip.discord_calls import queue_kick_redemption
from core.features.vip.effects import VipEffects
from core.features.vip.limits import VipRefused
from core.features.vip.ports import Refusal, RoleRefused
from core.features.vip.redemptions_repository import ADDING, DONE
from core.features.vip.repository import VipSettings

NOT_LINKED = texts.NOT_LINKED


class KickRoleRedemptions:
    def __init__(self, effects: VipEffects) -> None:
        self.effects = effects

    async def handle(self, guild_id: int, event: RewardRedeemed) -> None:
        """The bus handler: queue a new redemption of the guild's Kick reward for the Discord
        worker, which gives the role (:meth:`process`)."""
        if event.platform is not Platform.KICK or event.status != "pending":
            return
        if self.effects.roles is None:
            return
        now = self.effects.clock()

        def queue(conn: Connection) -> None:
            settings = repository.get_settings(conn, guild_id)
            if rules_repository.earning_reward(conn, guild_id, settings, event) is not None:
                queue_kick_redemption(conn, guild_id, event, now)

        await self.effects.in_transaction(queue)

    async def process(self, guild_id: int, event: RewardRedeemed) -> None:
        """Give (or extend) the role, or refuse, and tell; once per redemption."""
        if self.effects.roles is None:
            return
        settings = await self.effects.settings(guild_id)
        earning = await self.effects.in_transaction(
            lambda conn: rules_repository.earning_reward(conn, guild_id, settings, event)
        )
        if earning is None or settings.kick_role_id is None:
            return
        viewer_id = event.viewer.platform_user_id or event.viewer.username
        earned = Earned.of_redemption(guild_id, event, viewer_id, *earning)
        earned = replace(earned, key=event.event_id)  # Kick's redemption is keyed by its event
        now = self.effects.clock()
        # No lease (it ends at once): giving a role twice is harmless, and the grant is
        # stored by whichever delivery finishes the redemption first.
        stored = await self.effects.in_transaction(
            lambda conn: redemptions_repository.claim_redemption(
                conn, guild_id, event.platform, event.event_id, now, now
            )
        )
        if stored is not None and stored[0] == DONE:
            return
        # Handled before without finishing (Discord away, a stop): its role may be ours.
        is_resumed = stored is not None and stored[0] == ADDING
        decision, discord_user_id = await self.effects.in_transaction(
            lambda conn: self._decide(conn, guild_id, event, settings, earned.hours, now)
        )
        if decision.action == "extend":
            decision = await held_for_extension(self.effects, guild_id, decision, settings)
        elif decision.action == "add" and discord_user_id is not None:
            try:
                gave = await self.effects.roles.add_role(
                    guild_id, discord_user_id, settings.kick_role_id
                )
            except RoleRefused as refused:
                decision = Decision("refuse", str(refused))
            else:
                if not gave and not is_resumed:  # given by hand: never ours to take away
                    decision = Decision("refuse", Refusal.ALREADY_VIP)
        is_new = await self.effects.in_transaction(
            lambda conn: self._record(conn, guild_id, earned, settings, decision, discord_user_id)
        )
        if not is_new:
            return
        if decision.action == "refuse":
            text = texts.refused_notice(event.viewer.username, decision.reason, is_refunded=False)
            is_chat: bool | None = True
        else:
            text = texts.granted_notice(event.viewer.username, decision.expires_at).replace(
                "is a VIP", "has the VIP role"
            )
            is_chat = None
        await self.effects.notify(
            guild_id,
            event.broadcaster_user_id,
            settings,
            text,
            is_chat=is_chat,
            platform=Platform.KICK,
            once_per=event.event_id,  # every server following the channel has this redemption
            is_grant=decision.action != "refuse",
        )

    def _decide(
        self,
        conn: Connection,
        guild_id: int,
        event: RewardRedeemed,
        settings: VipSettings,
        hours: int,
        now: datetime,
    ) -> tuple[Decision, int | None]:
        viewer_id = event.viewer.platform_user_id
        link = find_link_by_account(conn, Platform.KICK, viewer_id) if viewer_id else None
        if viewer_id is None or link is None:
            return Decision("refuse", NOT_LINKED), None
        grant = repository.open_grant(conn, guild_id, Platform.KICK, viewer_id)
        if grant is not None and grant.source != repository.OUTSIDE:
            return decide_extension(grant, settings, now, hours), link.discord_user_id
        # None yet, or a role given by hand (outside): Discord says whether it is still held.
        decision = decide_new_grant(conn, guild_id, Platform.KICK, settings, now, hours)
        return decision, link.discord_user_id

    def _record(
        self,
        conn: Connection,
        guild_id: int,
        earned: Earned,
        settings: VipSettings,
        decision: Decision,
        discord_user_id: int | None,
    ) -> bool:
        """Store the outcome and mark the redemption done; False when a concurrent delivery
        did it first (the transaction then changes nothing)."""
        if not redemptions_repository.finish_redemption(
            conn, guild_id, earned.platform, earned.key
        ):
            return False
        now = self.effects.clock()
        role_id = settings.kick_role_id if discord_user_id is not None else None
        store_outcome(conn, earned, decision, now, discord_user_id=discord_user_id, role_id=role_id)
        return True


async def held_for_extension(
    effects: VipEffects, guild_id: int, decision: Decision, settings: VipSettings
) -> Decision:
    """A Kick grant to extend: its member must still hold its role, given again when it was
    taken by hand (adding a held role changes nothing); refused with why when Discord cannot
    give it (the member left the server, the role was deleted or is above the bot's), rather
    than told "has the VIP role" with no role. Raises DiscordUnavailable (NotReady) while
    Discord is away: the worker tries again."""
    grant = decision.grant
    role_id = (grant.role_id if grant else None) or settings.kick_role_id
    if effects.roles is None or grant is None or grant.discord_user_id is None or not role_id:
        return decision
    try:
        await effects.roles.add_role(guild_id, grant.discord_user_id, role_id)
    except RoleRefused as refused:
        return Decision("refuse", str(refused))
    return decision


def save_kick_reward(
    conn: Connection, guild_id: int, changes: dict[str, Any], now: datetime
) -> None:
    """Save the Kick reward's title and role (``kick_role_id`` in ``changes``); refused when
    another feature gives and takes that role back (``managed_roles``)."""
    role_id = changes["kick_role_id"]
    if role_id is not None:
        taken = managed_roles.refusal(conn, guild_id, role_id, feature=managed_roles.KICK_VIP)
        if taken is not None:
            raise VipRefused(taken)
    repository.save_settings(conn, guild_id, changes, now)
