"""The Kick sign-in pages against the fake Kick over loopback HTTP, on SQLite and PostgreSQL:
bound to the browser that opened the link, one sign-in per link, the streamer must own the
channel, and every failure is a plain page with the right status (never a 500)."""

from __future__ import annotations

import asyncio
import os
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from core.bus.base import BusUnavailable
from core.features.connections.kick.service import PURPOSE_STREAMER
from core.features.connections.tables import kick_connections, used_links
from core.features.linking.tables import account_links
from core.outbox import store
from core.platforms.http import tls_context
from core.runtime import Runtime
from core.security.links import new_claims, signed_link
from tests.fakes.kick_runtime import BOT_URL, runtime_on_fake_kick
from tests.fakes.kick_server import FakeKick
from tests.support.clock import Clock

GUILD = 4242
ADMIN = 777
MEMBER = 888
STREAMER_ID = 1001
VIEWER_ID = 5001
INTRUDER_ID = 6006


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def kick(clock):
    with FakeKick(clock=clock, username="streamer", user_id=STREAMER_ID) as fake:
        fake.add_user(VIEWER_ID, "viewer_one")
        fake.add_user(INTRUDER_ID, "intruder")
        yield fake


@pytest.fixture
def runtime(tmp_path, kick, clock, migrated_database_url):
    runtime = runtime_on_fake_kick(
        kick, tmp_path / "data", clock, DATABASE_URL=migrated_database_url
    )
    yield runtime
    try:
        runtime.close()
    except Exception:  # the database may have been taken down on purpose
        runtime.engine.dispose()


def browser(runtime: Runtime):  # type: ignore[no-untyped-def]
    """A browser of its own: the test client keeps its cookies."""
    return runtime.create_web_app().test_client()


def local(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def streamer_link(runtime: Runtime) -> str:
    result = asyncio.run(runtime.kick_setup.setup(GUILD, ADMIN, "streamer"))
    return local(result.connect_link)


def viewer_link(runtime: Runtime) -> str:
    return local(runtime.linking.start_link(GUILD, MEMBER))


def start(web, link: str) -> str:  # type: ignore[no-untyped-def]
    """Open the link and press its button; return Kick's consent URL."""
    opened = web.get(link)
    assert opened.status_code == 200, opened.get_data(as_text=True)
    started = web.post(link)
    assert started.status_code == 303, started.get_data(as_text=True)
    return started.headers["Location"]


def consent(consent_url: str) -> str:
    """Whoever holds the consent URL signs in on Kick; return the callback, made local."""
    answer = httpx.get(consent_url, follow_redirects=False, verify=tls_context())
    assert answer.status_code == 302
    callback = answer.headers["location"]
    assert callback.startswith(f"{BOT_URL}/auth/kick/callback?")
    return local(callback)


def text(answer) -> str:  # type: ignore[no-untyped-def]
    return answer.get_data(as_text=True)


def stored_connections(runtime: Runtime) -> list:
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(kick_connections)))


def stored_links(runtime: Runtime) -> list:
    with runtime.engine.connect() as conn:
        return list(conn.execute(sa.select(account_links)))


# --- the happy paths -----------------------------------------------------------------------


def test_a_streamer_connects_in_one_browser(runtime, kick):
    web = browser(runtime)
    link = streamer_link(runtime)
    opened = web.get(link)
    assert "Sign in on Kick as streamer" in text(opened)

    answer = web.get(consent(start(web, link)))

    assert answer.status_code == 200, text(answer)
    assert "Kick channel connected" in text(answer)
    assert runtime.kick_connections.status(GUILD).is_connected


def test_a_viewer_links_in_one_browser(runtime, kick):
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)

    answer = web.get(consent(start(web, viewer_link(runtime))))

    assert answer.status_code == 200, text(answer)
    assert "now linked to viewer_one" in text(answer)
    [row] = stored_links(runtime)
    assert (row.platform_user_id, row.discord_user_id) == (str(VIEWER_ID), MEMBER)


def test_a_viewers_kick_tokens_are_all_given_back(runtime, kick):
    """A link holds no token: the access and the refresh token Kick issued for the viewer's
    consent are both revoked, so no grant of theirs to this app outlives the sign-in."""
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)

    assert web.get(consent(start(web, viewer_link(runtime)))).status_code == 200

    viewer_tokens = [t for t in kick.tokens.values() if t.user_id == VIEWER_ID]
    assert {t.kind for t in viewer_tokens} == {"access", "refresh"}
    assert [t.kind for t in viewer_tokens if not t.revoked] == []


