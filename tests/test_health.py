"""The health report names the webhook routes that take deliveries: Kick's, and Twitch's too
once its secret is set (the startup line and ``!health`` say the same)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.features.connections.connection_rows import NEEDS_REAUTH
from core.features.connections.tables import kick_connections, twitch_connections
from core.features.guilds.repository import ensure_guild
from core.health import Check, HealthReport, webhook_routes


def test_both_routes_are_named_when_twitch_is_configured(make_runtime):
    runtime = make_runtime(
        TWITCH_EVENTSUB_SECRET="a-test-secret-of-some-length",
        OAUTH_BASE_URL="https://bot.example.org",
    )
    report = runtime.health()
    assert report.ok
    assert (
        "ok   webhooks: POST https://bot.example.org/webhooks/kick (Kick), "
        "POST https://bot.example.org/webhooks/twitch (Twitch)"
    ) in report.lines()


def test_without_the_twitch_secret_the_twitch_route_is_named_as_off(make_runtime):
    report = make_runtime().health()
    assert report.ok  # information, never a failure: a server may follow Kick alone
    assert (
        "ok   webhooks: POST /webhooks/kick (Kick); "
        "/webhooks/twitch (Twitch) is off until TWITCH_EVENTSUB_SECRET is set"
    ) in report.lines()


def test_the_public_health_shows_the_routes_but_no_secret(make_runtime):
    secret = "a-test-secret-of-some-length"
    report = make_runtime(TWITCH_EVENTSUB_SECRET=secret).health()
    assert report.as_json()["checks"]["webhooks"]["ok"] is True
    assert secret not in str(report.as_json())


def test_routes_without_a_base_url_are_paths():
    assert webhook_routes(twitch_secret_set=True) == (
        "POST /webhooks/kick (Kick), POST /webhooks/twitch (Twitch)"
    )


def test_pending_migrations_point_to_the_fix_the_docs_give(tmp_path):
    from core.config import load_settings
    from core.runtime import Runtime
    from tests.conftest import TEST_FERNET_KEY

    settings = load_settings(
        {"DATA_DIR": str(tmp_path), "TOKEN_ENCRYPTION_KEY": TEST_FERNET_KEY,
         "FLASK_SECRET_KEY": "test-link-secret-a-key-of-32-characters-or-more"},
        env_file=None,
    )  # fmt: skip
    runtime = Runtime(settings)  # never migrated
    try:
        report = runtime.health()
    finally:
        runtime.close()
    operations = (Path(__file__).parents[1] / "docs" / "operations.md").read_text()
    assert "| `health` says `migration(s) pending` | run `python setup_database.py`" in operations
    [line] = [line for line in report.lines() if line.split()[1] == "database:"]
    assert line.endswith("migration(s) pending: run 'python setup_database.py'"), line


def _needs_consent(runtime, guild_id: int, table, name: str | None) -> None:  # type: ignore[no-untyped-def]
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with runtime.engine.begin() as conn:
        ensure_guild(conn, guild_id, now, name)
        row = {
            "guild_id": guild_id,
            "broadcaster_user_id": "141981764",
            table.info["username_column"]: "twitchdev",
            "access_token": "sealed",
            "expires_at": now,
            "scopes": "",
            "status": NEEDS_REAUTH,
            "connected_by": 1,
            "updated_at": now,
        }
        conn.execute(sa.insert(table).values(row))


def test_a_connection_that_needs_the_streamer_again_is_named_and_degrades_health(make_runtime):
    runtime = make_runtime()
    assert "ok   connections: every streamer's connection works" in runtime.health().lines()
    _needs_consent(runtime, 123, twitch_connections, "Cozy Stream")
    _needs_consent(runtime, 456, kick_connections, None)
    report = runtime.health()
    assert report.ok  # it works; a person has something to do
    assert report.status == "degraded"
    (line,) = [line for line in report.lines() if "connections" in line]
    assert line == (
        "WARN connections: Kick needs the streamer to connect again in server 456 "
        "(!kick setup <channel>, or the dashboard's Kick & Twitch page); "
        "Twitch needs the streamer to connect again in Cozy Stream (123) "
        "(!twitch setup <channel>, or the dashboard's Kick & Twitch page)"
    )
    public = report.as_json()
    assert public["status"] == "degraded"
    assert public["checks"]["connections"] == {"ok": True, "detail": "connections needs attention"}
    assert "Cozy" not in str(public)


def test_a_servers_own_health_names_no_other_server(make_runtime):
    """!health and the dashboard's overview show a server its own lines: another server's
    name, id or broken connection, and the payments in doubt of every server, are the
    operator's (/health, core health)."""
    from core.wiring.front_ends import bot_services, dashboard_config

    runtime = make_runtime()
    _needs_consent(runtime, 222, twitch_connections, "Guild B Secret Name")
    shown = {
        "dashboard": dashboard_config(runtime).guild_health(111).lines(),
        "!health": bot_services(runtime).health().lines(),
    }
    for where, lines in shown.items():
        text = "\n".join(lines)
        assert "database" in text, where  # the process's own checks are there
        assert "Guild B" not in text, (where, text)
        assert "222" not in text, (where, text)
        assert "payment(s) in doubt in" not in text, (where, text)
    assert "Guild B Secret Name (222)" in "\n".join(runtime.health().lines())  # the operator's


