"""A viewer links their Twitch account: the start link from ``!link twitch``, the fake Twitch's
consent over loopback HTTP and the callback, on SQLite and PostgreSQL. The identity comes from
the token (``/validate``), no scope is asked for, the token is revoked, and every refusal is a
plain page with its status, a guild event for the bot and a row in the link history."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from core.events import AccountLinked, AccountLinkFailed, Event, Platform, event_from_dict
from core.features.linking.service import (
    ALREADY_LINKED,
    DECLINED,
    LINK_EXPIRED,
    TWITCH_ERROR,
)
from core.platforms.http import tls_context
from core.runtime import Runtime
from core.security.links import LINK_LIFETIME
from core.storage.tables import bus_events
from tests.fakes.twitch_runtime import REDIRECT_URI, runtime_on_fake_twitch
from tests.fakes.twitch_server import FakeTwitch
from tests.support.clock import Clock

GUILD = 4242
OTHER_GUILD = 5353
MEMBER = 888
OTHER_MEMBER = 999
VIEWER_ID = "555000111"
VIEWER_LOGIN = "viewer_tw"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def twitch(clock):
    with FakeTwitch(redirect_uris=[REDIRECT_URI], clock=clock) as fake:
        fake.add_user(VIEWER_ID, VIEWER_LOGIN)
        fake.consenting_user_id = VIEWER_ID
        yield fake


@pytest.fixture
def runtime(tmp_path, twitch, clock, migrated_database_url):
    runtime = runtime_on_fake_twitch(
        twitch, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    yield runtime
    runtime.close()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def viewer_link(runtime: Runtime, guild_id: int = GUILD, member: int = MEMBER) -> str:
    return local(runtime.linking.start_link(guild_id, member, Platform.TWITCH))


def start(web, link: str) -> str:  # type: ignore[no-untyped-def]
    opened = web.get(link)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(link)
    assert started.status_code == 303, started.get_data(as_text=True)
    return started.headers["Location"]


def consent(consent_url: str) -> str:
    answer = httpx.get(consent_url, follow_redirects=False, trust_env=False, verify=tls_context())
    assert answer.status_code == 302
    callback = answer.headers["location"]
    assert callback.startswith(f"{REDIRECT_URI}?")
    return local(callback)


def sign_in(runtime: Runtime, link: str):  # type: ignore[no-untyped-def]
    web = runtime.create_web_app().test_client()
    return web.get(consent(start(web, link)))


def text(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.get_data(as_text=True)


def queued(runtime: Runtime) -> list[Event]:
    with runtime.engine.connect() as conn:
        payloads = conn.execute(sa.select(bus_events.c.payload).order_by(bus_events.c.id))
        return [event_from_dict(json.loads(payload)) for (payload,) in payloads]


def viewer_tokens(twitch: FakeTwitch) -> list:
    return [t for t in twitch.tokens.values() if t.user_id == VIEWER_ID and t.kind == "access"]


# --- the happy path ------------------------------------------------------------------------


def test_a_viewer_links_their_twitch_account_from_the_tokens_identity(runtime, twitch):
    web = runtime.create_web_app().test_client()
    link = viewer_link(runtime)
    opened = web.get(link)
    assert "Link your Twitch account" in text(opened)
    assert opened.headers["Cache-Control"] == "no-store"
    consent_url = start(web, link)
    # Identifying needs no scope: nothing beyond it is asked for.
    assert dict(parse_qsl(urlsplit(consent_url).query, keep_blank_values=True))["scope"] == ""

    answer = web.get(consent(consent_url))

    assert answer.status_code == 200, text(answer)
    assert f"now linked to {VIEWER_LOGIN} on Twitch" in text(answer)
    stored = runtime.linking.link_of(MEMBER, Platform.TWITCH)
    assert stored is not None
    assert (stored.platform_user_id, stored.username) == (VIEWER_ID, VIEWER_LOGIN)
    assert runtime.linking.link_of(MEMBER, Platform.KICK) is None
    [event] = queued(runtime)
    assert isinstance(event, AccountLinked)
    assert (event.platform, event.guild_id, event.discord_user_id) == (
        Platform.TWITCH,
        GUILD,
        MEMBER,
    )
    assert (event.viewer.platform_user_id, event.viewer.username) == (VIEWER_ID, VIEWER_LOGIN)
    # Only the identity was needed: the viewer's token went straight back to Twitch.
    [token] = viewer_tokens(twitch)
    assert token.scopes == ()
    assert token.revoked
    assert twitch.requests_to("/oauth2/validate")
    assert not twitch.requests_to("/helix/users")


def test_the_identity_is_twitchs_not_the_callers(runtime, twitch):
    """Whatever the callback's address carries besides code and state is not read."""
    web = runtime.create_web_app().test_client()
    callback = consent(start(web, viewer_link(runtime)))

    answer = web.get(f"{callback}&user_id=1&login=impostor&username=impostor")

    assert answer.status_code == 200
    stored = runtime.linking.link_of(MEMBER, Platform.TWITCH)
    assert stored is not None
    assert (stored.platform_user_id, stored.username) == (VIEWER_ID, VIEWER_LOGIN)


