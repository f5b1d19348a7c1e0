"""From ``make run`` to a configured server in chromium, without one Discord command (issue 27).

StreamKeeper runs as ``make run`` runs it (``python -m core run``, a child process on 127.0.0.1)
with Discord's OAuth, Kick and Twitch as fakes on loopback. The person who ran it opens the
setup link from the log; the bot is invited (no gateway here: the test writes what the bot
records when it joins); the server's owner signs in with Discord, connects Kick and Twitch
through the fakes' consent, picks the channel raffle draws are announced in, starts a raffle
period and creates the VIP reward. Each step checks what the streamer sees; with
SCREENSHOT_DIR=docs/screenshots the steps are written there as walk-*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.config import load_settings
from core.features.directory.repository import Channel, Member, Role, Server
from core.features.directory.service import Snapshot
from core.runtime import Runtime
from tests.conftest import TEST_FERNET_KEY
from tests.fakes import kick_server, twitch_server
from tests.fakes.discord_oauth import ADMINISTRATOR, CLIENT_ID, CLIENT_SECRET
from tests.fakes.kick_server import FakeKick
from tests.fakes.twitch_server import FakeTwitch
from tests.services import free_port
from tests.support.app_process import AppProcess

GUILD = 111111111111111111
OWNER = 900000000000000001
ANNOUNCEMENTS = 333333333333333301
NOBODY = "http://127.0.0.1:9"  # nothing listens: services the walk does not use stay offline


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    with FakeKick() as fake:  # its consenting streamer: the channel "streamer"
        yield fake


@pytest.fixture
def app(tmp_path, discord, kick) -> Iterator[tuple[AppProcess, FakeTwitch, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeTwitch(redirect_uris=[f"{url}/auth/twitch/callback"]) as twitch:
        env = {
            "PORT": str(port),
            "DATA_DIR": str(tmp_path / "data"),
            "OAUTH_BASE_URL": url,
            "FLASK_SECRET_KEY": "walk-test-secret-a-key-of-32-characters-or-more",
            "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
            "DISCORD_CLIENT_ID": CLIENT_ID,
            "DISCORD_CLIENT_SECRET": CLIENT_SECRET,
            "DISCORD_API_BASE_URL": discord.api_base_url,
            "DISCORD_OAUTH_BASE_URL": discord.oauth_base_url,
            "KICK_CLIENT_ID": kick_server.CLIENT_ID,
            "KICK_CLIENT_SECRET": kick_server.CLIENT_SECRET,
            "KICK_API_BASE_URL": kick.url,
            "KICK_OAUTH_BASE_URL": kick.url,
            "KICK_SITE_BASE_URL": kick.url,
            "KICK_WEBHOOK_PUBLIC_KEY": kick.public_key_pem,
            "KICK_PUSHER_ENABLED": "false",
            "TWITCH_CLIENT_ID": twitch_server.CLIENT_ID,
            "TWITCH_CLIENT_SECRET": twitch_server.CLIENT_SECRET,
            "TWITCH_API_BASE_URL": twitch.helix_url,
            "TWITCH_OAUTH_BASE_URL": twitch.oauth_url,
            "TWITCH_EVENTSUB_SECRET": "walk-eventsub-secret-0123456789",
            "RAFFLE_BEACON_URL": NOBODY,
            "STREAMELEMENTS_API_URL": NOBODY,
        }
        process = AppProcess(env, tmp_path)
        try:
            yield process, twitch, env
        finally:
            code = process.stop()
            assert code == 0, process.log()


def _bot_joins(env: dict[str, str]) -> None:
    """What the bot records when it is invited to the server: the server, its roles and
    channels, its members' names (core/discord_bot/directory/)."""
    runtime = Runtime(load_settings(env, env_file=None))
    try:
        runtime.guilds.ensure_guild(GUILD, "Stream Server")
        roles = (Role(GUILD, "@everyone", 0, is_default=True),)
        channels = (
            Channel(ANNOUNCEMENTS, "announcements", "text", 0, can_post=True),
            Channel(ANNOUNCEMENTS + 1, "voice", "voice", 1),
        )
        server = Server(GUILD, "Stream Server", can_manage_roles=True)
        runtime.directory.record_server(Snapshot(server, roles, channels))
        runtime.directory.record_members(GUILD, [Member(OWNER, "bea")])
    finally:
        runtime.close()


