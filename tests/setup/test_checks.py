"""The setup page's checks (core/setup/) against fakes on 127.0.0.1: Discord (bot token and its
application), Kick's and Twitch's client-credentials grants; each state of each check, and no
secret's value in anything the checks say."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest

from core.config import SettingsError, load_settings
from core.features.guilds.invite import invite_url
from core.health import Check, HealthReport
from core.setup.checks import SetupReport, setup_report
from core.setup.items import Item
from tests.fakes import kick_server, twitch_server
from tests.fakes.discord_oauth import (
    BOT_NAME,
    BOT_TOKEN,
    CLIENT_ID,
    CLIENT_SECRET,
    GATEWAY_GUILD_MEMBERS_LIMITED,
    GATEWAY_MESSAGE_CONTENT_LIMITED,
    INTENTS_ON,
    FakeDiscordOAuth,
)
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch

EVENTSUB_SECRET = "eventsub-secret-0123456789"
SECRETS = {
    "DISCORD_TOKEN": BOT_TOKEN,
    "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
    "KICK_CLIENT_SECRET": kick_server.CLIENT_SECRET,
    "TWITCH_CLIENT_SECRET": twitch_server.CLIENT_SECRET,
    "TWITCH_EVENTSUB_SECRET": EVENTSUB_SECRET,
}


@pytest.fixture(scope="module")
def discord() -> Iterator[FakeDiscordOAuth]:
    with FakeDiscordOAuth() as fake:
        yield fake


@pytest.fixture(scope="module")
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:
        yield fake


@pytest.fixture(scope="module")
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch() as fake:
        yield fake


@pytest.fixture(autouse=True)
def _fresh_discord(discord):  # type: ignore[no-untyped-def]
    discord.bot_application_id = CLIENT_ID
    discord.bot_application_flags = INTENTS_ON
    discord.bot_calls = 0


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


@pytest.fixture
def report(discord, kick, twitch):  # type: ignore[no-untyped-def]
    """``report(**settings)``: the checks for everything set and working, with overrides
    (an empty string unsets a setting)."""

    def make(health: HealthReport | None = None, **overrides: str) -> SetupReport:
        values = {
            "OAUTH_BASE_URL": "https://bot.example.org",
            "DISCORD_CLIENT_ID": CLIENT_ID,
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_OAUTH_BASE_URL": "https://discord.com/oauth2",
            "KICK_CLIENT_ID": kick_server.CLIENT_ID,
            "KICK_OAUTH_BASE_URL": kick.url,
            "TWITCH_CLIENT_ID": twitch_server.CLIENT_ID,
            "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
            **SECRETS,
            **overrides,
        }
        settings = load_settings(values, env_file=None)
        return setup_report(settings, health or HealthReport(), invite_url)

    return make


def item(report: SetupReport, title: str) -> Item:
    (found,) = [i for i in report.all_items if i.title == title]
    return found


def test_everything_set_and_working_is_all_ok(report, discord):
    checked = report()
    assert [(i.title, i.state) for i in checked.all_items if not i.ok] == []
    assert checked.ok
    assert discord.bot_calls == 2  # /users/@me and /oauth2/applications/@me, once each
    token = item(checked, "Discord bot token")
    assert token.detail == (
        f"looks valid: Discord knows it as {BOT_NAME} (set, {len(BOT_TOKEN)} characters)"
    )
    assert (
        item(checked, "Twitch EventSub secret").detail == f"set, {len(EVENTSUB_SECRET)} characters"
    )
    assert item(checked, "Discord client secret").redirects == (
        "https://bot.example.org/dashboard/callback",
    )
    assert item(checked, "Kick app").redirects == ("https://bot.example.org/auth/kick/callback",)
    assert item(checked, "Twitch app").redirects == (
        "https://bot.example.org/auth/twitch/callback",
    )
    assert "https://bot.example.org/webhooks/kick" in item(checked, "Public https address").detail


def test_no_secret_value_is_in_anything_the_checks_say(report, discord):
    discord.bot_application_id = "777"  # a wrong client id: the fix text is long too
    for overrides in ({}, {"KICK_CLIENT_ID": "nope", "TWITCH_CLIENT_ID": "nope"}):
        checked = report(**overrides)
        said = repr(checked)
        for name, value in SECRETS.items():
            assert value not in said, name


def test_secrets_a_health_check_echoes_are_blanked(report):
    leaky = HealthReport([Check("database", False, f"login failed for {SECRETS['DISCORD_TOKEN']}")])
    database = item(report(health=leaky), "database")
    assert database.state == "wrong"
    assert database.detail == "login failed for [redacted]"


# --- Discord -------------------------------------------------------------------------------------


def test_a_missing_bot_token_says_where_to_get_one(report, discord):
    checked = report(DISCORD_TOKEN="")
    token = item(checked, "Discord bot token")
    assert token.state == "missing"
    assert "Bot tab" in token.fix
    assert "Reset Token" in token.fix
    assert token.env == ("DISCORD_TOKEN",)
    assert token.where == (
        "Discord developer portal",
        "https://discord.com/developers/applications",
    )
    assert discord.bot_calls == 0
    assert item(checked, "Discord client id").state == "unchecked"  # nothing to compare with


def test_a_refused_bot_token_is_wrong(report):
    checked = report(DISCORD_TOKEN="not.the.right.token")
    token = item(checked, "Discord bot token")
    assert token.state == "wrong"
    assert "Discord refused it (401)" in token.detail
    assert "set, 19 characters" in token.detail
    assert "once the bot token works" in item(checked, "Discord client id").detail


def test_discord_not_answering_leaves_the_token_unchecked(report):
    checked = report(DISCORD_API_BASE_URL=closed_port_url())
    token = item(checked, "Discord bot token")
    assert token.state == "unchecked"
    assert "could not connect" in token.detail
    assert item(checked, "Discord client id").state == "unchecked"


def test_intents_switched_off_in_the_portal_are_wrong_not_a_working_bot(report, discord):
    """The bot asks for Server Members and Message Content: with either off in the Developer
    Portal, Discord refuses its gateway login, so the page must not call the bot fine."""
    discord.bot_application_flags = GATEWAY_GUILD_MEMBERS_LIMITED  # Message Content off
    checked = report()
    intents = item(checked, "Discord privileged intents")
    assert intents.state == "wrong"
    assert "Message Content" in intents.detail
    assert "Server Members" not in intents.detail
    assert "Privileged Gateway Intents" in intents.fix
    assert not checked.ok
    discord.bot_application_flags = 0
    both = item(report(), "Discord privileged intents")
    assert "Server Members" in both.detail
    assert "Message Content" in both.detail


@pytest.mark.parametrize(
    "flags",
    [INTENTS_ON, (1 << 14) | (1 << 18), GATEWAY_MESSAGE_CONTENT_LIMITED | (1 << 14)],
    ids=["limited", "verified bot", "mixed"],
)
def test_intents_switched_on_are_ok(report, discord, flags):
    discord.bot_application_flags = flags
    assert item(report(), "Discord privileged intents").state == "ok"


def test_intents_are_unchecked_while_the_token_does_not_work(report):
    intents = item(report(DISCORD_TOKEN="not.the.right.token"), "Discord privileged intents")
    assert intents.state == "unchecked"
    assert item(report(DISCORD_TOKEN=""), "Discord privileged intents").state == "unchecked"


def test_a_client_id_of_another_application_is_wrong(report, discord):
    discord.bot_application_id = "555555555555555555"
    client_id = item(report(), "Discord client id")
    assert client_id.state == "wrong"
    assert (
        client_id.detail == f"{CLIENT_ID} is not the bot token's application (555555555555555555)"
    )
    assert client_id.fix.startswith("Use 555555555555555555")


def test_a_client_id_that_is_no_id_is_wrong(report):
    assert item(report(DISCORD_CLIENT_ID="my-bot"), "Discord client id").state == "wrong"


def test_a_missing_client_id_names_the_tokens_application(report):
    client_id = item(report(DISCORD_CLIENT_ID=""), "Discord client id")
    assert client_id.state == "missing"
    assert f"The bot token's application is {CLIENT_ID}." in client_id.fix


def test_a_missing_client_secret_says_which_redirect_to_register(report):
    secret = item(report(DISCORD_CLIENT_SECRET="", OAUTH_BASE_URL=""), "Discord client secret")
    assert secret.state == "missing"
    assert secret.redirects == ("http://localhost:8080/dashboard/callback",)
    assert "OAuth2 tab" in secret.fix


def test_a_client_secret_discord_refuses_is_wrong(report):
    """A mistyped or reset secret: every dashboard login fails at Discord's callback, so the
    page must not call it set up."""
    secret = item(
        report(DISCORD_CLIENT_SECRET="an-old-reset-client-secret"), "Discord client secret"
    )
    assert secret.state == "wrong"
    assert "Discord refused" in secret.detail
    assert "Reset Secret" in secret.fix
    assert secret.redirects == ("https://bot.example.org/dashboard/callback",)


def test_a_client_secret_discord_takes_is_ok(report):
    secret = item(report(), "Discord client secret")
    assert secret.state == "ok"
    assert "Discord accepted it" in secret.detail


def test_a_client_secret_is_unchecked_while_discord_does_not_answer(report):
    secret = item(report(DISCORD_API_BASE_URL=closed_port_url()), "Discord client secret")
    assert secret.state == "unchecked"


# --- the invite link -----------------------------------------------------------------------------


def test_the_invite_link_uses_the_client_id(report):
    assert report().invite_url == invite_url(CLIENT_ID)


def test_without_a_client_id_the_invite_link_uses_the_tokens_application(report, discord):
    discord.bot_application_id = "555555555555555555"
    assert report(DISCORD_CLIENT_ID="").invite_url == invite_url("555555555555555555")


def test_a_client_id_of_another_application_does_not_make_the_invite_link(report, discord):
    """The bot that joins is the token's: a link for another application would add a bot that
    never comes online."""
    discord.bot_application_id = "555555555555555555"
    assert report().invite_url == invite_url("555555555555555555")


def test_a_client_id_that_is_no_id_makes_no_invite_link(report):
    assert report(DISCORD_CLIENT_ID="my-bot", DISCORD_TOKEN="").invite_url is None


def test_no_client_id_and_no_working_token_means_no_invite_link(report):
    assert report(DISCORD_CLIENT_ID="", DISCORD_TOKEN="").invite_url is None


# --- the public address --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "state"),
    [("", "missing"), ("http://bot.example.org", "wrong"), ("https://localhost:8443", "wrong")],
)
def test_without_a_public_https_address_the_page_says_what_still_works(report, url, state):
    address = item(report(OAUTH_BASE_URL=url), "Public https address")
    assert address.state == state
    assert "Pusher" in address.detail
    assert "EventSub WebSocket" in address.detail
    assert "Webhooks are off" in address.detail
    assert address.env == ("OAUTH_BASE_URL",)


# --- Kick and Twitch -----------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["Kick", "Twitch"])
def test_a_half_set_app_names_what_is_missing(report, platform):
    prefix = platform.upper()
    app = item(report(**{f"{prefix}_CLIENT_SECRET": ""}), f"{platform} app")
    assert app.state == "missing"
    assert app.detail.startswith(f"{prefix}_CLIENT_SECRET not set")
    assert app.env == (f"{prefix}_CLIENT_ID", f"{prefix}_CLIENT_SECRET")
    assert app.where is not None


@pytest.mark.parametrize("platform", ["Kick", "Twitch"])
def test_a_refused_app_is_wrong(report, platform):
    prefix = platform.upper()
    app = item(report(**{f"{prefix}_CLIENT_SECRET": "a-wrong-secret"}), f"{platform} app")
    assert app.state == "wrong"
    assert f"{platform} refused the client id and secret" in app.detail
    assert "set, 14 characters" in app.detail


def test_kick_failing_leaves_its_app_unchecked(report, kick):
    kick.fail_next("/oauth/token", 503)
    app = item(report(), "Kick app")
    assert app.state == "unchecked"
    assert "answered 503" in app.detail


def test_twitch_unreachable_leaves_its_app_unchecked(report):
    app = item(report(TWITCH_OAUTH_BASE_URL=closed_port_url()), "Twitch app")
    assert app.state == "unchecked"


def test_the_platforms_are_asked_once_each(report, kick, twitch):
    kick_before = len(kick.requests)
    twitch_before = len(twitch.requests)
    report()
    assert [r.path for r in kick.requests[kick_before:]] == ["/oauth/token"]
    assert [r.path for r in twitch.requests[twitch_before:]] == ["/oauth2/token"]


@pytest.mark.parametrize("secret", ["x" * 10, "x" * 100], ids=["10", "100"])
def test_the_eventsub_secret_takes_10_to_100_characters(report, secret):
    assert item(report(TWITCH_EVENTSUB_SECRET=secret), "Twitch EventSub secret").state == "ok"


@pytest.mark.parametrize("secret", ["x" * 9, "x" * 101], ids=["9", "101"])
def test_a_secret_of_another_length_stops_the_start_before_any_page(report, secret):
    """The settings refuse it at start (one plain line, exit 2), so no page ever shows it."""
    with pytest.raises(SettingsError, match="TWITCH_EVENTSUB_SECRET must be 10 to 100"):
        report(TWITCH_EVENTSUB_SECRET=secret)


def test_a_missing_eventsub_secret_says_whether_it_matters(report):
    with_webhooks = item(report(TWITCH_EVENTSUB_SECRET=""), "Twitch EventSub secret")
    assert with_webhooks.state == "missing"
    assert "Twitch webhooks are refused" in with_webhooks.detail
    local = item(report(TWITCH_EVENTSUB_SECRET="", OAUTH_BASE_URL=""), "Twitch EventSub secret")
    assert "EventSub WebSocket" in local.detail


def test_health_checks_are_items_of_their_own(report):
    health = HealthReport([Check("database", True, "sqlite answers"), Check("bus", False, "down")])
    checked = report(health=health)
    assert item(checked, "database") == dataclasses.replace(
        item(checked, "database"), state="ok", detail="sqlite answers"
    )
    assert item(checked, "bus").state == "wrong"
    assert not checked.ok