# --- refusals ------------------------------------------------------------------------------


def test_declined_consent_is_a_clear_page_an_event_and_a_history_row(runtime, twitch):
    twitch.deny_next_consent()

    answer = sign_in(runtime, viewer_link(runtime))

    assert answer.status_code == 400
    assert "You declined on Twitch, so your accounts were not linked." in text(answer)
    [event] = queued(runtime)
    assert isinstance(event, AccountLinkFailed)
    assert (event.platform, event.reason) == (Platform.TWITCH, DECLINED)
    [entry] = runtime.linking.history(GUILD, MEMBER)
    assert (entry.platform, entry.reason) == (Platform.TWITCH, DECLINED)
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None


def test_an_expired_link_is_a_403_page_and_the_member_hears_once(runtime, clock):
    link = viewer_link(runtime)
    clock.advance(LINK_LIFETIME.total_seconds() + 1)
    web = runtime.create_web_app().test_client()

    first = web.get(link)
    again = web.post(link)

    assert (first.status_code, again.status_code) == (403, 403)
    assert "This link has expired" in text(first)
    [event] = queued(runtime)
    assert isinstance(event, AccountLinkFailed)
    assert (event.platform, event.reason) == (Platform.TWITCH, LINK_EXPIRED)


def test_a_twitch_account_linked_to_another_discord_user_is_a_409_page(runtime):
    runtime.linking.link(
        guild_id=GUILD,
        discord_user_id=OTHER_MEMBER,
        platform=Platform.TWITCH,
        platform_user_id=VIEWER_ID,
        username=VIEWER_LOGIN,
    )

    answer = sign_in(runtime, viewer_link(runtime))

    assert answer.status_code == 409
    assert f"The Twitch account {VIEWER_LOGIN} is already linked" in text(answer)
    holder = runtime.linking.link_of(OTHER_MEMBER, Platform.TWITCH)
    assert holder is not None
    assert holder.platform_user_id == VIEWER_ID
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None
    [event] = queued(runtime)
    assert isinstance(event, AccountLinkFailed)
    assert (event.platform, event.reason) == (Platform.TWITCH, ALREADY_LINKED)
    assert event.viewer is not None
    assert event.viewer.platform_user_id == VIEWER_ID


@pytest.mark.parametrize("path", ["/oauth2/token", "/oauth2/validate"])
def test_twitch_unreachable_is_a_503_page_and_nothing_is_linked(runtime, twitch, path):
    web = runtime.create_web_app().test_client()
    callback = consent(start(web, viewer_link(runtime)))
    twitch.fail_next(path, 503, times=10)

    answer = web.get(callback)

    assert answer.status_code == 503
    assert "Twitch did not answer properly" in text(answer)
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None
    [event] = queued(runtime)
    assert isinstance(event, AccountLinkFailed)
    assert (event.platform, event.reason) == (Platform.TWITCH, TWITCH_ERROR)
    # The history (and the link log the bot writes from the event) name Twitch's code.
    [entry] = runtime.linking.history(GUILD, MEMBER)
    assert (entry.platform, entry.reason) == (Platform.TWITCH, TWITCH_ERROR)
    # A token Twitch did issue is given back even though it could not say whose it is.
    assert all(token.revoked for token in viewer_tokens(twitch))


