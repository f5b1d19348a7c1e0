"""The tier lookup on Helix's Get Broadcaster Subscriptions, against the fake Twitch on
127.0.0.1: a crew of badge-wearers is asked about in batches of 100, the answers recorded with
source ``helix`` (never Prime), non-subscribers remembered, refusals turned into badge hints."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from core.features.connections.twitch.service import TwitchNotConnected
from core.features.sub_tiers.helix_lookup import HelixSubscriptionLookup
from core.features.sub_tiers.records import SubTier, tier_label
from core.features.sub_tiers.service import SubTierService
from core.platforms.twitch.helix import HelixClient
from core.platforms.twitch.oauth_client import TwitchOAuthError
from tests.fakes.twitch_server import CLIENT_ID, FakeTwitch
from tests.platforms.twitch import conftest as fake_twitch
from tests.platforms.twitch.conftest import BROADCASTER_ID
from tests.support.clock import Clock
from tests.support.waiting import RecordingSleep

# The fake Twitch on 127.0.0.1 and its clock, as tests/platforms/twitch has them.
clock, sleep, twitch = fake_twitch.clock, fake_twitch.sleep, fake_twitch.twitch

GUILD = 777
PATH = "/helix/subscriptions"
CREW = [str(50_000 + n) for n in range(250)]
REFRESH_FAILS = "refresh-fails"  # a streamer token whose refresh Twitch does not answer


@pytest.fixture
def streamer_token(twitch: FakeTwitch) -> dict[str, str | None]:
    return {"token": twitch.issue_user_token()}


@pytest.fixture
async def lookup(
    twitch: FakeTwitch, sleep: RecordingSleep, clock: Clock, streamer_token
) -> AsyncIterator[HelixSubscriptionLookup]:
    async def call_as_streamer(guild_id: int, call: Callable[[str], Awaitable[Any]]) -> Any:
        token = streamer_token["token"]
        if guild_id != GUILD or token is None:
            raise TwitchNotConnected
        if token == REFRESH_FAILS:  # the token was due, and Twitch's id server failed its refresh
            raise TwitchOAuthError(503, "Service Unavailable")
        return await call(token)

    port = HelixSubscriptionLookup(
        lambda: HelixClient(
            twitch.helix_url, CLIENT_ID, sleep=sleep, jitter=lambda: 1.0, clock=clock
        ),
        lambda: call_as_streamer,
        lambda guild_id: BROADCASTER_ID,
    )
    yield port
    await port.aclose()


@pytest.fixture
def tiers(sqlite_engine: Engine, clock: Clock, lookup: HelixSubscriptionLookup) -> SubTierService:
    return SubTierService(sqlite_engine, clock, lookup)


def subscribe_every_third(twitch: FakeTwitch) -> dict[str, str]:
    """Every third of the crew subscribed, tiers 1, 2, 3 in turn (Prime looks like tier 1)."""
    tiers = {}
    for n, user_id in enumerate(CREW[::3]):
        tier = ("1000", "2000", "3000")[n % 3]
        twitch.add_subscriber(BROADCASTER_ID, user_id, tier, is_gift=n % 2 == 0)
        tiers[user_id] = tier[0]
    return tiers


async def test_a_crew_of_250_is_looked_up_in_three_calls(
    tiers: SubTierService, twitch: FakeTwitch
) -> None:
    subscribed = subscribe_every_third(twitch)
    tiers.request_lookup(GUILD, "twitch", CREW)
    assert twitch.requests_to(PATH) == []  # queued, not asked yet: the join is not held up

    await tiers.run_lookups()

    calls = twitch.requests_to(PATH, "GET")
    assert [len(call.query["user_id"]) for call in calls] == [100, 100, 50]
    assert all(call.status == 200 for call in calls)
    asked = [user_id for call in calls for user_id in call.query["user_id"]]
    assert sorted(asked) == sorted(CREW)
    found = tiers.tiers_of(GUILD, "twitch", CREW)
    assert {user_id: sub.tier for user_id, sub in found.items()} == subscribed
    assert {(sub.source, sub.is_prime) for sub in found.values()} == {("helix", False)}


async def test_nobody_is_asked_twice(tiers: SubTierService, twitch: FakeTwitch) -> None:
    subscribe_every_third(twitch)
    tiers.request_lookup(GUILD, "twitch", CREW)
    await tiers.run_lookups()
    before = len(twitch.requests_to(PATH))

    # the next join of the same crew: subscribers have a record, the others are remembered
    tiers.request_lookup(GUILD, "twitch", CREW)
    await tiers.run_lookups()
    assert len(twitch.requests_to(PATH)) == before


async def test_viewers_with_a_record_are_not_asked(
    tiers: SubTierService, twitch: FakeTwitch, clock: Clock
) -> None:
    now = clock()
    tiers.record(
        GUILD,
        SubTier("twitch", CREW[0], "2", False, "twitch:gift", now, now.replace(year=now.year + 1)),
    )
    tiers.request_lookup(GUILD, "twitch", CREW[:2])
    await tiers.run_lookups()
    assert [call.query["user_id"] for call in twitch.requests_to(PATH)] == [[CREW[1]]]


async def test_kick_viewers_and_ids_that_are_no_twitch_ids_are_never_looked_up(
    tiers: SubTierService, twitch: FakeTwitch
) -> None:
    tiers.request_lookup(GUILD, "kick", CREW[:5])
    tiers.request_lookup(GUILD, "twitch", ["", "abc", "1" * 65, "١٢٣", "12 3"])
    assert tiers.pending_lookups() == 0
    await tiers.run_lookups()
    assert twitch.requests_to(PATH) == []


async def test_a_token_without_the_scope_leaves_badge_hints(
    tiers: SubTierService, twitch: FakeTwitch, streamer_token
) -> None:
    streamer_token["token"] = twitch.issue_user_token(scopes=["channel:manage:vips"])
    tiers.request_lookup(GUILD, "twitch", {"1": "3012", "2": "2005", "3": "12", "4": "founder?"})
    await tiers.run_lookups()

    assert [call.status for call in twitch.requests_to(PATH)] == [401]
    found = tiers.tiers_of(GUILD, "twitch", ["1", "2", "3", "4"])
    assert {uid: (tier_label(sub), sub.source) for uid, sub in found.items()} == {
        "1": ("3", "badge"),
        "2": ("2", "badge"),
        "3": ("1", "badge"),
    }


async def test_helix_answer_replaces_a_badge_hint(
    tiers: SubTierService, twitch: FakeTwitch, streamer_token, clock: Clock
) -> None:
    streamer_token["token"] = None  # not connected: the badge is all there is
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()
    hint = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert hint is not None
    assert (hint.tier, hint.source) == ("3", "badge")

    streamer_token["token"] = twitch.issue_user_token()
    twitch.add_subscriber(BROADCASTER_ID, CREW[0], "1000")
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()  # after a refusal, the guild waits five minutes
    assert twitch.requests_to(PATH) == []

    clock.advance(300)
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()
    sub = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert sub is not None
    assert (sub.tier, sub.source) == ("1", "helix")


async def test_helix_not_subscribed_ends_a_badge_hint(
    tiers: SubTierService, twitch: FakeTwitch, streamer_token, clock: Clock
) -> None:
    streamer_token["token"] = None  # not connected: the badge is all there is
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()
    hint = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert hint is not None
    assert (hint.tier, hint.source) == ("3", "badge")

    streamer_token["token"] = twitch.issue_user_token()  # connected again, still no subscriber
    clock.advance(300)
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()
    assert [(call.status, call.query["user_id"]) for call in twitch.requests_to(PATH)] == [
        (200, [CREW[0]])
    ]
    assert tiers.tier_of(GUILD, "twitch", CREW[0]) is None  # no Tier 3 for !tier or the heist


async def test_a_lookup_twitch_could_not_answer_is_tried_again(
    tiers: SubTierService, twitch: FakeTwitch, clock: Clock
) -> None:
    twitch.add_subscriber(BROADCASTER_ID, CREW[0], "2000")
    twitch.fail_next(PATH, 503, times=5)  # one call: the first try and 4 retries
    tiers.request_lookup(GUILD, "twitch", [CREW[0]])
    await tiers.run_lookups()
    assert tiers.tier_of(GUILD, "twitch", CREW[0]) is None
    assert tiers.pending_lookups() == 1

    await tiers.run_lookups()  # not again at once: Twitch is given a minute
    assert len(twitch.requests_to(PATH)) == 5
    assert tiers.pending_lookups() == 1

    clock.advance(60)
    await tiers.run_lookups()
    sub = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert sub is not None
    assert sub.tier == "2"


async def test_a_lookup_whose_token_refresh_twitch_did_not_answer_is_tried_again(
    tiers: SubTierService, twitch: FakeTwitch, streamer_token, clock: Clock
) -> None:
    """The streamer's token was due and Twitch's id server failed the refresh: the badge is
    kept as a hint and the viewer asked about again a minute later, not dropped."""
    twitch.add_subscriber(BROADCASTER_ID, CREW[0], "2000")
    streamer_token["token"] = REFRESH_FAILS
    tiers.request_lookup(GUILD, "twitch", {CREW[0]: "3000"})
    await tiers.run_lookups()
    hint = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert hint is not None
    assert (hint.tier, hint.source) == ("3", "badge")
    assert tiers.pending_lookups() == 1

    streamer_token["token"] = twitch.issue_user_token()  # the id server answers again
    clock.advance(60)
    await tiers.run_lookups()
    sub = tiers.tier_of(GUILD, "twitch", CREW[0])
    assert sub is not None
    assert (sub.tier, sub.source) == ("2", "helix")
