"""Every route of the web app (``app.url_map``), each with who may use it, checked as a table.

A route added without a line in ``ROUTES`` fails the first test, so none escapes the checks: under
``/dashboard/<guild_id>/`` another guild's admin, a member without Manage Server, a user who lost
it since logging in and a visitor who is not signed in each change nothing and are shown nothing
of the guild; every form (``POST``) of the dashboard needs the session's CSRF token; and every
answer carries the security headers. The docs name only routes the app has, and
docs/dashboard.md every page of a server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from core.features import schema
from core.web.dashboard.guilds import NOT_YOURS
from core.web.dashboard.security import RateLimiter
from tests.support.clock import Ticker
from tests.web.dashboard.conftest import ADMIN, GUILD, OTHER_GUILD, VIEWER, Site, post

# Who may use a route:
GUILD_ADMIN = "guild admin"  # under /dashboard/<guild_id>/: owner, Administrator, Manage Server
SIGNED_IN = "signed in"  # any Discord user, about themselves only (/me, the server list)
ANYONE = "anyone"  # public pages and files
SIGN_IN = "sign-in"  # the dashboard's Discord login, and logout (CSRF)
SIGNED_LINK = "signed link"  # /auth/*: a signed start link, then the platform's OAuth (linking)
OVERLAY_TOKEN = "overlay token"  # /overlay/<token>: the secret token is the access
PER_SUBSCRIPTION = "per subscription"  # /live: each guild it names, as its pages are
OPERATOR = "operator"  # /setup: this machine or the log's one-time token; /metrics: its token

ROUTES: dict[tuple[str, str], str] = {
    # public
    ("/", "GET"): ANYONE,
    ("/terms", "GET"): ANYONE,
    ("/privacy", "GET"): ANYONE,
    ("/raffle/<id:period_id>", "GET"): ANYONE,
    ("/raffle/<id:period_id>/<kind>.json", "GET"): ANYONE,
    ("/static/<path:filename>", "GET"): ANYONE,
    ("/static/dashboard/<path:filename>", "GET"): ANYONE,
    ("/overlay/static/<path:filename>", "GET"): ANYONE,
    ("/health", "GET"): ANYONE,
    ("/metrics", "GET"): OPERATOR,
    ("/setup", "GET"): OPERATOR,
    ("/setup", "POST"): OPERATOR,
    ("/setup", "PUT"): OPERATOR,
    ("/setup", "PATCH"): OPERATOR,
    ("/setup", "DELETE"): OPERATOR,
    # the dashboard's login
    ("/login", "GET"): SIGN_IN,
    ("/dashboard/callback", "GET"): SIGN_IN,
    ("/logout", "POST"): SIGN_IN,
    # a signed-in user's own
    ("/dashboard/", "GET"): SIGNED_IN,
    ("/me/", "GET"): SIGNED_IN,
    ("/me/data.json", "GET"): SIGNED_IN,
    ("/me/unlink", "POST"): SIGNED_IN,
    ("/me/unlink-all", "POST"): SIGNED_IN,
    ("/live", "GET"): PER_SUBSCRIPTION,
    # Kick and Twitch sign-in (signed start links: tests/web/test_oauth.py and beside it)
    **{
        (f"/auth/{platform}{path}", method): SIGNED_LINK
        for platform in ("kick", "twitch")
        for path, method in (
            ("", "GET"),
            ("", "POST"),
            ("/streamer", "GET"),
            ("/streamer", "POST"),
            ("/callback", "GET"),
        )
    },
    # overlays
    ("/overlay/<token>", "GET"): OVERLAY_TOKEN,
    ("/overlay/<token>/events", "GET"): OVERLAY_TOKEN,
    ("/overlay/<token>/media/<media_id>", "GET"): OVERLAY_TOKEN,
    ("/overlay/<token>/state", "GET"): OVERLAY_TOKEN,
}
# Every route under a guild is a guild admin's: listed by area (path after the guild's id).
GUILD_ROUTES = {
    "": ["GET"],
    "sync/<platform>": ["POST"],
    "live/<topic>": ["GET"],
    "alerts/": ["GET"],
    "alerts/goal": ["POST"],
    "alerts/goal/remove": ["POST"],
    "alerts/goal/reset": ["POST"],
    "alerts/media": ["POST"],
    "alerts/media/<media_id>/delete": ["POST"],
    "alerts/replay": ["POST"],
    "alerts/style/<kind>": ["POST"],
    "alerts/variation/<kind>": ["POST"],
    "alerts/variation/<kind>/delete": ["POST"],
    "connections/": ["GET"],
    "connections/<any(kick, twitch):platform>/connect": ["POST"],
    "connections/twitch/disconnect": ["POST"],
    "connections/twitch/reconnect": ["POST"],
    "events/": ["GET"],
    "events/live": ["GET"],
    "events/retry": ["POST"],
    "heist/": ["GET"],
    "heist/points/<any(give, remove):action>": ["POST"],
    "heist/points/name": ["POST"],
    "heist/points/rate": ["POST"],
    "heist/settings/<slug>": ["POST"],
    "linking/": ["GET"],
    "linking/settings": ["POST"],
    "overlays/": ["GET"],
    "overlays/rotate/<kind>": ["POST"],
    "overlays/settings": ["POST"],
    "overlays/test-alert": ["POST"],
    "payments/": ["GET"],
    "payments/<id:call_id>/<any(paid, again):action>": ["POST"],
    "raffle/": ["GET"],
    "raffle/draw": ["POST"],
    "raffle/end": ["POST"],
    "raffle/force": ["POST"],
    "raffle/reroll": ["POST"],
    "raffle/settings": ["POST"],
    "raffle/standings": ["GET"],
    "raffle/start": ["POST"],
    "raffle/tickets": ["POST"],
    "roles/": ["GET"],
    "roles/add": ["POST"],
    "roles/remove": ["POST"],
    "roles/settings": ["POST"],
    "roles/switch": ["POST"],
    "slot-calls/": ["GET"],
    "slot-calls/blacklist/add": ["POST"],
    "slot-calls/blacklist/remove": ["POST"],
    "slot-calls/pick": ["POST"],
    "slot-calls/settings": ["POST"],
    "vip/": ["GET"],
    "vip/extend": ["POST"],
    "vip/grant": ["POST"],
    "vip/limits": ["POST"],
    "vip/list": ["GET"],
    "vip/log": ["GET"],
    "vip/revoke": ["POST"],
    "vip/reward": ["POST"],
    "vip/rules": ["POST"],
    "vip/rules/<id:rule_id>/change": ["POST"],
    "vip/rules/<id:rule_id>/make-reward": ["POST"],
    "vip/rules/<id:rule_id>/remove": ["POST"],
    "vip/settings": ["POST"],
    "vip/setup": ["POST"],
    "watchtime/": ["GET"],
    "watchtime/tracking": ["POST"],
}
ROUTES.update(
    {
        (f"/dashboard/<id:guild_id>/{path}", method): GUILD_ADMIN
        for path, methods in GUILD_ROUTES.items()
        for method in methods
    }
)

# A value for each path argument (a guild's own id is filled in by the test).
ARGUMENTS = {
    "platform": "kick",
    "topic": "vip",
    "media_id": "m" * 32,
    "kind": "followed",
    "slug": "crew",
    "call_id": 1,
    "rule_id": 1,
}
# What a form sends: enough for every route to reach its service call if it were let through.
FORM = {
    "viewer": "someone",
    "amount": "5",
    "reason": "a reason",
    "action": "give",
    "currency": "coins",
    "rate": "watch",
    "value": "5",
    "role_id": "333333333333333333",
    "hours": "2",
    "mode": "sync",
    "enabled": "off",
    "dm": "off",
    "tracking": "off",
    "login": "someone",
    "winners": "1",
    "prize": "a prize",
    "draw_id": "1",
    "reroll_reason": "because",
    "name": "someone",
    "kick": "somechannel",
    "twitch": "somechannel",
    "title": "a title",
    "cost": "100",
    "platform": "twitch",
    "when": "reward",
    "ref": "1",
    "threshold": "5",
    "reference": "0" * 32,
    "cooldown": "30",
    "limit": "5",
    "max_hours": "10",
    "what": "cost",
}
METHODS_NOT_ROUTED = {"HEAD", "OPTIONS"}  # Flask answers them for every GET route itself


def routes(app: Flask) -> Iterator[tuple[Rule, str]]:
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - METHODS_NOT_ROUTED):
            yield rule, method


def url_of(rule: Rule, guild_id: int) -> str:
    values = {name: ARGUMENTS.get(name, 1) for name in rule.arguments}
    if "guild_id" in rule.arguments:
        values["guild_id"] = guild_id
    path = re.sub(r"<any\(([^,)]+)[^)]*\):\w+>", r"\1", rule.rule)  # its first choice
    for name, value in values.items():
        path = re.sub(rf"<(?:[^<>:]+:)?{name}>", str(value), path)
    return path


def guild_urls(
    app: Flask, guild_id: int, methods: tuple[str, ...] = ("GET", "POST")
) -> list[tuple[str, str]]:
    """Every route under a guild as (method, address) for ``guild_id``, in a stable order. The
    live streams are among them: a refusal answers before a stream opens."""
    return sorted(
        (method, url_of(rule, guild_id))
        for rule, method in routes(app)
        if ROUTES.get((rule.rule, method)) == GUILD_ADMIN and method in methods
    )


def pages_of(app: Flask, guild_id: int) -> list[str]:
    """The guild's GET routes that answer at once (not the live streams)."""
    return [url for _m, url in guild_urls(app, guild_id, ("GET",)) if "/live/" not in url]