def test_the_public_health_answers_200_when_degraded_and_503_when_failing(make_runtime):
    runtime = make_runtime()
    _needs_consent(runtime, 123, twitch_connections, "Cozy Stream")
    client = runtime.create_web_app().test_client()
    answer = client.get("/health")
    assert (answer.status_code, answer.json["status"]) == (200, "degraded")
    failing = HealthReport(
        [Check("database", False, "gone"), Check("connections", True, "x", True)]
    )
    assert (failing.status, failing.as_json()["status"]) == ("failing", "failing")


def test_the_overview_says_when_the_last_events_came_in_words(make_runtime):
    """The overview's "last chat message" line said "2030-06-01 09:00 UTC": a streamer in
    another zone had to work out when that was. It says how long ago, as !health does."""
    import asyncio

    from core.wiring.front_ends import dashboard_config
    from tests.support.clock import Clock
    from tests.support.events import chat_message

    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    runtime = make_runtime(clock=Clock(now))
    runtime.guilds.ensure_guild(111, "Guild A")
    runtime.guilds.set_kick_channel(111, "mine", "1001")
    asyncio.run(
        runtime.dispatcher(chat_message("hi", broadcaster="1001", at=now - timedelta(hours=3)))
    )

    lines = dashboard_config(runtime).guild_health(111).lines()

    (last,) = [line for line in lines if "last chat" in line]
    assert last == "ok   last chat message sent: 3 hours ago", lines


@pytest.mark.parametrize(
    ("before", "said"),
    [
        (timedelta(seconds=20), "just now"),
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=119), "119 minutes ago"),
        (timedelta(hours=2), "2 hours ago"),
        (timedelta(hours=47, minutes=59), "47 hours ago"),
        (timedelta(days=3, hours=5), "3 days ago"),
        (-timedelta(minutes=5), "just now"),  # a clock a little ahead of ours
    ],
)
def test_how_long_ago_in_words(before, said):
    from core.web.dashboard.connection_words import ago

    now = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    assert ago(now - before, now) == said


def test_a_servers_own_health_counts_no_other_servers_events(make_runtime):
    """The bus's backlog counts every server's events: the operator's, not a server's."""
    from core.wiring.front_ends import bot_services, dashboard_config
    from tests.support.events import chat_message

    runtime = make_runtime()
    runtime.bus.publish(chat_message("hi", broadcaster="333"))  # another server's channel
    [operator] = [line for line in runtime.health().lines() if " bus: " in line]
    assert operator == "ok   bus: embedded bus, 1 event(s) waiting"
    shown = {
        "dashboard": dashboard_config(runtime).guild_health(111).lines(),
        "!health": bot_services(runtime).health().lines(),
    }
    for where, lines in shown.items():
        [bus] = [line for line in lines if " bus: " in line]
        assert bus == "ok   bus: embedded bus answers", where


