"""Raffle tickets for wagers on Shuffle, read from the streamer's affiliate statistics.

The statistics give each referred player's lifetime total. Per raffle period and Shuffle
account the bot keeps a baseline and the tickets given so far; every poll gives
``tickets_for(total - baseline) - given`` more, so small increments add up exactly and nothing
is lost between polls. The progress row and the ledger row change in one transaction, and the
ledger reference names the cumulative count (``shuffle:<name>:<tickets>``), so a replayed or
concurrent poll cannot award twice.

Wagers are carried across a period's end into the period they were wagered in, as closely as
polls can tell: just before a period closes the bot polls once more
(:meth:`WagerService.poll_ending`), so what was wagered up to its end counts in it; the next
period's baseline is then the last total seen (that poll's), so what is wagered after it counts
in the next one. When that last poll failed, the next period starts from the last total seen
near the end (within ``CARRY_LIMIT``), so the wagers in between count in the next period rather
than nowhere. See ``docs/raffle.md``.

An account that first shows up after the baseline poll counts from the last total the bot saw
for it, or from zero when it never saw one (a new referral). Tickets go to the Kick account
(else the Twitch one) linked to the Discord member who owns the Shuffle account (``!linkshuffle``,
confirmed by an admin's ``!verifyshuffle``: see :mod:`.shuffle_accounts`); until that member
links one, nothing is given and nothing is lost: the next poll catches up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection, Engine

from core.events import utc
from core.features import managed_roles
from core.features.raffle.earning.service import across_a_close, hold
from core.features.raffle.errors import WagerRefused
from core.features.raffle.periods import repository as periods_repository
from core.features.raffle.wagers import repository
from core.features.raffle.wagers.awarding import Award, award_due
from core.features.raffle.wagers.polls import in_lanes
from core.features.raffle.wagers.repository import LinkRequest, ShuffleLink, Total
from core.features.raffle.wagers.rules import (
    backoff_seconds,
    baseline,
    carried_totals,
    check_affiliate_url,
    codes_added,
    no_player_under_codes,
    parse_campaign_codes,
    show_problem,
    totals_under_codes,
)
from core.features.raffle.wagers.shuffle_accounts import Requested, ShuffleAccounts, Verified
from core.platforms.shuffle.api import (
    SHUFFLE_HOSTS,
    ChallengePage,
    RateLimited,
    ShuffleClient,
    ShuffleError,
    ShuffleRefused,
    is_allowed_url,
    mask_url,
)
from core.platforms.shuffle.payloads import WagerRow
from core.security.secrets import MissingSecret, TokenCipher

log = logging.getLogger(__name__)

END_POLL_SECONDS = 15.0  # how long a period's close waits for its last poll
NOT_SHUFFLE_URL = "the stored link is not on a Shuffle host, so it is not fetched; set it again"
TOO_LARGE = "more tickets due at once than the ledger holds (a total past any real wager); left out"
UNREADABLE_URL = "the stored link cannot be decrypted (TOKEN_ENCRYPTION_KEY changed?); set it again"


@dataclass(frozen=True)
class PollResult:
    guild_id: int
    outcome: str  # ok, stale, no_period, rate_limited, challenge, failed, not_configured
    awards: tuple[Award, ...] = ()
    accounts: int = 0  # rows under the guild's codes
    is_baseline: bool = False  # this poll set the period's baseline
    retry_at: datetime | None = None
    problem: str | None = None


@dataclass(frozen=True)
class WagerStatus:
    masked_url: str | None
    campaign_codes: tuple[str, ...]
    verified_role_id: int | None
    interval_seconds: int
    tickets_per_thousand: int
    last_success_at: datetime | None
    last_problem: str | None
    last_problem_at: datetime | None
    next_poll_at: datetime | None
    linked_accounts: int
    requests: tuple[LinkRequest, ...]
    pending_requests: int
    baseline_at: datetime | None  # of the open period; None before its first successful poll
    has_open_period: bool

    @property
    def is_ready(self) -> bool:
        return self.masked_url is not None and bool(self.campaign_codes)


ClientFactory = Callable[[], AbstractAsyncContextManager[ShuffleClient]]


class WagerService:
    def __init__(
        self,
        engine: Engine,
        cipher: TokenCipher,
        *,
        make_client: ClientFactory = ShuffleClient,
        interval_seconds: int = 300,
        clock: Callable[[], datetime],
        tickets_per_thousand: Callable[[int], int] | None = None,
        allowed_hosts: Sequence[str] = SHUFFLE_HOSTS,
        end_poll_seconds: float = END_POLL_SECONDS,
    ) -> None:
        """``tickets_per_thousand(guild_id)`` overrides the rate (for tests: it is called inside
        the poll's transaction, so it must not use the database); by default the rate is the
        guild's raffle setting (tickets per $1,000 wagered, 20 unless changed)."""
        self.engine = engine
        self.cipher = cipher
        self.tickets_per_thousand = tickets_per_thousand
        self.make_client = make_client
        self.interval_seconds = interval_seconds
        self.clock = clock
        self.accounts = ShuffleAccounts(engine, clock)
        self.allowed_hosts = tuple(allowed_hosts)  # the only hosts ever fetched (SSRF guard)
        self.end_poll_seconds = end_poll_seconds

    # --- settings (Manage Server) --------------------------------------------------------------

    def set_affiliate_url(self, guild_id: int, url: str | None) -> str | None:
        """Store the URL encrypted (None forgets it); returns it masked for the reply."""
        if url is not None:
            url = check_affiliate_url(url, self.allowed_hosts)
        stored = None if url is None else self.cipher.encrypt(url)
        with self.engine.begin() as conn:
            # A new URL is worth trying at once, whatever the old one's backoff said.
            repository.update_settings(
                conn,
                guild_id,
                utc(self.clock()),
                affiliate_url=stored,
                next_poll_at=None,
                poll_failures=0,
            )
        return None if url is None else mask_url(url)

    def set_campaign_codes(self, guild_id: int, text: str | None) -> tuple[str, ...]:
        """A code added while a period is open counts from the next poll, as a baseline taken
        mid-period: its players' earlier wagers (a referral's lifetime) are not this period's."""
        codes = () if text is None else parse_campaign_codes(text)
        with self.engine.begin() as conn:
            settings = repository.find_settings(conn, guild_id)
            period = periods_repository.find_open_period(conn, guild_id)
            before = settings.campaign_codes if settings else ()
            if period is not None and codes_added(codes, before):
                repository.forget_baseline(conn, guild_id, period.id)
            repository.update_settings(
                conn, guild_id, utc(self.clock()), campaign_codes=",".join(codes)
            )
        return codes

    def set_verified_role(self, guild_id: int, role_id: int | None) -> None:
        """Verified members get ``role_id``, unless another feature gives and takes it back
        (``managed_roles``); None gives none."""
        with self.engine.begin() as conn:
            if role_id is not None:
                taken = managed_roles.refusal(
                    conn, guild_id, role_id, feature=managed_roles.SHUFFLE
                )
                if taken is not None:
                    raise WagerRefused(taken)
            repository.update_settings(conn, guild_id, utc(self.clock()), verified_role_id=role_id)

    def status(self, guild_id: int) -> WagerStatus:
        with self.engine.connect() as conn:
            rate = self._rate(conn, guild_id)
            settings = repository.find_settings(conn, guild_id)
            period = periods_repository.find_open_period(conn, guild_id)
            baseline_at = (
                None if period is None else repository.find_baseline_at(conn, guild_id, period.id)
            )
            links = len(repository.list_links(conn, guild_id))
            requests = repository.list_requests(conn, guild_id, limit=10)
            pending = repository.count_requests(conn, guild_id)
        masked = None
        if settings is not None and settings.affiliate_url is not None:
            try:
                masked = mask_url(self.cipher.decrypt(settings.affiliate_url))
            except MissingSecret:
                masked = f"({UNREADABLE_URL})"
        return WagerStatus(
            masked_url=masked,
            campaign_codes=settings.campaign_codes if settings else (),
            verified_role_id=settings.verified_role_id if settings else None,
            interval_seconds=self.interval_seconds,
            tickets_per_thousand=rate,
            last_success_at=settings.last_success_at if settings else None,
            last_problem=settings.last_problem if settings else None,
            last_problem_at=settings.last_problem_at if settings else None,
            next_poll_at=settings.next_poll_at if settings else None,
            linked_accounts=links,
            requests=tuple(requests),
            pending_requests=pending,
            baseline_at=baseline_at,
            has_open_period=period is not None,
        )

    # --- account claims (see ShuffleAccounts) -----------------------------------------------

    def request_link(self, guild_id: int, discord_user_id: int, name: str) -> Requested:
        return self.accounts.request_link(guild_id, discord_user_id, name)

    def verify(self, guild_id: int, *, admin_id: int, discord_user_id: int, name: str) -> Verified:
        return self.accounts.verify(
            guild_id, admin_id=admin_id, discord_user_id=discord_user_id, name=name
        )

    def unlink(self, guild_id: int, discord_user_id: int) -> ShuffleLink | None:
        return self.accounts.unlink(guild_id, discord_user_id)

    def verified_role(self, guild_id: int) -> int | None:
        return self.accounts.verified_role(guild_id)

    def link_of(self, guild_id: int, discord_user_id: int) -> ShuffleLink | None:
        return self.accounts.link_of(guild_id, discord_user_id)

    # --- polling -----------------------------------------------------------------------------

    async def poll_due(self, now: datetime | None = None) -> list[PollResult]:
        """Poll every configured guild that is not backing off, a few at a time: a
        guild whose Shuffle hangs holds only its own lane (:func:`.wager_polls.in_lanes`)."""
        now = utc(now or self.clock())
        guild_ids = await asyncio.to_thread(self._guild_ids_due, now)
        return await in_lanes(guild_ids, lambda g: self.poll_guild(g, now), "the Shuffle poll")

    async def poll_ending(self, now: datetime | None = None) -> list[PollResult]:
        """Poll once more every guild whose open period has ended and not been polled since,
        just before the raffle closes it: what was wagered up to the end counts in it. A poll
        still unanswered after ``end_poll_seconds`` is given up, as a failed one is (what was
        wagered since the last poll counts in the next period), so no Shuffle holds the close
        of any period."""
        now = utc(now or self.clock())
        guild_ids = await asyncio.to_thread(self._guild_ids_ending, now)
        what = "the Shuffle poll at the period's end"
        return await in_lanes(
            guild_ids, lambda g: self.poll_guild(g, now), what, within=self.end_poll_seconds
        )

    async def poll_guild(self, guild_id: int, now: datetime | None = None) -> PollResult:
        """Read the statistics once and give the tickets due. A rate limit, a challenge page
        or any other failure changes nothing but the guild's backoff."""
        now = utc(now or self.clock())
        settings = await asyncio.to_thread(self._settings_of, guild_id)
        if settings is None or settings.affiliate_url is None or not settings.campaign_codes:
            return PollResult(guild_id, "not_configured")
        try:
            url = self.cipher.decrypt(settings.affiliate_url)
        except MissingSecret:
            error = ShuffleRefused(None, UNREADABLE_URL)
            return await asyncio.to_thread(self._record_problem, guild_id, error, now)
        if not is_allowed_url(url, self.allowed_hosts):
            # A link stored before the host check (or before the list changed): never fetched.
            error = ShuffleRefused(None, NOT_SHUFFLE_URL)
            return await asyncio.to_thread(self._record_problem, guild_id, error, now)
        try:
            async with self.make_client() as client:
                rows = await client.fetch_wagers(url)
        except ShuffleError as exc:
            return await asyncio.to_thread(self._record_problem, guild_id, exc, now)
        try:
            return await asyncio.to_thread(
                self.apply_rows, guild_id, rows, settings.campaign_codes, now
            )
        except Exception as exc:  # shown in !shuffle status and backed off, not retried blindly
            log.exception("guild %s: the Shuffle statistics read could not be taken", guild_id)
            error = ShuffleError(None, f"the reply could not be taken ({type(exc).__name__})")
            return await asyncio.to_thread(self._record_problem, guild_id, error, now)

    def apply_rows(
        self,
        guild_id: int,
        rows: Sequence[WagerRow],
        campaign_codes: Sequence[str],
        now: datetime,
    ) -> PollResult:
        """Take one successful reply: record totals, set the period's baseline if this is its
        first poll, and give every verified, Kick-linked account the tickets it is due. Done
        again when a close ends the period meanwhile: the next try counts in the next period.
        ``now`` is when Shuffle was read: a reply read before the last one taken (two polls
        overlapped) is stale and changes nothing."""
        totals = totals_under_codes(rows, campaign_codes)
        note = no_player_under_codes(rows, campaign_codes)  # shown, not backed off
        return across_a_close(lambda: self._apply(guild_id, totals, campaign_codes, now, note))

    def _apply(
        self,
        guild_id: int,
        totals: dict[str, Total],
        codes: Sequence[str],
        now: datetime,
        problem: str | None,
    ) -> PollResult:
        with self.engine.begin() as conn:
            if not repository.record_poll_success(conn, guild_id, now):
                # Stale: a poll that read Shuffle later was taken first. Its totals are newer
                # than these, which must neither replace them nor set a period's baseline.
                return PollResult(guild_id, "stale", accounts=len(totals))
            settings = repository.find_settings(conn, guild_id)
            if settings is not None and codes_added(settings.campaign_codes, codes):
                # Read before a code was added: it must not take the baseline its players wait
                # for (they would count from zero at the next poll).
                return PollResult(guild_id, "stale", accounts=len(totals))
            known = repository.load_totals(conn, guild_id)
            repository.save_totals(conn, guild_id, totals, now)
            if problem is not None:
                show_problem(conn, guild_id, problem, now)
            period = periods_repository.find_open_period(conn, guild_id)
            if period is None:
                return PollResult(guild_id, "no_period", accounts=len(totals), problem=problem)
            hold(conn, period)  # progress moved after the close's freeze would be in no period
            is_baseline = repository.claim_baseline(conn, guild_id, period.id, now)
            carried = carried_totals(conn, guild_id, period, known) if is_baseline else {}
            progress = repository.load_progress(conn, guild_id, period.id)
            repository.insert_progress(
                conn,
                guild_id,
                period.id,
                (
                    (key, baseline(key, total, is_baseline, carried, known))
                    for key, total in totals.items()
                    if key not in progress
                ),
                now,
            )
            rate = self._rate(conn, guild_id)
            done = award_due(conn, guild_id, period.id, {**known, **totals}, rate, now)
            if done.too_large:
                problem = f"{', '.join(done.too_large)}: {TOO_LARGE}"
                log.warning("guild %s: Shuffle accounts %s", guild_id, problem)
                show_problem(conn, guild_id, problem, now)
        return PollResult(
            guild_id,
            "ok",
            tuple(done.awards),
            accounts=len(totals),
            is_baseline=is_baseline,
            problem=problem,
        )

    def _record_problem(self, guild_id: int, error: ShuffleError, now: datetime) -> PollResult:
        if isinstance(error, RateLimited):
            outcome = "rate_limited"
        elif isinstance(error, ChallengePage):
            outcome = "challenge"
        else:
            outcome = "failed"
        retry_after = getattr(error, "retry_after", None)
        with self.engine.begin() as conn:
            settings = repository.find_settings(conn, guild_id)
            failures = (settings.poll_failures if settings else 0) + 1
            retry_at = now + timedelta(
                seconds=backoff_seconds(failures, self.interval_seconds, retry_after)
            )
            repository.record_poll_problem(conn, guild_id, now, error.message, retry_at)
        log.warning(
            "guild %s: Shuffle statistics not read (%s); next try at %s",
            guild_id,
            error.message,
            retry_at.isoformat(timespec="seconds"),
        )
        return PollResult(guild_id, outcome, retry_at=retry_at, problem=error.message)

    def _rate(self, conn: Connection, guild_id: int) -> int:
        if self.tickets_per_thousand is not None:
            return self.tickets_per_thousand(guild_id)
        return periods_repository.get_settings(conn, guild_id).wager_thousand_tickets

    def _guild_ids_ending(self, now: datetime) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_guild_ids_ending(conn, now)

    def _guild_ids_due(self, now: datetime) -> list[int]:
        with self.engine.connect() as conn:
            return repository.list_guild_ids_due(conn, now)

    def _settings_of(self, guild_id: int) -> repository.ShuffleSettingsRow | None:
        with self.engine.connect() as conn:
            return repository.find_settings(conn, guild_id)
