"""The Twitch sign-in pages against the fake Twitch over loopback, on SQLite and PostgreSQL: the
button starts, one sign-in per link, bound to the browser, only the broadcaster connects, and
every failure is a plain page with its status (502 Twitch, 503 database, 403 wrong account)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from core.features.connections.twitch.signin import PURPOSE_TWITCH_STREAMER
from core.platforms.http import tls_context
from core.runtime import Runtime
from core.security.links import new_claims, signed_link
from tests.fakes.twitch_runtime import BOT_URL, REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock
from tests.web.test_oauth import take_database_down

GUILD = 4242
ADMIN = 777
BROADCASTER = "141981764"
OTHER_USER = "999000111"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock):
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(OTHER_USER, "someone_else")
        yield fake


@pytest.fixture
def runtime(tmp_path, twitch, clock, migrated_database_url):
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    runtime.guilds.set_twitch_channel(GUILD, "twitchdev", BROADCASTER)
    yield runtime
    try:
        runtime.close()
    except Exception:  # the database may have been taken down on purpose
        runtime.engine.dispose()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def start_link(runtime: Runtime) -> str:
    claims = new_claims(PURPOSE_TWITCH_STREAMER, ADMIN, GUILD, runtime.clock())
    link = signed_link(BOT_URL, "/auth/twitch/streamer", runtime.link_secret, claims)
    return local(link)


def start(web, link: str) -> str:  # type: ignore[no-untyped-def]
    opened = web.get(link)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(link)
    assert started.status_code == 303, started.get_data(as_text=True)
    return started.headers["Location"]


def consent(consent_url: str) -> str:
    answer = httpx.get(consent_url, follow_redirects=False, verify=tls_context())
    assert answer.status_code == 302
    callback = answer.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    return local(callback)


def text(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.get_data(as_text=True)


def test_a_streamer_connects_in_one_browser(runtime):
    web = runtime.create_web_app().test_client()
    link = start_link(runtime)
    opened = web.get(link)
    assert "Sign in on Twitch as twitchdev" in text(opened)
    assert opened.headers["Cache-Control"] == "no-store"

    answer = web.get(consent(start(web, link)))

    assert answer.status_code == 200, text(answer)
    assert "Twitch channel connected" in text(answer)
    assert runtime.twitch_connections.status(GUILD).is_connected


def test_opening_changes_nothing_and_the_button_works_once(runtime):
    web = runtime.create_web_app().test_client()
    link = start_link(runtime)
    web.get(link)
    web.get(link)
    start(web, link)

    again = web.post(link)

    assert again.status_code == 410
    assert "already used" in text(again)


def test_a_callback_in_another_browser_is_refused(runtime):
    callback = consent(start(runtime.create_web_app().test_client(), start_link(runtime)))
    other = runtime.create_web_app().test_client()
    other.get(start_link(runtime))  # a cookie of its own

    answer = other.get(callback)

    assert answer.status_code == 403
    assert "started in another browser" in text(answer)
    assert not runtime.twitch_connections.status(GUILD).is_connected


def test_another_account_is_a_403_page(runtime, twitch):
    twitch.consenting_user_id = OTHER_USER
    web = runtime.create_web_app().test_client()

    answer = web.get(consent(start(web, start_link(runtime))))

    assert answer.status_code == 403
    assert "only its owner can connect it" in text(answer)
    assert runtime.twitch_connections.status(GUILD).username is None


def test_twitch_failing_the_exchange_is_a_502_page(runtime, twitch):
    web = runtime.create_web_app().test_client()
    callback = consent(start(web, start_link(runtime)))
    twitch.fail_next("/oauth2/token", 503, times=10)

    answer = web.get(callback)

    assert answer.status_code == 502
    assert "Twitch did not answer properly" in text(answer)


def test_a_declined_consent_connects_nothing(runtime, twitch):
    twitch.deny_next_consent()
    web = runtime.create_web_app().test_client()

    answer = web.get(consent(start(web, start_link(runtime))))

    assert answer.status_code == 400
    assert "You declined on Twitch" in text(answer)


def test_a_callback_without_a_state_is_a_400_page(runtime):
    answer = runtime.create_web_app().test_client().get("/auth/twitch/callback?code=x")
    assert answer.status_code == 400


def test_an_unreachable_database_at_the_callback_is_a_503_page(
    request, runtime, migrated_database_url
):
    web = runtime.create_web_app().test_client()
    callback = consent(start(web, start_link(runtime)))
    postgres_url = None
    if not migrated_database_url.startswith("sqlite"):
        postgres_url = request.getfixturevalue("postgres_url")
    take_database_down(runtime, migrated_database_url, postgres_url)

    answer = web.get(callback)

    assert answer.status_code == 503
    assert "database is unreachable" in text(answer)


@pytest.mark.parametrize(
    "query",
    ["state=nonsense&code=x", "state=" + "x" * 5000, "state=%00%ff&error=access_denied"],
)
def test_a_made_up_callback_is_a_400_page(runtime, query):
    answer = runtime.create_web_app().test_client().get(f"/auth/twitch/callback?{query}")
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_start_link_is_a_403_page(runtime, method):
    link = start_link(runtime).replace(f"guild={GUILD}", "guild=1")
    answer = getattr(runtime.create_web_app().test_client(), method)(link)
    assert answer.status_code == 403
    assert "not valid" in text(answer)


def test_the_callback_page_names_a_scope_that_was_not_granted(runtime):
    web = runtime.create_web_app().test_client()
    consent_url = (
        start(web, start_link(runtime)).replace("+user%3Abot", "").replace("%20user%3Abot", "")
    )

    answer = web.get(consent(consent_url))

    assert answer.status_code == 200
    assert "Some permissions were not granted (user:bot)" in text(answer)


@pytest.mark.parametrize("path", ["/auth/twitch/callback", "/auth/kick/callback"])
def test_a_state_with_a_nul_is_a_400_page_on_both_callbacks(runtime, path):
    answer = runtime.create_web_app().test_client().get(f"{path}?state=ab%00cd&code=x")
    assert answer.status_code == 400