def changed(before, after):  # type: ignore[no-untyped-def]
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


def everything(site: Site) -> dict[str, list[tuple]]:
    """Every row of every table: a change anywhere shows as a difference. Aside: the sessions,
    and the servers' names, which any member's server list from Discord refreshes."""
    tables = schema.all_tables().sorted_tables
    with site.runtime.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table))), key=repr)
            for table in tables
            if table.name not in {"web_sessions", "directory_guilds"}
        }


@pytest.fixture(autouse=True)
def no_write_limit(site: Site) -> None:
    """Every route is sent to in a row: more forms than a person sends in a minute."""
    site.dashboard.write_limit = RateLimiter(10_000, 60)


def send(client, method: str, path: str):  # type: ignore[no-untyped-def]
    if method == "GET":
        return client.get(path)
    return post(client, path, **FORM)


# --- the table is complete ------------------------------------------------------------------------


def test_every_route_of_the_app_says_who_may_use_it(site):
    found = {(rule.rule, method) for rule, method in routes(site.app)}
    assert found - set(ROUTES) == set(), "a route with no line in ROUTES: say who may use it"
    assert set(ROUTES) - found == set(), "a line in ROUTES for a route the app no longer has"


def test_every_route_under_a_guild_is_a_guild_admins(site):
    under_a_guild = {
        (rule.rule, method)
        for rule, method in routes(site.app)
        if rule.rule.startswith("/dashboard/<id:guild_id>")
    }
    assert under_a_guild == {key for key, who in ROUTES.items() if who == GUILD_ADMIN}


