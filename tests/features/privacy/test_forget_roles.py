"""A forget queues, in its own transaction, the Discord worker's call that takes back the roles
the bot gave because of what it deletes, in every server where they may be held (the Discord
side of it: tests/discord_bot/linking/test_forget.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Platform
from core.features.linking import calls
from core.features.linking.service import LinkingService
from core.features.person_data import Person, find_person
from core.features.person_forget import forget
from core.features.privacy.finishing import finish_forgets
from core.features.roles.service import RolesService
from core.outbox import store
from tests.support.clock import Clock

ANA = 1001
GUILD, OTHER_GUILD, WATCHED_GUILD = 10, 20, 30


def queued(engine, guild_id: int) -> list[str]:
    with engine.connect() as conn:
        return [call.key for call in store.of_guild(conn, guild_id) if call.kind == calls.FORGOTTEN]


def test_forgetting_one_account_queues_the_member_s_roles_wherever_they_may_hold_them(engine):
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    linking, roles = LinkingService(engine, clock), RolesService(engine, clock)
    for guild, platform, account in (
        (GUILD, Platform.KICK, "k-ana"),
        (OTHER_GUILD, Platform.TWITCH, "t-ana"),
    ):
        linking.link(guild_id=guild, discord_user_id=ANA, platform=platform,
                     platform_user_id=account, username="ana")  # fmt: skip
    roles.record_awards(WATCHED_GUILD, ANA, [555])  # a tier reached where she never linked

    with engine.begin() as conn:
        forget(conn, Person(None, frozenset({("kick", "k-ana")}), {}), clock(), delete=True)

    for guild in (GUILD, OTHER_GUILD, WATCHED_GUILD):
        assert queued(engine, guild) == [f"{calls.FORGOTTEN}:{guild}:{ANA}:{clock().isoformat()}"]
    assert [link.platform for link in linking.links_of(ANA)] == [Platform.TWITCH]


def test_nothing_is_queued_for_someone_the_bot_gave_no_role(engine):
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    with engine.begin() as conn:
        forget(conn, find_person(conn, ANA), clock(), delete=True)
        forget(conn, Person(None, frozenset({("kick", "never-linked")}), {}), clock(), delete=True)

    assert [queued(engine, guild) for guild in (GUILD, OTHER_GUILD, WATCHED_GUILD)] == [[]] * 3


def test_finishing_a_forget_later_queues_nothing_again(engine):
    clock = Clock(datetime(2026, 3, 1, tzinfo=UTC))
    LinkingService(engine, clock).link(
        guild_id=GUILD, discord_user_id=ANA, platform=Platform.KICK,
        platform_user_id="k-ana", username="ana",
    )  # fmt: skip
    with engine.begin() as conn:
        forget(conn, find_person(conn, ANA), clock(), delete=True)
    clock.advance(3600)

    finish_forgets(engine, clock)

    assert len(queued(engine, GUILD)) == 1
