"""The heist's service: joining (the stake is taken in the transaction that adds the viewer to
the crew), resolving a heist whose window closed (outcomes and payouts in one transaction, so a
rerun pays nothing twice), cancelling with refunds, settings and stats."""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.heist import answers, history_repository, payments, repository
from core.features.heist.answers import Cancelled, Joined, heist_result
from core.features.heist.payments import SOURCE, SeStake, hold_stake, ledger_ref, pay, se_free
from core.features.heist.ports import HeistResult, ResultLine, SubTier, SubTiers
from core.features.heist.repository import CANCELLED, RESOLVED, Heist, Outcome, Participant
from core.features.heist.rules import (
    RISKS,
    SETTINGS,
    HeistRefused,
    HeistRules,
    checked_settings,
    checked_stake,
    current_tier,
    parse_join,
    payout,
    rules_from,
    setting_name,
)
from core.features.heist.setting_words import setting_words
from core.features.points import repository as points
from core.features.points import se_wallet
from core.features.points.repository import NotEnough, PointsEntry
from core.features.points.se_wallet import SeWallet
from core.features.points.service import NotEnoughPoints, PointsRefused, PointsService

log = logging.getLogger(__name__)
IN_CREW = "You are already in this heist's crew."


class HeistService:
    """``defaults`` are the settings a guild starts with; ``sub_tiers`` None: nobody has a tier;
    ``draw`` is the random source of outcomes (a CSPRNG unless a test passes a seeded one);
    ``wallet`` the StreamElements backend: in a guild that uses it, a join holds the stake there
    (see :meth:`se_stake`) and the outcome is settled through its outbox; ``result_line`` queues
    each result's chat line in the transaction that resolves the heist (None: no line);
    ``held(heist)``: whether an open heist waits for something else to end it (the stream's end)."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        points_service: PointsService,
        defaults: HeistRules,
        sub_tiers: SubTiers | None = None,
        draw: random.Random | None = None,
        wallet: SeWallet | None = None,
        result_line: ResultLine | None = None,
        held: Callable[[Heist], bool] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.points = points_service
        self.defaults = defaults
        self.sub_tiers = sub_tiers
        self.draw = draw if draw is not None else secrets.SystemRandom()
        self.wallet = wallet
        self.result_line = result_line
        self.held = held or (lambda heist: False)

    # --- settings ------------------------------------------------------------------------------

    def rules(self, guild_id: int) -> HeistRules:
        with self.engine.connect() as conn:
            return rules_from(repository.stored_settings(conn, guild_id), self.defaults)

    def set_setting(self, guild_id: int, raw_name: str, raw_value: str) -> tuple[str, str]:
        """Change one setting; its name and how it reads now. Raises HeistRefused."""
        name = setting_name(raw_name)
        rules, refused = self.set_settings(guild_id, {name: raw_value})
        if refused:
            raise HeistRefused(refused[name])
        return name, setting_words(rules, name)

    def set_settings(
        self, guild_id: int, typed: dict[str, str]
    ) -> tuple[HeistRules, dict[str, str]]:
        """Change several settings in one transaction, checked together (min_bet and max_bet
        raised at once); the rules now, and the reason of each refused one (not saved)."""
        with self.engine.begin() as conn:
            stored = repository.stored_settings(conn, guild_id)
            values, refused = checked_settings(stored, typed, self.defaults)
            for name, value in values.items():
                repository.save_setting(conn, guild_id, name, value, self.clock())
        return rules_from({**stored, **values}, self.defaults), refused

    def settings_listing(self, guild_id: int) -> list[tuple[str, str]]:
        """Each setting's name and its value in words (:mod:`setting_words`)."""
        rules = self.rules(guild_id)
        return [(name, setting_words(rules, name)) for name in SETTINGS]

    # --- joining -------------------------------------------------------------------------------

    def join(
        self,
        guild_id: int,
        platform: Platform,
        broadcaster_user_id: str,
        user_id: str,
        username: str,
        arguments: str,
        *,
        has_sub_badge: bool = False,
        badge_version: str | None = None,
        se: SeStake | None = None,
        typed_at: datetime | None = None,
    ) -> Joined:
        """Join (or open) the heist of this guild's chat with the stake ``arguments`` name:
        taken from our ledger, or with ``se`` held on the viewer's StreamElements balance.
        Raises HeistRefused with the reason (a join ``typed_at`` before the last heist ended
        too); then nothing was taken."""
        request = parse_join(arguments)
        rules = self.rules(guild_id)
        currency = self.points.name(guild_id)
        now = self.clock()
        with self.engine.begin() as conn:
            heist = repository.open_heist_of(conn, guild_id, platform, lock=True)
            if typed_at is not None and repository.ended_after(conn, guild_id, platform, typed_at):
                raise HeistRefused(answers.TYPED_BEFORE_THE_END)
            if heist is None:
                if wait := self._rest_left(conn, guild_id, platform, rules, now):
                    raise HeistRefused(answers.lying_low(wait))
            elif heist.closes_at <= now:
                raise HeistRefused("The crew is already on the job; the results come in a moment.")
            elif repository.in_crew(conn, heist.id, user_id):  # before the stake's checks
                raise HeistRefused(IN_CREW)
            if se is None:
                balance = points.balance_of(conn, guild_id, platform, user_id)
            else:
                balance = se_free(conn, guild_id, se)
            stake = checked_stake(request, balance, rules, currency)
            opened = False
            if heist is None:
                closes_at = now + timedelta(seconds=rules.join_window_seconds)
                new_id = repository.open_heist(
                    conn, guild_id, platform, broadcaster_user_id, now, closes_at
                )
                opened = new_id is not None
                heist = repository.heist_by_id(conn, new_id) if new_id is not None else None
                heist = heist or repository.open_heist_of(conn, guild_id, platform, lock=True)
                if heist is None:
                    raise HeistRefused("The heist just ended; try again in a moment.")
            risk = request.risk or rules.default_risk
            odds = (rules.chance(risk), rules.multiplier(risk))  # kept for the draw
            if not repository.add_participant(
                conn, heist, user_id, username, stake, risk, now, has_sub_badge, odds
            ):
                raise HeistRefused(IN_CREW)
            stake_ref = ledger_ref(heist.id, platform, user_id, "stake")
            try:
                if se is None:
                    entry = PointsEntry(guild_id, platform, user_id, stake, SOURCE, stake_ref, now)
                    left = points.spend(conn, entry)
                else:
                    left = hold_stake(conn, guild_id, se, stake, stake_ref, now)
            except (NotEnough, NotEnoughPoints) as short:
                raise HeistRefused(
                    f"You have only {short.balance:,} {currency}; a stake of {stake:,} needs more."
                ) from short
            except PointsRefused as refused:  # StreamElements left since the balance was read
                raise HeistRefused(str(refused)) from None
            if left is None:  # the same stake was taken before: this is a retry
                raise HeistRefused(IN_CREW)
            crew = repository.crew_size(conn, heist.id)
        tier = self._tier_at_join(guild_id, platform, user_id, has_sub_badge, badge_version)
        seconds_left = answers.seconds_between(heist.closes_at, now)
        return Joined(
            heist,
            opened,
            stake,
            risk,
            left,
            crew,
            seconds_left,
            currency,
            tier=tier,
            tier_multiplier_x100=rules.tier_multiplier(tier),
        )

    async def se_stake(
        self, guild_id: int, platform: Platform, user_id: str, login: str
    ) -> SeStake | None:
        """None when this guild keeps its points on our ledger; else the viewer's balance as
        StreamElements says it now (asked before the join's transaction, which holds the
        stake against it). ``login`` is the Twitch chat's; a Kick viewer stakes the points of
        the Twitch account linked to their Discord member. Raises HeistRefused when
        StreamElements cannot say, or the Kick viewer has no Twitch account linked."""
        if self.wallet is None:
            return None
        if not await asyncio.to_thread(self.wallet.uses_streamelements, guild_id):
            return None
        read_at = self.clock()
        try:
            if platform is Platform.KICK:
                login = await asyncio.to_thread(self.wallet.login_of, platform, user_id, login)
            balance = await self.wallet.balance(guild_id, login)
        except PointsRefused as refused:
            raise HeistRefused(str(refused)) from None
        return SeStake(se_wallet.checked_username(login), balance, read_at)

    def rest_left(self, guild_id: int, platform: Platform) -> int:
        """Seconds until this chat's next heist can open (the cooldown); 0: now."""
        rules = self.rules(guild_id)
        with self.engine.connect() as conn:
            return self._rest_left(conn, guild_id, platform, rules, self.clock())

    def _rest_left(self, conn, guild_id: int, platform: Platform, rules: HeistRules, now) -> int:
        last = repository.last_resolved_at(conn, guild_id, platform)
        free_at = now if last is None else last + timedelta(seconds=rules.cooldown_seconds)
        return answers.seconds_between(free_at, now)

    def _tier_at_join(
        self,
        guild_id: int,
        platform: Platform,
        user_id: str,
        has_sub_badge: bool,
        badge_version: str | None,
    ) -> str | None:
        """The joiner's known tier, for the reply (the draw reads it again). A Twitch subscriber
        badge and no known tier: ask for it (returns at once), so the bonus can apply at the
        draw. A failure never fails the join."""
        if self.sub_tiers is None:
            return None
        try:
            sub = self.sub_tiers.tiers_of(guild_id, platform, [user_id]).get(user_id)
            if sub is None and has_sub_badge and platform == Platform.TWITCH:
                self.sub_tiers.request_lookup(guild_id, platform, {user_id: badge_version})
        except Exception:
            log.warning("guild %s: could not ask for %s's tier", guild_id, user_id, exc_info=True)
            return None
        return current_tier(sub, self.clock())

    def status(self, guild_id: int, platform: Platform) -> tuple[Heist, int] | None:
        """The open heist of this chat and its crew size, or None."""
        with self.engine.connect() as conn:
            heist = repository.open_heist_of(conn, guild_id, platform)
            if heist is None:
                return None
            return heist, repository.crew_size(conn, heist.id)

    # --- resolving -----------------------------------------------------------------------------

    def resolve_due(self) -> list[HeistResult]:
        """Resolve every heist whose window has closed (also ones that closed while the bot was
        down); the results of the ones this call resolved. A heist that fails to resolve stays
        open for the next call and holds up no other guild's."""
        with self.engine.connect() as conn:
            due = repository.due_heists(conn, self.clock())
        results, failed = [], []
        for heist_id in due:
            try:
                result = self.resolve(heist_id)
            except Exception as exc:  # that heist stays open and is tried again next time
                log.warning("heist %s not resolved; the others go on", heist_id, exc_info=True)
                failed.append(exc)
                continue
            if result is not None:
                results.append(result)
        if failed and not results:
            raise failed[0]  # nothing resolved: the job's failure is the one to see
        return results

    def resolve(self, heist_id: int) -> HeistResult | None:
        """Draw the outcomes, pay the winners and queue the result's chat line, in one
        transaction; None when the heist is not open any more (resolved or cancelled by someone
        else) or is ``held``."""
        with self.engine.connect() as conn:
            heist = repository.heist_by_id(conn, heist_id)
            before = repository.crew_of(conn, heist_id) if heist is not None else []
        if heist is None or heist.state != repository.OPEN or self.held(heist):
            return None
        rules = self.rules(heist.guild_id)
        tiers = self._tiers(heist, before)
        currency = self.points.name(heist.guild_id)
        now = self.clock()
        with self.engine.begin() as conn:
            if not repository.finish(conn, heist_id, RESOLVED, now):
                return None
            crew = repository.crew_of(conn, heist_id)  # final: no join gets in now
            asked = {member.platform_user_id for member in before}
            joined_since = [m for m in crew if m.platform_user_id not in asked]
            if joined_since:  # another process's join committed after the first read
                tiers = {**tiers, **self._tiers(heist, joined_since)}
            outcomes = [
                self._outcome(member, rules, tiers.get(member.platform_user_id)) for member in crew
            ]
            repository.record_outcomes(conn, outcomes)
            returns = {
                member.platform_user_id: outcome.payout if outcome.won else 0
                for member, outcome in zip(crew, outcomes, strict=True)
            }
            pay(conn, heist, crew, returns, "payout", now)
            resolved = repository.heist_by_id(conn, heist_id)
            crew = repository.crew_of(conn, heist_id)  # with the outcomes just recorded
            result = None if resolved is None else heist_result(resolved, crew, currency)
            if result is not None and self.result_line is not None:
                self.result_line(conn, result)
        return result

    def _tiers(self, heist: Heist, crew: list[Participant]) -> Mapping[str, SubTier]:
        if self.sub_tiers is None or not crew:
            return {}
        try:
            return self.sub_tiers.tiers_of(
                heist.guild_id, heist.platform, [member.platform_user_id for member in crew]
            )
        except Exception:
            # The heist still resolves, without bonuses, rather than keeping stakes forever.
            log.warning(
                "guild %s: tiers unavailable for heist %s", heist.guild_id, heist.id, exc_info=True
            )
            return {}

    def _outcome(self, member: Participant, rules: HeistRules, sub: SubTier | None) -> Outcome:
        risk = member.risk if member.risk in RISKS else "medium"
        # The odds the viewer joined under; a setting changed since counts from the next heist.
        chance = member.chance_percent
        chance = rules.chance(risk) if chance is None else chance
        multiplier = member.risk_multiplier_x100
        multiplier = rules.multiplier(risk) if multiplier is None else multiplier
        tier = current_tier(sub, self.clock())
        bonus = rules.tier_multiplier(tier)
        won = self.draw.random() * 100 < chance
        return Outcome(
            participant_id=member.id,
            tier=tier,
            tier_multiplier_x100=bonus,
            chance_percent=chance,
            risk_multiplier_x100=multiplier,
            won=won,
            payout=payout(member.stake, multiplier, bonus) if won else 0,
        )

    def result_of(self, heist_id: int) -> HeistResult | None:
        with self.engine.connect() as conn:
            heist = repository.heist_by_id(conn, heist_id)
            crew = repository.crew_of(conn, heist_id)
        if heist is None:
            return None
        return heist_result(heist, crew, self.points.name(heist.guild_id))

    def recent_results(self, guild_id: int, limit: int = 10) -> list[HeistResult]:
        """The guild's last ``limit`` resolved heists with their crews, newest first."""
        with self.engine.connect() as conn:
            found = repository.recent_resolved_with_crews(conn, guild_id, limit)
        currency = self.points.name(guild_id)
        results = (heist_result(heist, crew, currency) for heist, crew in found)
        return [result for result in results if result is not None]

    # --- cancelling ----------------------------------------------------------------------------

    def cancel(
        self, guild_id: int, platform: Platform, typed_at: datetime | None = None
    ) -> Cancelled:
        """Cancel the open heist of this chat and give every stake back, once; not one opened
        after the cancel was ``typed_at``."""
        now = self.clock()
        with self.engine.begin() as conn:
            heist = repository.open_heist_of(conn, guild_id, platform, lock=True)
            if heist is not None and typed_at is not None and heist.opened_at > typed_at:
                raise HeistRefused(answers.CANCEL_TYPED_BEFORE)
            if heist is None or not repository.finish(conn, heist.id, CANCELLED, now):
                raise HeistRefused("No heist is under way.")
            return payments.refund_crew(conn, heist, now)

    # --- announcements and reading -------------------------------------------------------------

    def unannounced(self, within: timedelta = timedelta(hours=1)) -> list[int]:
        with self.engine.connect() as conn:
            return repository.unannounced(conn, self.clock() - within)

    def mark_announced(self, heist_id: int) -> None:
        with self.engine.begin() as conn:
            repository.mark_announced(conn, heist_id, self.clock())

    def finished_since(self, guild_id: int, since: datetime) -> list[repository.FinishedHeist]:
        """The guild's heists finished from ``since`` on, oldest first (for charts)."""
        with self.engine.connect() as conn:
            return history_repository.finished_since(conn, guild_id, since)

    def stats(self, guild_id: int) -> repository.HeistStats:
        with self.engine.connect() as conn:
            return history_repository.stats_of(conn, guild_id)