# --- a guild's routes, used by someone who may not ------------------------------------------------


def test_another_guilds_admin_gets_the_same_403_on_every_route_and_changes_nothing(site):
    site.runtime.points.set_name(OTHER_GUILD, "gems")
    client = site.client()  # manages GUILD, a plain member of OTHER_GUILD
    before = everything(site)
    for method, path in guild_urls(site.app, OTHER_GUILD):
        answer = send(client, method, path)
        assert answer.status_code == 403, (method, path, answer.status_code)
        assert NOT_YOURS in answer.text, (method, path)
        assert "gems" not in answer.text
    assert changed(before, everything(site)) == {}


def test_a_member_without_manage_server_gets_403_on_every_route_of_their_own_guild(site):
    client = site.client(VIEWER, "vic", manages=())
    before = everything(site)
    for method, url in guild_urls(site.app, GUILD):
        answer = send(client, method, url)
        assert answer.status_code == 403, (method, url, answer.status_code)
    assert changed(before, everything(site)) == {}


@pytest.mark.parametrize("change", ["lost Manage Server", "left the server"])
def test_an_admin_who_lost_the_right_changes_nothing_after_half_a_minute(site, change):
    clock = Ticker()
    site.dashboard.permissions.clock = clock
    client = site.client()
    assert client.get(f"/dashboard/{GUILD}/").status_code == 200
    user = site.discord.users[ADMIN]
    if change == "left the server":
        user.guilds = [entry for entry in user.guilds if entry["id"] != str(GUILD)]
    else:
        next(e for e in user.guilds if e["id"] == str(GUILD))["permissions"] = str(1 << 11)
    clock.advance(31)
    before = everything(site)
    for method, url in guild_urls(site.app, GUILD, ("POST",)):
        assert send(client, method, url).status_code == 403, url
    assert changed(before, everything(site)) == {}
    # Pages were shown on Discord's word of less than the cache's three minutes; past them,
    # nothing is.
    clock.advance(150)
    for url in pages_of(site.app, GUILD):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("path", [f"/dashboard/{GUILD}/roles/", "/dashboard/"])
