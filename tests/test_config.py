"""Settings: read once, typed, every problem reported in one plain line."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest

from core.config import Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_no_setting_at_all():
    settings = load_settings({}, env_file=None)
    assert settings.database.url is None
    assert settings.redis.url is None
    assert (settings.web.host, settings.web.port) == ("127.0.0.1", 8080)
    assert settings.kick.webhook_max_age_seconds == 600
    assert settings.watchtime.interval_seconds == 60
    assert settings.watchtime.active_window_minutes == 5
    assert settings.roles.update_interval_seconds == 600
    assert settings.web.link_expiry_minutes == 60


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("KICK_WEBHOOK_MAX_AGE_SECONDS", "ten",
         "KICK_WEBHOOK_MAX_AGE_SECONDS must be a whole number of seconds, got 'ten'"),
        ("WATCH_INTERVAL_SECONDS", "1.5",
         "WATCH_INTERVAL_SECONDS must be a whole number of seconds, got '1.5'"),
        ("WATCH_INTERVAL_SECONDS", "0", "WATCH_INTERVAL_SECONDS must be at least 1, got 0"),
        ("LIVE_MAX_STREAMS", "5000", "LIVE_MAX_STREAMS must be at most 400, got 5000"),
        ("WEB_THREADS", "100000", "WEB_THREADS must be at most 128, got 100000"),
        ("PORT", "http", "PORT must be a whole number, got 'http'"),
        ("PORT", "70000", "PORT must be at most 65535, got 70000"),
        ("PORT", "-1", "PORT must be at least 0, got -1"),
        ("BOT_METRICS_PORT", "metrics", "BOT_METRICS_PORT must be a whole number, got 'metrics'"),
        ("BOT_METRICS_PORT", "65536", "BOT_METRICS_PORT must be at most 65535, got 65536"),
        ("KICK_PUSHER_ENABLED", "maybe", "KICK_PUSHER_ENABLED must be true or false, got 'maybe'"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT must be one of text, json, got 'xml'"),
        ("DATABASE_URL", "mysql://x",
         "DATABASE_URL must be a sqlite:// or postgresql:// URL, not mysql"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL must start with redis://, rediss:// or unix://"),
        ("KICK_API_BASE_URL", "api.kick.com",
         "KICK_API_BASE_URL must be an http:// or https:// URL with a host, got 'api.kick.com'"),
        ("LINK_EXPIRY_MINUTES", "1h",
         "LINK_EXPIRY_MINUTES must be a whole number of minutes, got '1h'"),
        ("LINK_EXPIRY_MINUTES", "2", "LINK_EXPIRY_MINUTES must be at least 5, got 2"),
        ("LINK_EXPIRY_MINUTES", "10000", "LINK_EXPIRY_MINUTES must be at most 1440, got 10000"),
        ("STREAMELEMENTS_API_URL", "se.example",
         "STREAMELEMENTS_API_URL must be an http:// or https:// URL with a host, got 'se.example'"),
        ("SLOT_CALLS_CHANNEL_ID", "#slots",
         "SLOT_CALLS_CHANNEL_ID must be a Discord id (digits, from 1 to 9223372036854775807), "
         "got '#slots'"),
        ("TWITCH_EVENTSUB_SECRET", "short",
         "TWITCH_EVENTSUB_SECRET must be 10 to 100 characters, got 5"),
        ("TWITCH_EVENTSUB_SECRET", "x" * 101,
         "TWITCH_EVENTSUB_SECRET must be 10 to 100 characters, got 101"),
        ("TWITCH_EVENTSUB_SECRET", "geheimnis-schl\u00fcssel-2024",
         "TWITCH_EVENTSUB_SECRET must be plain ASCII characters (Twitch refuses others)"),
        ("TWITCH_EVENTSUB_SECRET", "secret with spaces",
         "TWITCH_EVENTSUB_SECRET must be plain ASCII characters (Twitch refuses others)"),
        ("DISCORD_TOKEN", "MTIz.abc\u200b.def",
         "DISCORD_TOKEN holds a character no bot token has (a pasted space or quote?); "
         "13 characters"),
        ("DISCORD_TOKEN", "MTIz.abc\u00a0def",
         "DISCORD_TOKEN holds a character no bot token has (a pasted space or quote?); "
         "12 characters"),
        ("DISCORD_TOKEN", "\u2019MTIz.abc.def\u2019",
         "DISCORD_TOKEN holds a character no bot token has (a pasted space or quote?); "
         "14 characters"),
        ("DATA_DIR", "da\x00ta", "DATA_DIR holds a control character: name a folder."),
        ("DATA_DIR", "data\nmore", "DATA_DIR holds a control character: name a folder."),
        ("KICK_PUSHER_URL", "notaurl",
         "KICK_PUSHER_URL must be a ws:// or wss:// URL with a host, got 'notaurl'"),
        ("KICK_PUSHER_URL", "https://ws-us2.pusher.com/app/x",
         "KICK_PUSHER_URL must be a ws:// or wss:// URL with a host, "
         "got 'https://ws-us2.pusher.com/app/x'"),
        ("TWITCH_EVENTSUB_WS_URL", "wss://",
         "TWITCH_EVENTSUB_WS_URL must be a ws:// or wss:// URL with a host, got 'wss://'"),
    ],
)  # fmt: skip
def test_each_bad_value_is_one_plain_line(name, value, problem):
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value}, env_file=None)
    assert raised.value.problems == [problem]


@pytest.mark.parametrize(
    ("value", "port"), [(None, None), ("", None), ("  ", None), ("9101", 9101)]
)
def test_a_bot_process_serves_health_and_metrics_only_where_told(value, port):
    environ = {} if value is None else {"BOT_METRICS_PORT": value}
    assert load_settings(environ, env_file=None).web.bot_metrics_port == port


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("DATABASE_URL", "postgresql://sk:s3cret@db.example:port/streamkeeper",
         "DATABASE_URL must have a port from 1 to 65535 (digits) after the host"),
        ("DATABASE_URL", "postgres://sk:s3cret@db.example:70000/streamkeeper",
         "DATABASE_URL must have a port from 1 to 65535, got 70000"),
        ("DATABASE_URL", "postgresql://sk:s3cret@db.example:0/streamkeeper",
         "DATABASE_URL must have a port from 1 to 65535, got 0"),
        ("DATABASE_URL", "postgres", "DATABASE_URL must be a sqlite:// or postgresql:// URL"),
        ("DATABASE_URL", "postgresql+asyncpg://sk:s3cret@127.0.0.1:1/sk",
         "DATABASE_URL must be a sqlite:// or postgresql:// URL, not postgresql+asyncpg"),
        ("DATABASE_URL", "sqlitex://",
         "DATABASE_URL must be a sqlite:// or postgresql:// URL, not sqlitex"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:port/0",
         "REDIS_URL must have a port from 1 to 65535 (digits) after the host"),
        ("REDIS_URL", "rediss://:s3cret@127.0.0.1:65536/0",
         "REDIS_URL must have a port from 1 to 65535 (digits) after the host"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:0/0",
         "REDIS_URL must have a port from 1 to 65535, got 0"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/0?socket_timeout=soon",
         "REDIS_URL is not a URL the Redis client reads: check its database number "
         "(redis://host:6379/0) and its ?options"),
        ("REDIS_URL", "unix://:s3cret@/run/redis.sock?db=first",
         "REDIS_URL is not a URL the Redis client reads: check its database number "
         "(redis://host:6379/0) and its ?options"),
    ],
)  # fmt: skip
def test_a_url_its_driver_would_refuse_is_one_line_without_the_password(name, value, problem):
    """These passed the check of how the URL starts, then stopped every command with the
    driver's traceback (SQLAlchemy's ``make_url``, redis-py's ``from_url``)."""
    with pytest.raises(SettingsError) as raised:
        load_settings({name: value}, env_file=None)
    assert raised.value.problems == [problem]
    assert "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "sqlite://"),
        ("DATABASE_URL", "sqlite:///data/streamkeeper.sqlite3"),
        ("DATABASE_URL", "sqlite+pysqlite:///streamkeeper.sqlite3"),
        ("DATABASE_URL", "postgres://sk:s3cret@db.example/streamkeeper"),
        ("DATABASE_URL", "postgresql://sk:s3cret@db.example:5432/streamkeeper"),
        ("DATABASE_URL", "postgresql+psycopg://sk:s3cret@[::1]:65535/streamkeeper"),
        ("DATABASE_URL", "postgresql:///streamkeeper?host=/run/postgresql"),
        ("REDIS_URL", "redis://127.0.0.1"),
        ("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/0"),
        ("REDIS_URL", "rediss://user:s3cret@redis.example:6380/1"),
        ("REDIS_URL", "unix:///run/redis.sock?db=2"),
    ],
)
def test_the_urls_the_drivers_read_are_taken(name, value):
    settings = load_settings({name: value}, env_file=None)
    assert value in (settings.database.url, settings.redis.url)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {"PORT": "x", "LOG_LEVEL": "loud", "ACTIVE_WINDOW_MINUTES": "-1"}, env_file=None
        )
    assert len(raised.value.problems) == 3