def _connect(page: Page, platform: str, channel: str) -> str:
    """Type the channel on the connections page, then the signed link's page and its button,
    the platform's consent (the fake agrees at once) and the callback's answer."""
    page.get_by_label(f"{platform} channel (").fill(channel)  # the label names the field
    page.click(f"#connect-{platform.lower()}")
    expect(page.locator("h1")).to_have_text(f"Connect a {platform} channel")
    page.click(f"text=Continue to {platform}")
    expect(page.locator("h1")).to_have_text(f"{platform} channel connected")
    return page.locator("body").inner_text()


def test_from_make_run_to_a_configured_server(page, app, discord, shot):
    process, twitch, env = app
    setup_url = process.wait_for_setup_url()
    base = setup_url.split("/setup?", 1)[0]
    assert base == env["OAUTH_BASE_URL"]

    # 1. The link from the log opens the setup page once: the apps are set, the bot is not.
    page.goto(setup_url)
    expect(page.locator("h1")).to_have_text("Set up StreamKeeper")
    states = {
        item.locator(".setup-title").inner_text(): item.get_attribute("data-state")
        for item in page.locator(".setup-item").all()
    }
    assert states["Kick app"] == "ok"
    assert states["Twitch app"] == "ok"
    assert states["Discord client id"] == "unchecked"  # checked with the bot token
    assert states["Discord bot token"] == "missing"  # this walk runs without a gateway
    assert f"client_id={CLIENT_ID}" in (page.locator("#invite").get_attribute("href") or "")
    shot(page, "walk-1-setup")

    # 2. The bot is invited; the owner signs in and sees the server by its name.
    _bot_joins(env)
    owner = discord.add_user(OWNER, "bea")
    owner.member_of(GUILD, "Stream Server", ADMINISTRATOR, owner=True)
    discord.sign_in_as(owner)
    page.goto(base + "/")
    page.click("text=Log in with Discord")
    page.click("#approve")
    page.wait_for_url(base + "/dashboard/")
    expect(page.locator("#guild-list a")).to_have_text(["Stream Server"])
    shot(page, "walk-2-servers")

    # 3. Kick and Twitch, connected from the dashboard through the platforms' consent.
    page.click("#guild-list a")
    page.click("nav >> text=Kick & Twitch")
    page.wait_for_url(re.compile(r".*/connections/$"))  # a click does not wait for the page
    connections = page.url
    said = _connect(page, "Kick", "kick.com/streamer")
    assert "StreamKeeper now acts for the Kick channel of streamer" in said
    shot(page, "walk-3-kick-connected")
    page.goto(connections)
    expect(page.locator("#kick-state")).to_have_text("connected as streamer")
    said = _connect(page, "Twitch", "TwitchDev")
    assert "StreamKeeper now acts for the Twitch channel of twitchdev" in said
    page.goto(connections)
    expect(page.locator("#kick-state")).to_have_text("connected as streamer")
    expect(page.locator("#twitch-state")).to_have_text("connected as twitchdev")
    shot(page, "walk-4-connections")

    # 4. The raffle: draws announced in #announcements (picked by name), a period started.
    page.click("nav >> text=Raffle")
    picker = page.locator("select#channel")  # expect() waits for the page; a bare read does not
    expect(picker.locator("option")).to_have_text(["No announcements", "#announcements"])
    picker.select_option(label="#announcements")
    page.click("#save-settings")
    expect(page.locator("p.done")).to_have_text("Saved: Announce draws in.")
    page.click("#start-period")
    expect(page.locator("p.done")).to_have_text(re.compile(r"Raffle period #1 is open until "))
    expect(page.locator("#state")).to_contain_text("Period #1 is open")
    assert page.locator("select#channel option:checked").inner_text() == "#announcements"
    shot(page, "walk-5-raffle")

    # 5. The VIP reward, created on the streamer's Twitch channel.
    page.click("nav >> text=Temporary VIP")
    page.fill("#setup-cost", "500")
    page.click("#create-reward")
    expect(page.locator("main")).to_contain_text(
        "The reward Temporary VIP costs 500 points and gives 24 hour(s) of VIP."
    )
    rewards = list(twitch.rewards.values())
    assert [(r["title"], r["cost"]) for r in rewards] == [("Temporary VIP", 500)]
    shot(page, "walk-6-vip")

    # Nothing of it needed a secret on a page.
    for secret in (CLIENT_SECRET, kick_server.CLIENT_SECRET, twitch_server.CLIENT_SECRET):
        assert secret not in page.content()
    assert Path(env["DATA_DIR"]).is_dir()
