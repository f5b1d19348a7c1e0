"""The few Discord OAuth2 and API calls the dashboard makes, with the user's bearer token.

Discord's replies are read with the platforms' lenient readers (``core/platforms/lenient.py``):
names lose NULs and lone surrogates and are cut to 100 characters (they are stored and shown),
ids are snowflakes, and an entry of the server list that cannot be read is left out."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from core.platforms.http import tls_context
from core.platforms.lenient import (
    NAME_MAX,
    as_id,
    as_int,
    as_list,
    as_mapping,
    as_text,
    parse_each,
    parsed_json,
)

log = logging.getLogger(__name__)

ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
TIMEOUT = httpx.Timeout(10.0)
TOKEN_MAX = 2048  # far past Discord's tokens; it is sealed into the session cookie


class DiscordUnavailable(Exception):
    """Discord did not answer, or answered with something we cannot use."""


class TokenRefused(DiscordUnavailable):
    """Discord refused the user's token (401): it was revoked (the user removed the app from
    Authorized Apps, or Discord ended it); only a new login gets another."""


@dataclass(frozen=True)
class DiscordUser:
    id: int
    name: str


@dataclass(frozen=True)
class UserGuild:
    id: int
    name: str
    can_manage: bool  # owner, Administrator or Manage Server
    icon: str | None = None  # the icon's hash on Discord's CDN


ICON_HASH = re.compile(r"(?:a_)?[0-9a-f]{32}")


def icon_hash(raw: object) -> str | None:
    """An icon hash as Discord gives it, or None for anything else (it lands in a URL)."""
    return raw if isinstance(raw, str) and ICON_HASH.fullmatch(raw) else None


def can_manage(raw: Mapping[str, Any]) -> bool:
    if raw.get("owner") is True:
        return True
    permissions = as_int(raw.get("permissions", 0))  # a string of digits, as Discord sends it
    return permissions is not None and bool(permissions & (ADMINISTRATOR | MANAGE_GUILD))


def snowflake(value: object) -> int:
    """A Discord id in Discord's reply: a whole number from 1 to the 64-bit top; ValueError
    for anything else (it is stored, and a 30-digit one would not fit)."""
    number = as_int(value)
    if number is None or number <= 0:
        raise ValueError("not a Discord id")
    return number


class DiscordClient:
    def __init__(self, api_base_url: str, client_id: str, client_secret: str) -> None:
        self.api_base_url = api_base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret

    def _call(self, method: str, path: str, **kwargs) -> object:  # type: ignore[no-untyped-def]
        try:
            response = httpx.request(
                method,
                f"{self.api_base_url}{path}",
                timeout=TIMEOUT,
                verify=tls_context(),
                **kwargs,
            )
        except httpx.HTTPError as exc:
            log.warning("Discord %s %s failed: %s", method, path, type(exc).__name__)
            raise DiscordUnavailable("Discord did not answer") from exc
        if response.status_code != 200:
            # Never the body: a token endpoint's error may echo what was sent.
            log.warning("Discord %s %s answered %s", method, path, response.status_code)
            if response.status_code == 401 and "Authorization" in kwargs.get("headers", {}):
                raise TokenRefused("Discord refused the user's token")
            raise DiscordUnavailable(f"Discord answered {response.status_code}")
        try:
            return parsed_json(response.content)
        except ValueError as exc:
            raise DiscordUnavailable("Discord answered something that is not JSON") from exc

    def exchange(self, code: str, redirect_uri: str) -> tuple[str, int]:
        """The authorization code for (access token, seconds it lives)."""
        body = self._call(
            "POST",
            "/oauth2/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(self.client_id, self.client_secret),
        )
        if not isinstance(body, dict):
            raise DiscordUnavailable("Discord's token answer is not an object")
        # It goes back in a header: printable ASCII only (anything else failed every request).
        raw_token = body.get("access_token")
        token = as_id(raw_token, limit=TOKEN_MAX) if isinstance(raw_token, str) else None
        if token is None:
            raise DiscordUnavailable("Discord's token answer has no access token")
        scopes = set(str(body.get("scope", "")).split())
        if not {"identify", "guilds"} <= scopes:
            raise DiscordUnavailable("Discord granted fewer scopes than asked")
        expires = body.get("expires_in")
        seconds = expires if isinstance(expires, int) and 0 < expires <= 31_536_000 else 3600
        return token, seconds

    def _bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def me(self, token: str) -> DiscordUser:
        body = self._call("GET", "/users/@me", headers=self._bearer(token))
        if not isinstance(body, dict):
            raise DiscordUnavailable("Discord's user answer is not an object")
        try:
            user_id = snowflake(body.get("id"))
        except ValueError as exc:
            raise DiscordUnavailable("Discord's user answer is unusable") from exc
        name = _name(body.get("global_name")) or _name(body.get("username")) or str(user_id)
        return DiscordUser(user_id, name)

    def guilds(self, token: str) -> list[UserGuild]:
        body = self._call("GET", "/users/@me/guilds", headers=self._bearer(token))
        if not isinstance(body, list):
            raise DiscordUnavailable("Discord's guild list is not a list")
        return parse_each(as_list(body), user_guild)  # one odd entry does not hide the others


def _name(value: object) -> str | None:
    """A user's or server's name as Discord gives it: text without NULs or lone surrogates, at
    most 100 characters; None when there is none."""
    return as_text(value, NAME_MAX) if isinstance(value, str) else None


def user_guild(entry: object) -> UserGuild | None:
    """One entry of ``/users/@me/guilds``; None when it has no usable id or name."""
    raw = as_mapping(entry)
    try:
        guild_id = snowflake(raw.get("id"))
    except ValueError:
        return None
    name = _name(raw.get("name"))
    if name is None:
        return None
    return UserGuild(guild_id, name, can_manage(raw), icon_hash(raw.get("icon")))
