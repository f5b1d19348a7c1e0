"""Issue 15: a VIP granted by a redemption through the fake Twitch appears on the open VIP page
without a reload.

One real Runtime (SQLite, the production waitress server on 127.0.0.1, the live hub on the
``live_changes`` table) with a fake Twitch and a fake Discord: the streamer connects Twitch
through the signed link and the fake's consent, the reward is set up, the admin opens the VIP
page in chromium, and a viewer's redemption arrives as a signed EventSub webhook; the bot's side
handles it (what the pipeline does), the VIP is granted on Twitch, and the list on the page
shows the viewer while the page was never reloaded.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from core.platforms.http import tls_context
from core.runtime import Runtime
from core.web.dashboard.aio import coroutine_runner
from tests.discord_bot.test_done_when_issue_13 import BROADCASTER, REDEEM, redemption_fields
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET, MANAGE_GUILD
from tests.fakes.twitch_eventsub import EventSubSender
from tests.fakes.twitch_runtime import EVENTSUB_SECRET, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.services import free_port
from tests.support.clock import Clock
from tests.support.delivery import deliver_queued
from tests.web.browser.test_login import _log_in

GUILD = 111111111111111111
ADMIN = 900000000000000001
ANN = "5001"


@contextmanager
def served_on_fake_twitch(  # type: ignore[no-untyped-def]
    tmp_path, discord, clock: Clock, **settings: str
) -> Iterator[tuple[Runtime, FakeTwitch, str]]:
    """A Runtime on a fake Twitch (where ann is a user) and the fake Discord, its web side
    served by the production server on 127.0.0.1; ``settings`` added to its own."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with FakeTwitch(redirect_uris=[f"{url}/auth/twitch/callback"], clock=clock) as twitch:
        twitch.add_user(ANN, "ann")
        runtime = runtime_on_fake_twitch(
            twitch,
            tmp_path / "data",
            clock,
            PORT=str(port),
            OAUTH_BASE_URL=url,
            DISCORD_CLIENT_ID=CLIENT_ID,
            DISCORD_CLIENT_SECRET=CLIENT_SECRET,
            DISCORD_API_BASE_URL=discord.api_base_url,
            DISCORD_OAUTH_BASE_URL=discord.oauth_base_url,
            **settings,
        )
        server = runtime.start_web_server()
        try:
            yield runtime, twitch, server.url
        finally:
            server.close()
            runtime.live.close()
            runtime.close()


@pytest.fixture
def live_site(tmp_path, discord) -> Iterator[tuple[Runtime, FakeTwitch, str]]:  # type: ignore[no-untyped-def]
    # Real time: webhook timestamps must be fresh.
    with served_on_fake_twitch(tmp_path, discord, Clock()) as site:
        yield site


def _connect_twitch(runtime: Runtime, run, url: str) -> None:  # type: ignore[no-untyped-def]
    """``!twitch setup twitchdev`` and the streamer's consent at the fake Twitch."""
    result = run(runtime.twitch_setup.setup(GUILD, ADMIN, "twitchdev"))
    link = urlsplit(result.connect_link)
    link_url = f"{url}{link.path}?{link.query}"
    with httpx.Client(trust_env=False, timeout=10, verify=tls_context()) as browser:
        opened = browser.get(link_url)
        assert opened.status_code == 200, opened.text
        started = browser.post(link_url)
        assert started.status_code == 303, started.text
        consent = browser.get(started.headers["location"])
        assert consent.status_code == 302
        answer = browser.get(consent.headers["location"])
        assert answer.status_code == 200, answer.text
    assert runtime.twitch_connections.status(GUILD).is_connected


async def _handle_queued(runtime: Runtime) -> None:
    """What the bot's pipeline does with what the web side queued."""
    await deliver_queued(runtime)


def test_a_redeemed_vip_appears_on_the_open_page_without_reload(page, live_site, discord, shot):  # type: ignore[no-untyped-def]
    runtime, twitch, url = live_site
    run = coroutine_runner()  # one loop for the features' clients, as a process has
    runtime.guilds.ensure_guild(GUILD, "Managed")
    user = discord.add_user(ADMIN, "ana").member_of(GUILD, "Managed", MANAGE_GUILD)
    discord.sign_in_as(user)
    _connect_twitch(runtime, run, url)
    run(runtime.vip.setup(GUILD, ADMIN, "VIP for a day", 500, 24))
    [reward_id] = twitch.rewards

    class Site:  # what _log_in needs
        pass

    site = Site()
    site.url = url  # type: ignore[attr-defined]
    _log_in(page, site)
    page.goto(f"{url}/dashboard/{GUILD}/vip/")
    assert "Nobody is a temporary VIP" in page.locator("#vip-list").inner_text()
    page.wait_for_function(
        "() => document.getElementById('vip-live-state').textContent === 'Updates live.'"
    )
    page.evaluate("window.notReloaded = true")

    # Ann redeems on Twitch: the signed webhook reaches the web side, the bot side grants.
    redemption_id = twitch.add_redemption(reward_id, ANN)
    sender = EventSubSender.http(url, runtime.clock, secret=EVENTSUB_SECRET)
    status, answer = sender.notify(REDEEM, BROADCASTER, **redemption_fields(twitch, redemption_id))
    assert (status, answer["status"]) == (200, "queued"), answer
    run(_handle_queued(runtime))
    assert twitch.channels[BROADCASTER].vips == [ANN]

    page.wait_for_selector("#vip-list tr[data-user]", timeout=10_000)
    row = page.locator("#vip-list tr[data-user]").inner_text()
    assert "Ann" in row
    assert "redemption" in row
    assert page.evaluate("window.notReloaded") is True  # the same page, never reloaded
    page.wait_for_function(
        "() => document.querySelector('#vip-list time.countdown').textContent.startsWith('in ')"
    )
    assert "granted" in page.locator("#vip-log").inner_text()  # the log followed too
    shot(page, "dashboard-vip")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing wider than it
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "dashboard-vip-phone")