def discord_calls(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.engine.connect() as conn:
        return [(call.kind, call.state) for call in store.of_guild(conn, GUILD)]


def test_a_link_made_while_the_bus_is_down_still_gets_its_dm_and_roles(runtime, kick, monkeypatch):
    """The web side could not tell the bot (Redis down): the link was kept, and its DM, linked
    role and link log were lost for good. They are queued with the link itself now."""

    def bus_down(event):  # type: ignore[no-untyped-def]
        raise BusUnavailable("Could not connect to Redis. Is it running?")

    monkeypatch.setattr(runtime.bus, "publish", bus_down)
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)

    answer = web.get(consent(start(web, viewer_link(runtime))))

    assert answer.status_code == 200, text(answer)
    assert [row.discord_user_id for row in stored_links(runtime)] == [MEMBER]
    assert discord_calls(runtime) == [("linking.linked", "pending")]


def test_the_bots_handler_of_the_link_event_queues_nothing_twice(runtime, kick):
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    web.get(consent(start(web, viewer_link(runtime))))

    async def deliver() -> None:
        while await asyncio.to_thread(runtime.bus.backlog):
            await runtime.bus.deliver_due(runtime.dispatcher)

    asyncio.run(deliver())

    assert discord_calls(runtime) == [("linking.linked", "pending")]


def test_the_start_page_sets_a_short_lived_private_cookie_and_is_never_cached(runtime):
    opened = browser(runtime).get(streamer_link(runtime))

    cookie = opened.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/auth", "Max-Age=600"):
        assert attribute in cookie
    assert "Secure" not in cookie  # the public address here is plain http
    assert opened.headers["Cache-Control"] == "no-store"


def test_the_cookie_is_secure_when_the_public_address_is_https(tmp_path, kick, clock):
    runtime = runtime_on_fake_kick(
        kick, tmp_path / "data", clock, OAUTH_BASE_URL="https://bot.example"
    )
    try:
        claims = new_claims(PURPOSE_STREAMER, ADMIN, GUILD, clock())
        link = signed_link("", "/auth/kick/streamer", runtime.link_secret, claims)
        opened = browser(runtime).get(link)
        assert opened.status_code == 200
        assert "Secure" in opened.headers["Set-Cookie"]
    finally:
        runtime.close()


# --- browser binding -----------------------------------------------------------------------


def test_a_callback_without_the_cookie_is_refused_and_nothing_stored(runtime):
    # The attacker starts with their own link and sends the consent page to a victim, whose
    # browser never opened the link.
    consent_url = start(browser(runtime), streamer_link(runtime))

    answer = browser(runtime).get(consent(consent_url))

    assert answer.status_code == 403
    assert "started in another browser" in text(answer)
    assert answer.headers["Cache-Control"] == "no-store"
    assert stored_connections(runtime) == []


def test_a_callback_with_another_browsers_cookie_is_refused(runtime, kick):
    attacker, victim = browser(runtime), browser(runtime)
    consent_url = start(attacker, viewer_link(runtime))
    victim.get(local(runtime.linking.start_link(GUILD, 999)))  # the victim has a cookie too
    kick.consenting_user_id = VIEWER_ID

    answer = victim.get(consent(consent_url))

    assert answer.status_code == 403
    assert "started in another browser" in text(answer)
    assert stored_links(runtime) == []


def test_starting_without_the_cookie_is_refused_and_leaves_the_link_usable(runtime):
    link = streamer_link(runtime)

    refused = browser(runtime).post(link)  # a POST from a page that never set the cookie

    assert refused.status_code == 403
    assert "cookie" in text(refused)
    web = browser(runtime)
    assert web.get(consent(start(web, link))).status_code == 200


# --- single-use links ----------------------------------------------------------------------


def test_a_start_link_starts_one_sign_in(runtime):
    web = browser(runtime)
    link = viewer_link(runtime)
    start(web, link)

    again = web.post(link)
    reopened = browser(runtime).get(link)

    for answer in (again, reopened):
        assert answer.status_code == 410
        assert "already used" in text(answer)
        assert "!link" in text(answer)
    with runtime.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(used_links)).scalar() == 1


