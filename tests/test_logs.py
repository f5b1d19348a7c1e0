"""Log lines: readable by default, one JSON object per line with LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging

import pytest

from core.config import LoggingSettings
from core.logs import configure_logging


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