def test_environment_wins_over_the_dot_env_file(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=9000\nKICK_CHANNEL=from_file\nDISCORD_GUILD_ID=1234\n")
    settings = load_settings({"PORT": "9100"}, env_file=env_file)
    assert settings.web.port == 9100
    assert settings.kick.channel == "from_file"


@pytest.mark.parametrize(
    "content",
    ["OPERATOR_NAME=Ren\u00e9\n".encode("cp1252"), "OPERATOR_NAME=Rene\n".encode("utf-16")],
    ids=["windows-1252", "powershell-utf-16"],
)
def test_a_dot_env_file_that_is_not_utf8_is_one_plain_line(tmp_path, content):
    env_file = tmp_path / ".env"
    env_file.write_bytes(content)
    with pytest.raises(SettingsError) as raised:
        load_settings({}, env_file=env_file)
    assert raised.value.problems == [f"{env_file} is not UTF-8 text: save it as UTF-8 (no BOM)."]


def test_websocket_urls_of_fakes_and_proxies_are_taken():
    settings = load_settings(
        {"KICK_PUSHER_URL": "ws://127.0.0.1:8765/app/k?protocol=7",
         "TWITCH_EVENTSUB_WS_URL": "wss://eventsub.example:8443/ws"},
        env_file=None,
    )  # fmt: skip
    assert settings.kick.pusher_url == "ws://127.0.0.1:8765/app/k?protocol=7"
    assert settings.twitch.eventsub_ws_url == "wss://eventsub.example:8443/ws"


def test_secrets_stay_out_of_the_settings_repr():
    settings = load_settings(
        {
            "DISCORD_TOKEN": "tok-123",
            "KICK_CLIENT_SECRET": "kick-456",
            "FLASK_SECRET_KEY": "f-789-a-key-of-32-characters-or-more",
        },
        env_file=None,
    )
    text = repr(settings)
    for secret in ("tok-123", "kick-456", "f-789-a-key-of-32-characters-or-more"):
        assert secret not in text


def test_importing_core_reads_no_environment(monkeypatch):
    import importlib

    import core.runtime

    monkeypatch.setenv("PORT", "not a number")
    importlib.reload(core.runtime)  # would fail if a module read settings at import time


def test_env_example_lists_every_setting_the_code_reads():
    source = (ROOT / "core" / "config.py").read_text()
    read = set(re.findall(r'read\.\w+\(\s*"([A-Z_]+)"', source)) | {"DATABASE_URL", "REDIS_URL"}
    example = set(re.findall(r"^([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read <= example, f"missing from .env.example: {sorted(read - example)}"
    reference = (ROOT / "docs" / "configuration.md").read_text()
    undocumented = sorted(name for name in read | example if f"`{name}`" not in reference)
    assert not undocumented, f"not in docs/configuration.md: {undocumented}"


def documented_settings() -> list[tuple[str, str]]:
    """(setting, default cell) of each row of docs/configuration.md's table, a row of two
    settings (``KICK_CLIENT_ID``, ``KICK_CLIENT_SECRET``) giving both."""
    page = (ROOT / "docs" / "configuration.md").read_text()
    rows = re.findall(r"^\| (`[A-Z].*?) \| (.*?) \|", page, re.MULTILINE)
    return [(name, default) for names, default in rows for name in re.findall(r"`(\w+)`", names)]


def test_each_setting_has_one_row_in_the_configuration_page():
    names = [name for name, _ in documented_settings()]
    assert len(names) > 50  # the pattern found the table
    assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_every_setting_the_pages_list_is_read_by_the_code():
    """No row of docs/configuration.md or of README's essentials names a setting nothing
    reads (a renamed or removed one)."""
    known = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', (ROOT / "core" / "config.py").read_text()))
    readme = re.findall(r"^\| (`[A-Z].*?) \|", (ROOT / "README.md").read_text(), re.MULTILINE)
    listed = {name for name, _ in documented_settings()}
    listed |= {name for row in readme for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert "DISCORD_TOKEN" in listed
    assert sorted(listed - known) == []


def test_the_default_the_configuration_page_gives_is_the_default():
    """Setting a documented default (``8080``) explicitly changes nothing. A default told in
    words (generated, Kick's key) is not a value to set, and an empty value reads as unset: a
    row that says "empty" is checked against .env.example instead, which leaves it empty (its
    values are the defaults: the next test)."""
    example = dict(re.findall(r"^([A-Z_]+)=(.*)$", (ROOT / ".env.example").read_text(), re.M))
    unset = load_settings({}, env_file=None)
    checked, wrong = 0, []
    for name, default in documented_settings():
        value = re.fullmatch(r"`([^`]*)`", default)
        if default == "empty" and example.get(name):
            wrong.append(f"{name}: empty, .env.example {example[name]}")
        if value is None:
            continue
        checked += 1
        if load_settings({name: value.group(1)}, env_file=None) != unset:
            wrong.append(f"{name}: {default}")
    assert checked > 30
    assert not wrong, f"not the default: {wrong}"


def test_a_copy_of_env_example_changes_no_default():
    """A newcomer's ``cp .env.example .env`` runs as no ``.env`` would: each value it gives is
    the default."""
    given = re.findall(r"^([A-Z_]+)=(.+)$", (ROOT / ".env.example").read_text(), re.MULTILINE)
    assert len(given) > 20
    unset = load_settings({}, env_file=None)
    changed = [f"{name}={value}" for name, value in given
               if load_settings({name: value}, env_file=None) != unset]  # fmt: skip
    assert not changed, f"not the default: {changed}"


def test_settings_sections_are_all_typed():
    assert all(field.type for field in fields(Settings))


def test_beacon_relays_default_to_several_and_the_chain_to_quicknet():
    raffle = load_settings({}, env_file=None).raffle
    assert len(raffle.beacon_urls) >= 2
    assert raffle.beacon_chain == "quicknet"


def test_the_one_relay_setting_is_a_one_item_list_and_the_list_wins():
    one = load_settings({"RAFFLE_BEACON_URL": "http://127.0.0.1:9/"}, env_file=None).raffle
    assert one.beacon_urls == ("http://127.0.0.1:9",)
    both = load_settings(
        {
            "RAFFLE_BEACON_URL": "http://127.0.0.1:9",
            "RAFFLE_BEACON_URLS": "http://127.0.0.1:7/, https://relay.example",
        },
        env_file=None,
    ).raffle
    assert both.beacon_urls == ("http://127.0.0.1:7", "https://relay.example")


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("RAFFLE_BEACON_URLS", "ftp://relay.example", "http:// or https:// URLs"),
        ("RAFFLE_BEACON_URLS", " , ", "http:// or https:// URLs"),
        ("RAFFLE_BEACON_CHAIN", "mainnet", "quicknet, default or a chain hash"),
        ("RAFFLE_BEACON_CHAIN", "ab" * 31, "quicknet, default or a chain hash"),
    ],
)
def test_bad_beacon_settings_are_refused_with_their_name(name, value, words):
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value}, env_file=None)
    assert name in str(refused.value)
    assert words in str(refused.value)