def test_the_operators_health_says_when_events_wait_too_long(make_runtime):
    """Events queued and not handled for minutes: no bot process handles them (or it is stuck).
    The web side still takes webhooks, so the report is degraded, not failing."""
    from tests.support.clock import Clock
    from tests.support.events import chat_message

    clock = Clock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    runtime = make_runtime(clock=clock)
    runtime.bus.publish(chat_message("hi"))
    clock.advance(minutes=2)
    assert "ok   bus: embedded bus, 1 event(s) waiting" in runtime.health().lines()

    clock.advance(minutes=18)
    report = runtime.health()

    assert report.status == "degraded"
    assert (
        "WARN bus: embedded bus, 1 event(s) waiting, the oldest for 20 min: no bot process "
        "handles them (is one running? its log says why)"
    ) in report.lines()
    assert report.as_json()["checks"]["bus"] == {"ok": True, "detail": "bus needs attention"}


def test_the_operators_health_says_when_outside_calls_are_overdue(make_runtime):
    """A call to a partner waiting well past its time: no worker makes them, or the partner
    stopped answering."""
    from core.outbox import store
    from core.outbox.store import Effect
    from tests.support.clock import Clock

    clock = Clock(datetime(2026, 11, 26, 12, tzinfo=UTC))
    runtime = make_runtime(clock=clock)
    assert "ok   outbox: no call to a partner is overdue" in runtime.health().lines()
    with runtime.engine.begin() as conn:
        store.enqueue(conn, Effect("discord", "post", 111, "post:1", {}), clock())
    clock.advance(minutes=2)
    assert "ok   outbox: no call to a partner is overdue" in runtime.health().lines()

    clock.advance(minutes=23)
    report = runtime.health()

    assert report.status == "degraded"
    assert (
        "WARN outbox: calls to Discord wait 25 min past their time: no bot process makes them "
        "or Discord does not answer (the bot's log says which)"
    ) in report.lines()
    assert report.as_json()["checks"]["outbox"] == {"ok": True, "detail": "outbox needs attention"}


def test_the_public_health_and_a_servers_view_name_no_bot_process(make_runtime):
    """A bot process's name is its host's name, pid and a random part: the operator's to read
    (``core health``), not the internet's (``/health``) nor a server's (the overview)."""
    from core.events import system_clock
    from core.ownership.leases import Leases
    from core.ownership.presence import Presence, discord_presence_name
    from core.wiring.front_ends import dashboard_config

    runtime = make_runtime(DISCORD_TOKEN="a-token-this-process-does-not-use")
    bot = Leases(runtime.engine, "ip-10-0-3-7-4711-ab12cd34", system_clock, seconds=8)
    assert Presence(bot, discord_presence_name(None), lambda: True).beat()

    answer = runtime.create_web_app().test_client().get("/health")

    assert answer.json["checks"]["discord"] == {"ok": True, "detail": "connected"}
    assert "ip-10-0-3-7" not in answer.get_data(as_text=True)
    [line] = [
        line for line in dashboard_config(runtime).guild_health(111).lines() if "discord" in line
    ]
    assert line == "ok   discord: connected"
    operator = "\n".join(runtime.health().lines())
    assert "discord: connected: discord (bot process ip-10-0-3-7-4711-ab12cd34)" in operator


def test_the_overview_of_a_twitch_only_server_does_not_fail_for_kick(make_runtime):
    from core.wiring.front_ends import dashboard_config

    runtime = make_runtime(TWITCH_CLIENT_ID="an-app", TWITCH_CLIENT_SECRET="s3cret")
    runtime.guilds.set_twitch_channel(111, "cozy", "456")

    lines = dashboard_config(runtime).guild_health(111).lines()

    assert (
        "ok   kick: this server follows no Kick channel, only Twitch (to follow one: choose the "
        "channel on this server's Kick & Twitch page)"
    ) in lines
    assert not any(line.startswith("FAIL kick") for line in lines)
