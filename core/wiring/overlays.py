"""On-stream overlays: the service, the alerts it records beside VIP changes and ticket awards
(hooks in the writing transaction), the alerts of gifted subscriptions, follows, subscriptions,
raids, cheers and KICKs (event handlers), and the goal bar those events move (what moved it
forgotten after a month, by the hour)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.events import Cheered, Followed, KicksGifted, Raided, Subscribed, SubscriptionsGifted
from core.features.overlays.service import OverlayService
from core.features.raffle.ports import TICKETS_AWARDED
from core.features.vip.ports import AUDIT_WRITTEN
from core.storage import hooks

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly


def install(rt: Assembly) -> None:
    rt.overlays = OverlayService(
        rt.engine,
        rt.clock,
        rt.cipher,
        rt.public_base_url,
        rt.settings.web.overlay_media_max_bytes,
    )
    hooks.listen(rt.engine, AUDIT_WRITTEN, rt.overlays.alerts.vip_audited)
    hooks.listen(rt.engine, TICKETS_AWARDED, rt.overlays.alerts.tickets_awarded)
    rt.handle(SubscriptionsGifted, rt.overlays.alerts.gifts)
    for event_type in (Followed, Subscribed, Raided, Cheered, KicksGifted):
        rt.handle(event_type, rt.overlays.event_alerts.handle)
    for event_type in (Followed, Subscribed, SubscriptionsGifted):
        rt.handle(event_type, rt.overlays.goal.handle)
    rt.scheduler.every(
        "forgetting old goal moves",
        lambda: 3600.0,
        lambda: asyncio.to_thread(rt.overlays.goal.forget_old_moves),
    )
