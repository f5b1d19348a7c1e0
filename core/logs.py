"""Logging set-up: readable lines by default, JSON lines with ``LOG_FORMAT=json``; a guild is
named by its id and, where the bot knows it, its name ("guild 222 (The Leles)")."""

from __future__ import annotations

import functools
import json
import logging
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime

from core.config import LoggingSettings

_STANDARD = set(vars(logging.makeLogRecord({})))

# A %-conversion of a log message ("%%" included, so it can be skipped).
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([a-zA-Z%])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
NAME_LIMIT = 100  # characters of a guild's name in a log line
REMEMBERED = 10_000  # names kept for when the lookup cannot say (Discord reconnecting)


@functools.lru_cache(maxsize=2048)
def _guild_positions(message: str) -> tuple[tuple[int, int, int], ...]:
    """Where ``message`` has "guild %s" or "guild %d": (argument index, start, end) of each
    conversion, so that its argument can be named."""
    found = []
    index = 0
    for match in _CONVERSION.finditer(message):
        if match.group(1) == "%":
            continue
        if match.group(0) in ("%s", "%d") and message[: match.start()].lower().endswith("guild "):
            found.append((index, match.start(), match.end()))
        index += match.group(0).count("*") + 1
    return tuple(found)


class GuildNames(logging.Filter):
    """Turns "guild %s" with a guild id into "guild 222 (The Leles)" when ``lookup`` (the
    connected bot's cache) or an earlier line knows the name; otherwise the line is unchanged.
    One filter on the handler names guilds in every module's lines, none of which changes."""

    def __init__(self, lookup: Callable[[int], str | None] | None = None) -> None:
        super().__init__()
        self.lookup = lookup
        self._known: dict[int, str] = {}

    def use(self, lookup: Callable[[int], str | None] | None) -> None:
        """Where names come from (the runtime sets the bot's cache; None: only remembered)."""
        self.lookup = lookup

    def name_of(self, guild_id: int) -> str | None:
        name = None
        if self.lookup is not None:
            try:
                name = self.lookup(guild_id)
            except Exception:  # a log line never fails for want of a name
                name = None
        if name:
            name = _CONTROL.sub(" ", name).strip()[:NAME_LIMIT]
            if len(self._known) < REMEMBERED or guild_id in self._known:
                self._known[guild_id] = name
            return name or None
        return self._known.get(guild_id)

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.msg, str) or not isinstance(record.args, tuple):
            return True
        positions = _guild_positions(record.msg)
        if not positions:
            return True
        args = list(record.args)
        message = record.msg
        for index, start, end in reversed(positions):
            if index >= len(args):
                continue
            guild_id = _as_guild_id(args[index])
            name = None if guild_id is None else self.name_of(guild_id)
            if name is None:
                continue
            args[index] = f"{guild_id} ({name})"
            message = message[:start] + "%s" + message[end:]
        record.msg, record.args = message, tuple(args)
        return True


def _as_guild_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return int(value)
    return None


# Logging is one per process, and so is this filter: the runtime tells it where names are.
guild_names = GuildNames()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(settings: LoggingSettings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )
    handler.addFilter(guild_names)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.level)
    # Quiet libraries that log every request or heartbeat at INFO.
    for noisy in ("waitress.queue", "discord.gateway", "httpx", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