def test_opening_a_link_does_not_use_it_up(runtime):
    # Link previews (Discord's, a messenger's) open links before the person does.
    link = streamer_link(runtime)
    for _ in range(3):
        assert browser(runtime).get(link).status_code == 200
    web = browser(runtime)
    assert web.get(consent(start(web, link))).status_code == 200


# --- the streamer must own the channel -----------------------------------------------------


def test_a_streamer_sign_in_by_another_account_is_refused_and_its_token_given_back(runtime, kick):
    link = streamer_link(runtime)
    kick.consenting_user_id = INTRUDER_ID
    web = browser(runtime)

    answer = web.get(consent(start(web, link)))

    assert answer.status_code == 403
    page = text(answer)
    assert "You signed in on Kick as intruder" in page
    assert "channel is streamer: only its owner can connect it" in page
    assert stored_connections(runtime) == []
    # The refresh token too: Kick's are reusable, so one left alive kept the intruder's
    # chat:write and moderation:ban grant to this app for as long as Kick lets it live.
    intruder_tokens = [t for t in kick.tokens.values() if t.user_id == INTRUDER_ID]
    assert {t.kind for t in intruder_tokens} == {"access", "refresh"}
    assert all(t.revoked for t in intruder_tokens)


# --- failures are pages, never 500 ---------------------------------------------------------


@pytest.mark.parametrize("status", [500, 401])
def test_kicks_users_endpoint_failing_is_a_502_page(runtime, kick, status):
    link = streamer_link(runtime)
    web = browser(runtime)
    callback = consent(start(web, link))
    kick.fail_next("/public/v1/users", status, times=10)

    answer = web.get(callback)

    assert answer.status_code == 502
    assert "Kick did not answer" in text(answer)
    assert stored_connections(runtime) == []


def test_a_viewer_hears_that_kick_failed(runtime, kick):
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    callback = consent(start(web, viewer_link(runtime)))
    kick.fail_next("/public/v1/users", 401)

    answer = web.get(callback)

    assert answer.status_code == 502
    assert "Kick did not answer" in text(answer)
    assert stored_links(runtime) == []


def test_an_absurd_token_lifetime_still_connects_with_at_most_a_year(runtime, kick, clock):
    kick.access_token_seconds = 10**12
    web = browser(runtime)

    answer = web.get(consent(start(web, streamer_link(runtime))))

    assert answer.status_code == 200, text(answer)
    assert runtime.kick_connections.status(GUILD).expires_at <= clock() + timedelta(days=366)


@pytest.mark.parametrize("expires_in", [-5, float("nan")])
def test_a_meaningless_token_lifetime_is_a_502_page(runtime, kick, expires_in):
    web = browser(runtime)
    callback = consent(start(web, streamer_link(runtime)))
    reply = {"access_token": "x", "refresh_token": "y", "expires_in": expires_in}
    kick.fail_next("/oauth/token", 200, body=reply)

    answer = web.get(callback)

    assert answer.status_code == 502
    assert stored_connections(runtime) == []


def test_an_unknown_state_is_a_400_page(runtime):
    answer = browser(runtime).get("/auth/kick/callback?state=nonsense&code=x")
    assert answer.status_code == 400
    assert "already used or is older than 10 minutes" in text(answer)
    assert answer.headers["Content-Type"].startswith("text/html")


def take_database_down(
    runtime: Runtime, migrated_database_url: str, postgres_url: str | None
) -> None:
    """Make the runtime's database unreachable, as an outage would."""
    runtime.engine.dispose()
    if migrated_database_url.startswith("sqlite"):
        path = sa.engine.make_url(migrated_database_url).database
        assert path is not None
        os.replace(path, f"{path}.away")
        os.mkdir(path)  # SQLite cannot open a directory: "unable to open database file"
        return
    assert postgres_url is not None
    name = sa.engine.make_url(migrated_database_url).database
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def take_down(request, runtime, migrated_database_url):  # type: ignore[no-untyped-def]
    def down() -> None:
        postgres_url = None
        if not migrated_database_url.startswith("sqlite"):
            postgres_url = request.getfixturevalue("postgres_url")
        take_database_down(runtime, migrated_database_url, postgres_url)

    return down


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unreachable_database_at_the_start_is_a_503_page(runtime, take_down, method):
    link = viewer_link(runtime)
    web = browser(runtime)
    web.get(link)  # the cookie, while the database still answers
    take_down()

    answer = getattr(web, method)(link)

    assert answer.status_code == 503
    assert "database is unreachable" in text(answer)


