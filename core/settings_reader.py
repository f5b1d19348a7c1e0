"""Reading settings' raw strings: each value checked and converted, every problem collected
(not just the first) so the start refuses with all of them at once (``SettingsError``).
:mod:`core.config` builds the typed settings with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from core.features.quoting import shown
from core.features.typed_numbers import BIGINT_MAX, whole_in

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_HOST_ENTRY = re.compile(r"[a-z0-9]([a-z0-9.-]{0,252}[a-z0-9])?(:([0-9]{1,5}))?")
_CHAIN_HASH = re.compile(r"[0-9a-f]{64}")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_LOGIN = re.compile(r"[a-z0-9_]{1,25}")  # a Twitch login, a Kick username (lower case)
MAX_LOGINS = 200
# A whole-number setting with no ceiling of its own stops here: a billion seconds or minutes
# still fits a timedelta, a sleep and a date, as ``int()``'s 4,300 digits do not.
WHOLE_MAX = 1_000_000_000


def http_url(text: str, schemes: tuple[str, ...] = ("http://", "https://")) -> bool:
    """Whether ``text`` is an http:// or https:// URL (or of ``schemes``) with a host, a port
    (if any) from 1 to 65535, and only printable ASCII without spaces (what an HTTP client
    takes as it is)."""
    if not (text.isascii() and text.isprintable()) or " " in text:
        return False
    if not text.startswith(schemes):
        return False
    try:
        parts = urlsplit(text)
        port = parts.port  # ValueError: not a number, or over 65535
    except ValueError:
        return False
    return bool(parts.hostname) and port != 0


def _host_entry(entry: str) -> bool:
    match = _HOST_ENTRY.fullmatch(entry)
    return match is not None and (match.group(3) is None or 1 <= int(match.group(3)) <= 65535)


class SettingsReader:
    """Reads raw strings and collects every problem instead of stopping at the first."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name, "").strip()
        return value or default

    def _convert(self, name: str, default: T, convert: Callable[[str], T], expected: str) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return convert(raw)
        except ValueError:
            self.problems.append(f"{name} must be {expected}, got {shown(raw)}")
            return default

    def whole(
        self,
        name: str,
        default: int,
        *,
        minimum: int = 0,
        maximum: int = WHOLE_MAX,
        unit: str = "",
    ) -> int:
        """A whole number in ASCII digits (a sign allowed) from ``minimum`` to ``maximum``."""
        raw = self.text(name)
        if raw is None:
            return default
        if not _WHOLE.fullmatch(raw):
            expected = f"a whole number of {unit}" if unit else "a whole number"
            self.problems.append(f"{name} must be {expected}, got {shown(raw)}")
            return default
        digits = raw.lstrip("+-").lstrip("0")
        if len(digits) > len(str(BIGINT_MAX)):  # past every bound; int() may refuse it too
            bound = f"at least {minimum}" if raw.startswith("-") else f"at most {maximum}"
            self.problems.append(f"{name} must be {bound}, got a number of {len(digits):,} digits")
            return default
        value = int(raw)
        if value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {value}")
            return default
        if value > maximum:
            self.problems.append(f"{name} must be at most {maximum}, got {value}")
            return default
        return value

    def optional_whole(self, name: str, *, maximum: int = WHOLE_MAX) -> int | None:
        """A whole number from 0 to ``maximum``, or None when the setting is empty."""
        if self.text(name) is None:
            return None
        return self.whole(name, 0, maximum=maximum)

    def shard(self, id_name: str, count_name: str) -> tuple[int, int] | None:
        """(shard id, shard count) when both are set, with 0 <= id < count; None when neither."""
        given = (self.text(id_name) is not None, self.text(count_name) is not None)
        if not any(given):
            return None
        count = self.whole(count_name, 0, minimum=1, maximum=1000)
        shard_id = self.whole(id_name, 0, minimum=0)
        if not all(given):
            self.problems.append(f"{id_name} and {count_name} go together: set both or neither")
            return None
        if count and shard_id >= count:
            self.problems.append(f"{id_name} must be below {count_name} ({count}), got {shard_id}")
            return None
        return (shard_id, count) if count else None

    def snowflake(self, name: str) -> int | None:
        """A Discord id as Developer Mode's Copy ID gives it: ASCII digits, 1 to 2**63 - 1."""
        raw = self.text(name)
        if raw is None:
            return None
        value = whole_in(raw, low=1)
        if value is None:
            self.problems.append(
                f"{name} must be a Discord id (digits, from 1 to {BIGINT_MAX}), got {shown(raw)}"
            )
        return value

    def flag(self, name: str, default: bool | None) -> bool | None:
        def convert(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(raw)

        return self._convert(name, default, convert, "true or false")

    def choice(self, name: str, default: str, choices: tuple[str, ...], *, upper: bool) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        value = raw.upper() if upper else raw.lower()
        # ASCII only: the dotless i upper-cased is "I", the "fi" ligature is "FI".
        if not raw.isascii() or value not in choices:
            self.problems.append(f"{name} must be one of {', '.join(choices)}, got {shown(raw)}")
            return default
        return value

    def hosts(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        """A comma-separated list of ``host`` or ``host:port`` entries (no scheme, no path)."""
        raw = self.text(name)
        if raw is None:
            return default
        entries = tuple(entry.strip().lower() for entry in raw.split(",") if entry.strip())
        # ASCII first: the Kelvin sign lowers to "k".
        bad = not raw.isascii() or not all(_host_entry(e) for e in entries)
        if bad or not entries:
            self.problems.append(
                f"{name} must be a comma-separated list of host or host:port (port 1 to 65535), "
                f"got {shown(raw)}"
            )
            return default
        return entries

    def logins(self, name: str) -> tuple[str, ...]:
        """A comma-separated list of chat logins (letters, digits, ``_``; a leading ``@`` is
        dropped), lower case; empty when unset."""
        raw = self.text(name)
        if raw is None:
            return ()
        entries = tuple(e.strip().lstrip("@").lower() for e in raw.split(",") if e.strip())
        if not entries or len(entries) > MAX_LOGINS or not all(map(_LOGIN.fullmatch, entries)):
            self.problems.append(
                f"{name} must be a comma-separated list of at most {MAX_LOGINS} chat logins "
                f"(letters, digits and _, at most 25 each), got {shown(raw)}"
            )
            return ()
        return entries

    def urls(self, name: str, single: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
        """A comma-separated list of http(s) URLs; else ``single`` (the older one-URL setting)
        as a one-item list; else ``default``."""
        raw = self.text(name)
        if raw is None:
            return (single,) if single else default
        entries = tuple(entry.strip().rstrip("/") for entry in raw.split(",") if entry.strip())
        if not entries or not all(http_url(e) for e in entries):
            self.problems.append(
                f"{name} must be a comma-separated list of http:// or https:// URLs, "
                f"got {shown(raw)}"
            )
            return default
        return entries

    def chain(self, name: str, default: str) -> str:
        """A drand chain: ``quicknet``, ``default`` or a chain hash (64 hex digits)."""
        raw = self.text(name)
        if raw is None:
            return default
        value = raw.lower()
        if value not in ("quicknet", "default") and not _CHAIN_HASH.fullmatch(value):
            self.problems.append(
                f"{name} must be quicknet, default or a chain hash (64 hex digits), "
                f"got {shown(raw)}"
            )
            return default
        return value

    def ws_url(self, name: str, default: str) -> str:
        """A WebSocket URL (ws:// or wss:// with a host), kept as it is (a query included)."""
        value = self.text(name, default) or default
        if not http_url(value, ("ws://", "wss://")):
            self.problems.append(
                f"{name} must be a ws:// or wss:// URL with a host, got {shown(value)}"
            )
            return default
        return value

    def url(self, name: str, default: str | None = None) -> str | None:
        value = self.text(name, default)
        if value is not None and not http_url(value):
            self.problems.append(
                f"{name} must be an http:// or https:// URL with a host, got {shown(value)}"
            )
            return default
        return value.rstrip("/") if value else value