def test_the_beacon_chain_may_be_named_or_hashed():
    named = load_settings({"RAFFLE_BEACON_CHAIN": "Default"}, env_file=None).raffle
    assert named.beacon_chain == "default"
    hashed = load_settings({"RAFFLE_BEACON_CHAIN": "AB" * 32}, env_file=None).raffle
    assert hashed.beacon_chain == "ab" * 32


@pytest.mark.parametrize(
    "name", ["DISCORD_GUILD_ID", "RAFFLE_ANNOUNCEMENT_CHANNEL_ID", "SLOT_CALLS_CHANNEL_ID"]
)
@pytest.mark.parametrize("value", ["0", "-5", "9" * 30, str(2**63), "١٢٣", "12 34", "1e18"])
def test_a_discord_id_setting_takes_ascii_digits_in_discords_range(name, value):
    # 30 nines used to pass, then broke the first query that used them (OverflowError).
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value}, env_file=None)
    assert refused.value.problems == [
        f"{name} must be a Discord id (digits, from 1 to 9223372036854775807), got {value!r}"
    ]


def test_a_discord_id_setting_takes_the_largest_snowflake():
    settings = load_settings({"DISCORD_GUILD_ID": str(2**63 - 1)}, env_file=None)
    assert settings.discord.guild_id == 2**63 - 1


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PORT", "٨٠٨٠", "PORT must be a whole number, got '٨٠٨٠'"),
        ("PORT", "8_080", "PORT must be a whole number, got '8_080'"),
        # With no ceiling of their own these once took any size (timedelta overflowed later).
        ("ACTIVE_WINDOW_MINUTES", "9" * 30,
         "ACTIVE_WINDOW_MINUTES must be at most 1000000000, got a number of 30 digits"),
        ("WATCH_INTERVAL_SECONDS", "9" * 5000,
         "WATCH_INTERVAL_SECONDS must be at most 1000000000, got a number of 5,000 digits"),
        ("WEB_THREADS", "-" + "9" * 30,
         "WEB_THREADS must be at least 1, got a number of 30 digits"),
        ("LOG_LEVEL", "\u0131nfo",  # a dotless i: upper-cased, it is "INFO"
         "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got '\u0131nfo'"),
        ("SHUFFLE_ALLOWED_HOSTS", "\u212aick.com",
         "SHUFFLE_ALLOWED_HOSTS must be a comma-separated list of host or host:port "
         "(port 1 to 65535), got '\u212aick.com'"),
        ("SHUFFLE_ALLOWED_HOSTS", "shuffle.com:99999",
         "SHUFFLE_ALLOWED_HOSTS must be a comma-separated list of host or host:port "
         "(port 1 to 65535), got 'shuffle.com:99999'"),
        ("KICK_API_BASE_URL", "https://",
         "KICK_API_BASE_URL must be an http:// or https:// URL with a host, got 'https://'"),
        ("KICK_API_BASE_URL", "https://api kick.com",
         "KICK_API_BASE_URL must be an http:// or https:// URL with a host, "
         "got 'https://api kick.com'"),
        ("OAUTH_BASE_URL", "https://bot.example:99999",
         "OAUTH_BASE_URL must be an http:// or https:// URL with a host, "
         "got 'https://bot.example:99999'"),
        ("RAFFLE_BEACON_URLS", "https://api.drand.sh,http://\ud800",
         "RAFFLE_BEACON_URLS must be a comma-separated list of http:// or https:// URLs, "
         "got 'https://api.drand.sh,http://\\ud800'"),
        ("DISCORD_API_BASE_URL", "https://\x00",
         "DISCORD_API_BASE_URL must be an http:// or https:// URL with a host, got 'https://\\x00'"),
    ],
)  # fmt: skip
def test_settings_take_what_the_program_can_use_later(name, value, problem):
    with pytest.raises(SettingsError) as refused:
        load_settings({name: value}, env_file=None)
    assert refused.value.problems == [problem]


