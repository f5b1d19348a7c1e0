"""Log lines: readable by default, one JSON object per line with LOG_FORMAT=json."""

from __future__ import annotations

import io
import json
import logging

import pytest

from core.config import LoggingSettings
from core.logs import GuildNames, configure_logging, guild_names


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_message_and_extra_fields(capsys, restore_logging):
    configure_logging(LoggingSettings(level="INFO", format="json"))
    logging.getLogger("core.test").info("guild %s: ticked", 42, extra={"guild_id": 42})
    line = json.loads(capsys.readouterr().err.strip())
    assert line["message"] == "guild 42: ticked"
    assert (line["level"], line["logger"], line["guild_id"]) == ("INFO", "core.test", 42)


def test_text_lines_are_readable_and_respect_the_level(capsys, restore_logging):
    configure_logging(LoggingSettings(level="WARNING", format="text"))
    logging.getLogger("core.test").info("hidden")
    logging.getLogger("core.test").warning("shown")
    err = capsys.readouterr().err
    assert "hidden" not in err
    assert "WARNING core.test: shown" in err


def _lines_with(names: GuildNames, *calls: tuple) -> list[str]:
    """What a handler with ``names`` writes for each (message, *args) logged."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(names)
    logger = logging.getLogger("core.test.guild_names")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for message, *args in calls:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return stream.getvalue().splitlines()


def test_a_guild_is_named_by_its_id_and_its_name_where_one_is_known():
    names = GuildNames({222: "The Leles", 333: "Other"}.get)
    assert _lines_with(
        names,
        ("guild %s: member %s linked a %s account", 222, 42, "kick"),
        ("raffle announcement channel %s is not in guild %d; skipped", 9, 333),
        ("guild %s: %s %s%%", "222", "x", 5),
        ("guild %s: a guild nobody named", 444),
        ("no guild here: %s", 222),
        ("channel %s, guild %s", "not-a-number", 222),
    ) == [
        "guild 222 (The Leles): member 42 linked a kick account",
        "raffle announcement channel 9 is not in guild 333 (Other); skipped",
        "guild 222 (The Leles): x 5%",
        "guild 444: a guild nobody named",
        "no guild here: 222",
        "channel not-a-number, guild 222 (The Leles)",
    ]


def test_a_name_is_one_clean_line_and_a_failing_lookup_changes_nothing():
    names = GuildNames({1: "evil\nFAKE ERROR line\u2028" + "x" * 300}.get)
    [line] = _lines_with(names, ("guild %s: ticked", 1))
    assert line.startswith("guild 1 (evil FAKE ERROR line")
    assert len(line) < 130

    def broken(guild_id: int) -> str | None:
        raise RuntimeError("the bot is gone")

    assert _lines_with(GuildNames(broken), ("guild %s: ticked", 1)) == ["guild 1: ticked"]


def test_a_name_seen_once_is_kept_while_the_bot_is_away():
    known = {222: "The Leles"}
    names = GuildNames(known.get)
    _lines_with(names, ("guild %s: ticked", 222))
    known.clear()  # Discord reconnecting: its cache is empty
    assert _lines_with(names, ("guild %s: ticked", 222)) == ["guild 222 (The Leles): ticked"]


def test_the_configured_handler_names_guilds_as_the_runtime_says(capsys, restore_logging):
    configure_logging(LoggingSettings(level="INFO", format="json"))
    guild_names.use({222: "The Leles"}.get)
    try:
        logging.getLogger("core.test").info("guild %s: ticked", 222, extra={"guild_id": 222})
    finally:
        guild_names.use(None)
    line = json.loads(capsys.readouterr().err.strip())
    assert (line["message"], line["guild_id"]) == ("guild 222 (The Leles): ticked", 222)