def test_a_token_revoked_on_discord_ends_the_session(site, path):
    client = site.client()
    site.discord.tokens.clear()  # the user removed the app from Authorized Apps
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/?login=needed"
    assert client.get("/me/").status_code == 302  # signed out
    with site.runtime.engine.connect() as conn:  # ended on the server: a copied cookie too
        assert conn.execute(sa.text("SELECT count(*) FROM web_sessions")).scalar() == 0


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in_and_changes_nothing(site):
    client = site.app.test_client()
    before = everything(site)
    for method, url in guild_urls(site.app, GUILD):
        answer = client.get(url) if method == "GET" else client.post(url, data=FORM)
        if method == "GET":
            assert answer.status_code == 302, url
            assert answer.headers["Location"] == "/?login=needed"
        else:
            assert answer.status_code == 403, url  # no session: no CSRF token to match
    assert changed(before, everything(site)) == {}


# --- forms need the CSRF token --------------------------------------------------------------------


def test_every_dashboard_form_without_the_csrf_token_is_refused_and_changes_nothing(site):
    client = site.client()
    before = everything(site)
    posts = [
        (rule, method)
        for rule, method in routes(site.app)
        if method != "GET" and ROUTES[(rule.rule, method)] in (GUILD_ADMIN, SIGNED_IN, SIGN_IN)
    ]
    assert len(posts) > 40
    for rule, method in posts:
        url = url_of(rule, GUILD)
        for token in (None, "", "not-the-token"):
            form = dict(FORM) if token is None else {**FORM, "csrf_token": token}
            answer = client.open(url, method=method, data=form)
            assert answer.status_code == 403, (url, token)
            assert "Form expired" in answer.text
    assert changed(before, everything(site)) == {}
    assert client.get(f"/dashboard/{GUILD}/").status_code == 200  # still signed in


