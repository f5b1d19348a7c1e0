"""The settings' readers, given any text (NUL, lone surrogates, other scripts' digits, numbers of
thousands of digits), return a value of their type within their bounds or note a problem, which
``load_settings`` raises as :class:`SettingsError`; nothing else escapes."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from core.config import load_settings
from core.settings_reader import WHOLE_MAX, SettingsError, SettingsReader, http_url

BIGINT_MAX = 2**63 - 1
# ASCII digits and others that int() reads: Arabic-Indic, Devanagari, fullwidth.
DIGITS = "0123456789" + "".join(chr(c) for c in (0x660, 0x663, 0x669, 0x966, 0x969, 0xFF10, 0xFF19))

raw_values = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),  # surrogates and NUL included
    st.text(DIGITS + "+-_ ", min_size=1, max_size=25),
    st.integers(-(10**40), 10**40).map(str),
    st.integers(0, 4).map(lambda n: "9" * (10**n) * 5),  # up to 50,000 digits
    st.sampled_from(["0", "-0", str(BIGINT_MAX), str(BIGINT_MAX + 1), "\x00", "\ud800"]),
    st.text(st.characters(exclude_categories=()), max_size=20).map(lambda t: "https://" + t),
)


def reader(raw: str) -> SettingsReader:
    return SettingsReader({"A": raw, "B": raw})


@given(raw_values)
def test_a_whole_number_is_in_its_bounds_or_a_problem(raw):
    read = reader(raw)
    value = read.whole("A", 7, minimum=1)
    bounded = read.whole("B", 7, minimum=0, maximum=100)
    assert type(value) is int
    assert type(bounded) is int
    assert value == 7 or 1 <= value <= WHOLE_MAX
    assert bounded == 7 or 0 <= bounded <= 100
    assert value == 7 or re.fullmatch(r"[+-]?[0-9]+", raw.strip())


@given(raw_values)
def test_a_discord_id_is_a_snowflake_or_a_problem(raw):
    read = reader(raw)
    value = read.snowflake("A")
    assert value is None or (type(value) is int and 1 <= value <= BIGINT_MAX)
    if value is not None:
        assert raw.strip().isascii()
        assert not read.problems


@given(raw_values, raw_values)
def test_a_shard_is_an_id_below_its_count_or_a_problem(shard_id, count):
    read = SettingsReader({"A": shard_id, "B": count})
    shard = read.shard("A", "B")
    assert shard is None or (type(shard[0]) is int and 0 <= shard[0] < shard[1] <= 1000)


@given(raw_values)
def test_the_text_readers_give_their_type_or_a_problem(raw):
    read = reader(raw)
    assert read.flag("A", None) in (True, False, None)
    assert read.choice("A", "INFO", ("DEBUG", "INFO"), upper=True) in ("DEBUG", "INFO")
    hosts = read.hosts("A", ("default.example",))
    assert all(re.fullmatch(r"[a-z0-9.-]+(:[0-9]{1,5})?", host) for host in hosts)
    assert all(1 <= int(host.partition(":")[2] or 1) <= 65535 for host in hosts)
    urls = read.urls("A", None, ("https://default.example",))
    url = read.url("B")
    assert all(http_url(u) for u in urls)
    assert url is None or http_url(url)
    chain = read.chain("A", "quicknet")
    assert chain in ("quicknet", "default") or re.fullmatch(r"[0-9a-f]{64}", chain)
    assert all(isinstance(problem, str) for problem in read.problems)


NAMES = [
    "DISCORD_GUILD_ID",
    "RAFFLE_ANNOUNCEMENT_CHANNEL_ID",
    "SLOT_CALLS_CHANNEL_ID",
    "PORT",
    "WATCH_INTERVAL_SECONDS",
    "ACTIVE_WINDOW_MINUTES",
    "DISCORD_SHARD_ID",
    "KICK_PUSHER_ENABLED",
    "LOG_LEVEL",
    "SHUFFLE_ALLOWED_HOSTS",
    "RAFFLE_BEACON_URLS",
    "RAFFLE_BEACON_CHAIN",
    "KICK_API_BASE_URL",
]


@given(st.dictionaries(st.sampled_from(NAMES), raw_values, max_size=4))
def test_settings_load_or_raise_settings_error(environ):
    try:
        settings = load_settings(environ, env_file=None)
    except SettingsError:
        return
    for snowflake in (
        settings.discord.guild_id,
        settings.raffle.announcement_channel_id,
        settings.slot_calls.channel_id,
    ):
        assert snowflake is None or 1 <= snowflake <= BIGINT_MAX
    assert 1 <= settings.watchtime.active_window_minutes <= WHOLE_MAX
