"""Account links: the signed start links, and what follows a link attempt on Discord."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.discord_bot.linking.outbound import DiscordLinks
from core.events import AccountLinked, AccountLinkFailed, AccountUnlinked
from core.features.linking.effects import LinkEffects
from core.features.linking.queued import QueuedLinkEffects
from core.features.linking.service import LinkingService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    kick = rt.settings.kick
    twitch = rt.settings.twitch
    rt.linking = LinkingService(
        rt.engine,
        rt.clock,
        link_secret=rt.link_secret,
        public_base_url=rt.public_base_url,
        kick_configured=bool(kick.client_id and kick.client_secret),
        twitch_configured=bool(twitch.client_id and twitch.client_secret),
        link_lifetime=rt.link_lifetime,
    )
    # The DM, the linked role and the link log; watchtime roles follow a link (and an unlink)
    # at once through the role sync.
    rt.link_effects = LinkEffects(rt.linking, DiscordLinks(rt.discord), role_sync=rt.role_sync)
    # The handlers queue them for the Discord worker (an unlink from the dashboard's /me too).
    queued = QueuedLinkEffects(rt.engine, rt.clock, rt.link_effects)
    rt.discord_calls.kinds.update(queued.kinds())
    for event_type in (AccountLinked, AccountLinkFailed, AccountUnlinked):
        rt.handle(event_type, queued.queue)