# --- hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["x" * 100_000, "<script>alert(1)</script>\u202e\ufffd\U0001f600", "-99999999999999999999999"],
    ids=["long", "markup", "number"],
)
def test_no_form_or_search_of_any_route_is_a_500_or_shows_markup_it_was_sent(site, value):
    client = site.client()
    searches = ("q", "page", "days", "on", "kind", "viewer", "action", "sent", "last_id")
    for method, url in guild_urls(site.app, GUILD):
        if "/live/" in url:
            continue
        if method == "GET":
            answer = client.get(url, query_string=dict.fromkeys(searches, value))
        else:
            answer = post(client, url, **dict.fromkeys(FORM, value))
        assert answer.status_code < 500, (method, url)
        assert "<script>alert" not in answer.text, (method, url)


# --- headers --------------------------------------------------------------------------------------


def test_every_dashboard_answer_carries_the_security_headers(site):
    client = site.client()
    for path in [*pages_of(site.app, GUILD), *pages_of(site.app, OTHER_GUILD)]:
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        assert "unsafe-inline" not in headers["Content-Security-Policy"], path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store", path


@pytest.mark.parametrize("site_settings", [{"OAUTH_BASE_URL": "https://dash.test"}])
def test_an_https_site_tells_browsers_to_keep_to_https(site):
    client = site.client()
    for path in ("/", f"/dashboard/{GUILD}/roles/", "/health", "/no-such-page"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_site_without_https_says_nothing_of_it(site):
    assert "Strict-Transport-Security" not in site.client().get("/").headers


# --- the docs name these routes -------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[3] / "docs"
DOC_PAGES = [DOCS.parent / "README.md", *sorted(DOCS.glob("*.md"))]
# An address of this app as the pages write it: `/dashboard/<server>/vip/`, `POST /webhooks/kick`.
ADDRESS = re.compile(
    r"`(?:(GET|POST) )?(/(?:dashboard|me|auth|raffle|overlay|setup|live|login|logout|terms"
    r"|privacy|health|metrics|webhooks)\b[^`\s?]*)"
)


def rule_pattern(rule: str) -> re.Pattern[str]:
    """``/dashboard/<id:guild_id>/vip/`` as a pattern a written ``/dashboard/<server>/vip/`` or
    ``/dashboard/1/vip/`` matches."""
    parts = re.split(r"<[^<>]+>", rule)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def test_every_address_the_docs_name_is_a_route_of_the_app(site):
    """A written address is a route (the webhooks' are served before Flask), or the start of
    some (``/auth``, "under ``/overlay/``"); the one address security.md names for not being
    one is left out."""
    from core.web.webhooks import WebhookRoutes

    webhooks = WebhookRoutes(site.app, site.runtime.web_services()).receivers
    rules = [(r.rule, r.methods or set()) for r in site.app.url_map.iter_rules()]
    rules += [(path, {"POST"}) for path in webhooks]
    named = [
        (page.name, method, path)
        for page in DOC_PAGES
        for method, path in ADDRESS.findall(page.read_text())
        if not path.endswith("...") and path != "/overlay/no/such/page"
    ]
    assert len(named) > 40  # the pattern found them

    def exists(method: str, path: str) -> bool:
        return any(
            (rule_pattern(rule).fullmatch(path) or rule.startswith(path.rstrip("/") + "/"))
            and (not method or method in methods)
            for rule, methods in rules
        )

    missing = sorted(
        {
            f"{page}: {method} {path}".replace(":  ", ": ")
            for page, method, path in named
            if not exists(method, path)
        }
    )
    assert not missing, "\n".join(missing)


def test_the_dashboard_page_names_every_page_of_a_server():
    """Each page of a server (``vip/``, ``alerts/``) is in docs/dashboard.md's list of pages."""
    page = (DOCS / "dashboard.md").read_text()
    pages = [
        path for path, methods in GUILD_ROUTES.items() if path.endswith("/") and "GET" in methods
    ]
    assert len(pages) > 10
    missing = [path for path in pages if f"`{path}`" not in page and f"/{path}`" not in page]
    assert not missing, f"not in docs/dashboard.md: {missing}"