def test_an_unreachable_database_at_the_callback_is_a_503_page(runtime, take_down):
    web = browser(runtime)
    callback = consent(start(web, streamer_link(runtime)))
    take_down()

    answer = web.get(callback)

    assert answer.status_code == 503
    assert "database is unreachable" in text(answer)


def test_a_streamer_sign_in_the_database_cannot_keep_gives_the_tokens_back(
    runtime, kick, take_down
):
    """The database went away while Kick said who signed in: nothing is kept, so the tokens
    Kick had just issued go back to Kick, not left as a live grant nobody holds."""
    web = browser(runtime)
    callback = consent(start(web, streamer_link(runtime)))
    # Kick has issued the tokens when the bot asks who signed in: the outage comes meanwhile.
    asked = kick.hang_next("/public/v1/users", 600)
    answers = []
    signing_in = threading.Thread(target=lambda: answers.append(web.get(callback)))
    signing_in.start()
    assert asked.held.wait(600)
    take_down()
    asked.release()
    signing_in.join(600)

    [answer] = answers
    assert answer.status_code == 503
    assert "database is unreachable" in text(answer)
    issued = [t for t in kick.tokens.values() if t.user_id == STREAMER_ID]
    assert {t.kind for t in issued} == {"access", "refresh"}
    assert [t.kind for t in issued if not t.revoked] == []


def test_linking_another_account_says_which_one_it_replaces(runtime, kick):
    kick.consenting_user_id = VIEWER_ID
    web = browser(runtime)
    web.get(consent(start(web, viewer_link(runtime))))
    kick.consenting_user_id = INTRUDER_ID

    answer = web.get(consent(start(web, viewer_link(runtime))))

    assert answer.status_code == 200
    assert "Your Discord account is now linked to intruder on Kick, instead of viewer_one." in text(
        answer
    )
    assert [row.platform_user_id for row in stored_links(runtime)] == [str(INTRUDER_ID)]


def test_a_refusal_made_while_the_bus_is_down_still_gets_its_dm_and_log(runtime, kick, monkeypatch):
    """As a link does: the member's DM and the link log of a declined sign-in are queued with
    its history row, not left to the bus alone."""

    def bus_down(event):  # type: ignore[no-untyped-def]
        raise BusUnavailable("Could not connect to Redis. Is it running?")

    monkeypatch.setattr(runtime.bus, "publish", bus_down)
    kick.deny_next_consent()
    web = browser(runtime)

    answer = web.get(consent(start(web, viewer_link(runtime))))

    assert answer.status_code == 400
    assert "You declined on Kick" in text(answer)
    assert discord_calls(runtime) == [("linking.failed", "pending")]
    [entry] = runtime.linking.history(GUILD, MEMBER)
    assert (entry.action, entry.reason) == ("refused", "declined")


def test_an_expired_link_opened_twice_while_the_bus_is_down_is_told_once(
    runtime, clock, monkeypatch
):
    def bus_down(event):  # type: ignore[no-untyped-def]
        raise BusUnavailable("Could not connect to Redis. Is it running?")

    monkeypatch.setattr(runtime.bus, "publish", bus_down)
    link = viewer_link(runtime)
    clock.advance(hours=2)

    for _ in range(2):
        assert browser(runtime).get(link).status_code == 403

    assert discord_calls(runtime) == [("linking.failed", "pending")]
    assert len(runtime.linking.history(GUILD, MEMBER)) == 1


def test_a_refusal_the_bot_hears_of_is_one_call(runtime, kick):
    kick.deny_next_consent()
    web = browser(runtime)
    web.get(consent(start(web, viewer_link(runtime))))

    async def deliver() -> None:
        while await asyncio.to_thread(runtime.bus.backlog):
            await runtime.bus.deliver_due(runtime.dispatcher)

    asyncio.run(deliver())

    assert discord_calls(runtime) == [("linking.failed", "pending")]
    assert len(runtime.linking.history(GUILD, MEMBER)) == 1