def test_a_long_bad_value_is_quoted_in_part():
    with pytest.raises(SettingsError) as refused:
        load_settings({"KICK_PUSHER_ENABLED": "x" * 5000}, env_file=None)
    assert refused.value.problems == [
        f"KICK_PUSHER_ENABLED must be true or false, got {'x' * 40!r}... (5,000 characters)"
    ]


@pytest.mark.parametrize(("shard_id", "count"), [(" ", "2"), ("1", " ")])
def test_a_blank_shard_setting_counts_as_unset(shard_id, count):
    with pytest.raises(SettingsError) as refused:
        load_settings({"DISCORD_SHARD_ID": shard_id, "DISCORD_SHARD_COUNT": count}, env_file=None)
    assert refused.value.problems == [
        "DISCORD_SHARD_ID and DISCORD_SHARD_COUNT go together: set both or neither"
    ]


@pytest.mark.parametrize("channel", ["https://kick.com/streamer", "my streamer", "kick.com/x"])
def test_a_kick_channel_that_is_no_channel_name_is_refused_at_start(channel):
    """Not left to a log line after the start (Kick has no channel of that name)."""
    with pytest.raises(SettingsError) as raised:
        load_settings({"KICK_CHANNEL": channel, "DISCORD_GUILD_ID": "42"}, env_file=None)
    assert raised.value.problems == [
        "KICK_CHANNEL must be a Kick channel name (letters, digits, - and _, at most 25), "
        f"got {channel!r}"
    ]


def test_a_kick_channel_typed_with_its_at_sign_is_taken():
    settings = load_settings({"KICK_CHANNEL": "@Streamer_1", "DISCORD_GUILD_ID": "42"}, None)
    assert settings.kick.channel == "@Streamer_1"
