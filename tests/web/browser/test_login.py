"""Log in through the fake Discord in chromium; the guild list shows only servers the user may
manage that the bot serves; another server's URL is 403; a POST without the CSRF token is
refused; logging out ends the session."""

from __future__ import annotations

import time

import httpx

from core.platforms.http import tls_context
from tests.fakes.discord_oauth import ADMINISTRATOR, MANAGE_GUILD

MANAGED = 111111111111111111  # Manage Server, bot present
OWNED = 222222222222222222  # owner (no permission bits), bot present
MEMBER_ONLY = 333333333333333333  # bot present, user has only Send Messages
NO_BOT = 444444444444444444  # Administrator, but the bot is not there
STRANGER = 555555555555555555  # bot present, user not a member at all


def _user(site, discord):  # type: ignore[no-untyped-def]
    for guild_id, name in (
        (MANAGED, "Managed"),
        (OWNED, "Owned"),
        (MEMBER_ONLY, "Member only"),
        (STRANGER, "Stranger"),
    ):
        site.runtime.guilds.ensure_guild(guild_id, name)
    user = discord.add_user(900000000000000001, "ana")
    user.member_of(MANAGED, "Managed", MANAGE_GUILD)
    user.member_of(OWNED, "Owned", 0, owner=True)
    user.member_of(MEMBER_ONLY, "Member only", 1 << 11)
    user.member_of(NO_BOT, "No bot", ADMINISTRATOR)
    discord.sign_in_as(user)
    return user


def _log_in(page, site):  # type: ignore[no-untyped-def]
    page.goto(site.url + "/")
    page.click("text=Log in with Discord")
    page.wait_for_selector("#approve")  # the fake Discord's consent page
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")


def test_login_shows_only_manageable_guilds_with_the_bot(page, site, discord, shot):
    _user(site, discord)
    _log_in(page, site)
    shown = page.locator("#guild-list a").all_inner_texts()
    assert shown == ["Managed", "Owned"]
    shot(page, "guilds")
    cookie = next(c for c in page.context.cookies() if c["name"] == "sk_session")
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert cookie["expires"] > 0  # a lasting cookie that expires, not forever

    page.click("text=Managed")
    page.wait_for_url(f"{site.url}/dashboard/{MANAGED}/")
    assert page.locator("h1").inner_text() == "Managed"
    assert page.locator("table.checks td", has_text="database").count() >= 1
    assert "<t:" not in page.locator("main").inner_text()  # Discord markup made plain
    shot(page, "overview")


def test_another_guilds_url_is_403_and_reveals_nothing(page, site, discord):
    _user(site, discord)
    _log_in(page, site)
    bodies = {}
    for guild_id in (MEMBER_ONLY, NO_BOT, STRANGER, 999999999999999999):
        response = page.goto(f"{site.url}/dashboard/{guild_id}/")
        assert response is not None
        assert response.status == 403, guild_id
        bodies[guild_id] = page.locator("main").inner_text()
    assert len(set(bodies.values())) == 1  # the same page whether the guild exists or not


def test_permission_is_rechecked_not_trusted(page, site, discord):
    user = _user(site, discord)
    _log_in(page, site)
    assert page.goto(f"{site.url}/dashboard/{MANAGED}/").status == 200
    # Discord now says the user lost Manage Server; once the cache is forgotten, access ends.
    user.guilds[0]["permissions"] = "0"
    calls = discord.guild_calls
    assert page.goto(f"{site.url}/dashboard/{MANAGED}/").status == 200  # cached for minutes
    assert discord.guild_calls == calls
    site.dashboard.permissions.clock = lambda: time.monotonic() + 181  # the cache has expired
    assert page.goto(f"{site.url}/dashboard/{MANAGED}/").status == 403


def test_post_without_csrf_token_is_refused_and_logout_works(page, site, discord, shot):
    _user(site, discord)
    _log_in(page, site)
    session = next(c for c in page.context.cookies() if c["name"] == "sk_session")
    # A forged form (another site, or a script) carries the cookie but not the token.
    forged = httpx.post(
        f"{site.url}/logout",
        cookies={"sk_session": session["value"]},
        follow_redirects=False,
        verify=tls_context(),
    )
    assert forged.status_code == 403
    assert "did not come from this page" in forged.text
    page.goto(f"{site.url}/dashboard/")
    page.evaluate(
        """() => { const f = document.querySelector('form[action="/logout"]');
                   f.querySelector('input[name=csrf_token]').value = 'wrong'; f.submit(); }"""
    )
    page.wait_for_load_state()
    assert "Form expired" in page.locator("h1").inner_text()
    shot(page, "csrf")
    assert page.goto(f"{site.url}/dashboard/").url == f"{site.url}/dashboard/"  # still in

    page.click("#logout")
    page.wait_for_url(site.url + "/")
    page.goto(f"{site.url}/dashboard/{MANAGED}/")
    assert page.url.startswith(f"{site.url}/?login=needed")


def test_state_is_single_use_and_bound_to_the_browser(page, site, discord, browser):
    _user(site, discord)
    page.goto(site.url + "/login")
    page.wait_for_selector("#approve")
    consent_url = page.url
    # Another browser (no session cookie of ours) finishing this login is refused.
    other = browser.new_context()
    try:
        other_page = other.new_page()
        other_page.goto(consent_url)
        other_page.click("#approve")
        other_page.wait_for_load_state()
        assert "Login not recognised" in other_page.locator("h1").inner_text()
        assert other_page.url.startswith(site.url + "/dashboard/callback")
    finally:
        other.close()
    page.click("#approve")
    page.wait_for_url(site.url + "/dashboard/")
    # Coming back with the same state again (a replayed callback) is refused.
    page.go_back()  # the fake's consent page; approve again: same state, new code
    page.click("#approve")
    page.wait_for_load_state()
    assert "Login not recognised" in page.locator("h1").inner_text()


def test_login_is_rate_limited(site, discord):
    with httpx.Client(base_url=site.url, verify=tls_context()) as client:
        codes = [client.get("/login").status_code for _ in range(12)]
    assert codes[:10] == [302] * 10
    assert codes[10:] == [429, 429]
