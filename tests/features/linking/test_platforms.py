"""Which platforms a guild offers its members to link, on both backends, and the Twitch start
link: signed for the member, the guild and the Twitch viewer purpose."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from core.events import Platform
from core.features.connections.kick.service import PURPOSE_VIEWER
from core.features.connections.twitch.viewer_signin import PURPOSE_TWITCH_VIEWER
from core.features.guilds.service import GuildService
from core.features.linking.platforms import choose, parse_platform
from core.features.linking.service import LinkingService
from core.security.links import LinkInvalid, verify_link_params
from tests.support.clock import Clock

T0 = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
GUILD, OTHER = 111, 222
ALICE = 1
SECRET = "platforms-test-secret"
BOTH = (Platform.KICK, Platform.TWITCH)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def linking(engine, clock) -> LinkingService:  # type: ignore[no-untyped-def]
    return LinkingService(
        engine,
        clock,
        link_secret=SECRET,
        public_base_url="https://bot.example",
        kick_configured=True,
        twitch_configured=True,
    )


@pytest.fixture
def guilds(engine, clock) -> GuildService:  # type: ignore[no-untyped-def]
    return GuildService(engine, clock)


def test_a_guild_following_nothing_yet_offers_every_platform_with_an_app(linking):
    assert linking.platforms_for(GUILD) == BOTH


def test_a_guild_offers_the_platforms_of_the_channels_it_follows(linking, guilds):
    guilds.set_twitch_channel(GUILD, "twitchdev", "141981764")
    guilds.set_kick_channel(OTHER, "kick_streamer", "1001")

    assert linking.platforms_for(GUILD) == (Platform.TWITCH,)
    assert linking.platforms_for(OTHER) == (Platform.KICK,)

    guilds.set_kick_channel(GUILD, "kick_streamer", "1001")
    assert linking.platforms_for(GUILD) == BOTH


def test_a_platform_without_an_app_is_never_offered(linking, guilds):
    linking.twitch_configured = False
    guilds.set_twitch_channel(GUILD, "twitchdev", "141981764")

    assert linking.platforms_for(GUILD) == (Platform.KICK,)
    assert linking.choose_platform(GUILD, "twitch").unavailable == Platform.TWITCH


def test_plain_link_picks_the_only_platform_and_asks_between_two(linking, guilds):
    guilds.set_twitch_channel(GUILD, "twitchdev", "141981764")
    assert linking.choose_platform(GUILD, None).platform == Platform.TWITCH
    # Named, a platform the guild does not follow can still be linked: links are the member's.
    assert linking.choose_platform(GUILD, "kick").platform == Platform.KICK

    asked = linking.choose_platform(OTHER, "  ")
    assert (asked.platform, asked.offered) == (None, BOTH)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("kick", Platform.KICK), (" TWITCH ", Platform.TWITCH), ("Twitch", Platform.TWITCH)],
)
def test_the_platform_is_read_in_any_case(typed, expected):
    assert parse_platform(typed) == expected


@pytest.mark.parametrize("typed", ["twich", "youtube", "kick twitch", "", "x" * 500])
def test_anything_else_is_unknown_and_kept_short(typed):
    assert parse_platform(typed) is None
    choice = choose(typed, BOTH, BOTH)
    assert choice.platform is None
    if typed.strip():
        assert choice.unknown == typed.strip()[:32]


def test_the_twitch_start_link_is_signed_for_the_member_guild_and_twitch(linking, clock):
    link = linking.start_link(GUILD, ALICE, Platform.TWITCH)

    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "bot.example", "/auth/twitch")
    params = dict(parse_qsl(parts.query))
    claims = verify_link_params(SECRET, PURPOSE_TWITCH_VIEWER, params, clock())
    assert (claims.discord_user_id, claims.guild_id) == (ALICE, GUILD)
    with pytest.raises(LinkInvalid):
        verify_link_params(SECRET, PURPOSE_VIEWER, params, clock())  # not a Kick link
    with pytest.raises(LinkInvalid):
        verify_link_params(SECRET, PURPOSE_TWITCH_VIEWER, {**params, "guild": str(OTHER)}, clock())


def test_links_of_lists_both_platforms_kick_first(linking):
    for platform, account in ((Platform.TWITCH, "t1"), (Platform.KICK, "k1")):
        linking.link(
            guild_id=GUILD,
            discord_user_id=ALICE,
            platform=platform,
            platform_user_id=account,
            username=account,
        )

    assert [link.platform for link in linking.links_of(ALICE)] == list(BOTH)