@pytest.mark.parametrize(
    ("user_id", "login"),
    [("5" * 80, "long_id_viewer"), ("555\x00222", "nul_in_id"), ("555000222", "\x00\x00")],
    ids=["id-over-64-characters", "nul-in-the-id", "login-only-nuls"],
)
def test_a_validate_answer_whose_viewer_cannot_be_stored_is_the_503_page_not_an_error(
    runtime, twitch, user_id, login
):
    """Twitch's /validate names the viewer with an id no id column holds (or a login that is
    nothing once its NULs are dropped): the viewer is told Twitch did not answer properly, as
    for any unusable answer, and nothing is linked."""
    twitch.add_user(user_id, login)
    twitch.consenting_user_id = user_id

    answer = sign_in(runtime, viewer_link(runtime))

    assert answer.status_code == 503, text(answer)
    assert "Twitch did not answer properly" in text(answer)
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None
    [event] = queued(runtime)
    assert isinstance(event, AccountLinkFailed)
    assert (event.platform, event.reason) == (Platform.TWITCH, TWITCH_ERROR)
    [entry] = runtime.linking.history(GUILD, MEMBER)
    assert (entry.platform, entry.reason) == (Platform.TWITCH, TWITCH_ERROR)
    [token] = [t for t in twitch.tokens.values() if t.user_id == user_id and t.kind == "access"]
    assert token.revoked


def test_a_nul_in_the_login_twitch_gives_is_dropped_and_the_viewer_is_linked(runtime, twitch):
    """The id is the identity; the login is a name, cleaned as every name from Twitch is."""
    twitch.add_user("555000222", "nul\x00login")
    twitch.consenting_user_id = "555000222"

    answer = sign_in(runtime, viewer_link(runtime))

    assert answer.status_code == 200, text(answer)
    assert "now linked to nullogin on Twitch" in text(answer)
    stored = runtime.linking.link_of(MEMBER, Platform.TWITCH)
    assert stored is not None
    assert (stored.platform_user_id, stored.username) == ("555000222", "nullogin")
    [event] = queued(runtime)
    assert isinstance(event, AccountLinked)
    assert event.viewer.username == "nullogin"


@pytest.mark.parametrize("login", ["   ", "\u200b"])
def test_a_blank_login_from_twitch_links_nobody(runtime, twitch, login):
    twitch.add_user("555000333", login)
    twitch.consenting_user_id = "555000333"

    answer = sign_in(runtime, viewer_link(runtime))

    assert answer.status_code == 503
    assert "Twitch did not answer properly" in text(answer)
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None


def test_a_replayed_state_is_refused_and_links_once(runtime):
    web = runtime.create_web_app().test_client()
    callback = consent(start(web, viewer_link(runtime)))
    assert web.get(callback).status_code == 200

    again = web.get(callback)

    assert again.status_code == 409
    assert "This sign-in came back already" in text(again)
    assert [type(event) for event in queued(runtime)] == [AccountLinked]


def test_a_start_link_starts_one_sign_in(runtime):
    web = runtime.create_web_app().test_client()
    link = viewer_link(runtime)
    start(web, link)

    again = web.post(link)

    assert again.status_code == 410
    assert "!link twitch" in text(again)


def test_a_callback_in_another_browser_is_refused(runtime):
    callback = consent(start(runtime.create_web_app().test_client(), viewer_link(runtime)))
    other = runtime.create_web_app().test_client()
    other.get(viewer_link(runtime))  # a cookie of its own

    answer = other.get(callback)

    assert answer.status_code == 403
    assert "started in another browser" in text(answer)
    assert runtime.linking.link_of(MEMBER, Platform.TWITCH) is None


def test_a_link_of_guild_a_is_never_usable_in_guild_b(runtime):
    link = viewer_link(runtime)
    moved = link.replace(f"guild={GUILD}", f"guild={OTHER_GUILD}")
    assert moved != link

    for method in ("get", "post"):
        answer = getattr(runtime.create_web_app().test_client(), method)(moved)
        assert answer.status_code == 403
        assert "not valid" in text(answer)

    assert sign_in(runtime, link).status_code == 200
    [event] = queued(runtime)
    assert event.guild_id == GUILD
    assert runtime.linking.history(OTHER_GUILD, MEMBER) == []
    assert [entry.platform for entry in runtime.linking.history(GUILD, MEMBER)] == [Platform.TWITCH]


def test_a_kick_start_link_does_not_open_the_twitch_sign_in(runtime):
    kick_link = local(runtime.linking.start_link(GUILD, MEMBER, Platform.KICK))
    assert kick_link.startswith("/auth/kick?")

    answer = (
        runtime.create_web_app()
        .test_client()
        .get(kick_link.replace("/auth/kick?", "/auth/twitch?"))
    )

    assert answer.status_code == 403
