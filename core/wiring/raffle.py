"""The raffle: periods, the ticket ledger, verifiable draws; Shuffle wagers polled into tickets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.discord_bot.raffle.outbound import DiscordRaffleAnnouncer
from core.events import Platform, SubscriptionsGifted
from core.features.chat_commands.ports import TicketBalance
from core.features.raffle.beacons.relays import HttpBeacon
from core.features.raffle.service import RaffleService
from core.features.raffle.wagers.service import WagerService

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

ANNOUNCE_EVERY_SECONDS = 15.0


def install(rt: Assembly) -> None:
    settings = rt.settings
    rt.raffle = RaffleService(
        rt.engine,
        settings.raffle,
        rt.clock,
        actor_secret=rt.link_secret,
        beacon=HttpBeacon(settings.raffle.beacon_urls, chain=settings.raffle.beacon_chain),
        announcer=DiscordRaffleAnnouncer(rt.discord),
        # Wagers up to a period's end count in it.
        before_transitions=lambda now: rt.wagers.poll_ending(now),
        on_this_shard=rt.on_discord_shard,
        proof_base_url=settings.web.oauth_base_url,
    )
    rt.wagers = WagerService(
        rt.engine,
        rt.cipher,
        interval_seconds=settings.shuffle.poll_interval_seconds,
        clock=rt.clock,
        allowed_hosts=settings.shuffle.allowed_hosts,
    )
    rt.ticket_balances = RaffleTicketBalances(rt.raffle)
    rt.handle(SubscriptionsGifted, rt.raffle.record_gift)
    rt.scheduler.after_tick("the raffle's timed work", rt.raffle.run_timed_work)
    rt.scheduler.every(
        "raffle draws waiting for the beacon",
        lambda: settings.watchtime.interval_seconds,
        rt.raffle.complete_waiting_draws,
    )
    # Each process posts the announcements of its own Discord shard's guilds, on a rhythm of
    # its own: a slow Discord holds back announcements, never the watchtime tick after which
    # they used to run.
    rt.scheduler.every(
        "raffle announcements",
        lambda: ANNOUNCE_EVERY_SECONDS,
        rt.raffle.announce_pending,
        everywhere=True,
    )
    rt.scheduler.every(
        "Shuffle wager polls",
        lambda: settings.shuffle.poll_interval_seconds,
        lambda: rt.wagers.poll_due(),
    )


class RaffleTicketBalances:
    """Chat's ``!tickets`` reads the raffle's standings; the two features stay unaware of each
    other."""

    def __init__(self, raffle: RaffleService) -> None:
        self.raffle = raffle

    def balance(
        self, guild_id: int, platform: Platform, platform_user_id: str
    ) -> TicketBalance | None:
        standing = self.raffle.views.standing(guild_id, platform, platform_user_id)
        if standing is None:
            return None
        return TicketBalance(standing.tickets, standing.rank, standing.participants)

    def running(self, guild_id: int) -> bool:
        return bool(self.raffle.views.guilds_with_open_period([guild_id]))
