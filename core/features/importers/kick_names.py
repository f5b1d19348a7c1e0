"""Kick usernames to Kick user ids, for rows keyed by name: never guessed.

A name is resolved when StreamKeeper already knows exactly one Kick viewer by it, or when Kick
says so: the channel whose slug is the name belongs to a user whose current name is that name
(case aside). Anything else (no such channel, a channel whose user is now called otherwise, no
token to ask with) stays unresolved, with the reason, and the rows are reported, not imported.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from sqlalchemy.engine import Engine

from core.events import Platform
from core.features.importers.progress import Progress
from core.features.viewers.repository import find_viewer_ids_by_username, usernames_of
from core.platforms.kick.api import KickApi
from core.platforms.kick.api_errors import KickApiError
from core.platforms.kick.oauth_client import NeedsReauthorization, OAuthError

T = TypeVar("T")

_TYPED_BEFORE = re.compile(r"^[\s@]+")


@dataclass(frozen=True)
class KickAccount:
    user_id: str
    username: str  # the current name, as Kick or our viewers table spells it


class KickLookup(Protocol):
    """Kick's API as the import needs it (the guild's streamer token, or an app token)."""

    async def user_id_of_slug(self, slug: str) -> str | None:
        """The broadcaster user id of the channel with this slug; None when there is none."""
        ...

    async def names_of(self, user_ids: Collection[str]) -> Mapping[str, str]:
        """Current usernames by user id (absent: unknown to Kick)."""
        ...

    async def aclose(self) -> None:
        """Let go of connections; called once the import is done with it."""
        ...


def fold(name: str) -> str:
    """Kick names compare without case, and without the spaces and ``@`` typed before them
    (folding twice gives the same name)."""
    return _TYPED_BEFORE.sub("", name).rstrip().casefold()


def slugs_of(name: str) -> list[str]:
    """Channel slugs a username may have: lower case, and with ``_`` as ``-`` (Kick's slugs
    write an underscore as a hyphen)."""
    slug = fold(name)
    candidates = [slug, slug.replace("_", "-")]
    return [s for s in dict.fromkeys(candidates) if 0 < len(s) <= 25]


@dataclass
class Resolution:
    accounts: dict[str, KickAccount]  # by folded name
    unresolved: dict[str, str]  # folded name -> why
    told_by_kick: set[str] = field(default_factory=set)  # folded names Kick resolved

    def account(self, name: str) -> KickAccount | None:
        return self.accounts.get(fold(name))

    def why_not(self, name: str) -> str:
        return self.unresolved.get(fold(name), "not looked up")


async def resolve(
    engine: Engine,
    names: Collection[str],
    lookup: KickLookup | None,
    progress: Callable[[int], Progress],
) -> Resolution:
    """Every name's account, or why there is none."""
    wanted = sorted({fold(name) for name in names if fold(name)})
    accounts: dict[str, KickAccount] = {}
    unresolved: dict[str, str] = {}
    ask: list[str] = []
    with engine.connect() as conn:
        for name in wanted:
            ids = find_viewer_ids_by_username(conn, Platform.KICK, name)
            if len(ids) == 1:
                spelled = usernames_of(conn, [(str(Platform.KICK), ids[0])])
                accounts[name] = KickAccount(ids[0], next(iter(spelled.values()), name))
            else:
                ask.append(name)
    if lookup is None:
        for name in ask:
            unresolved[name] = "not a viewer StreamKeeper knows, and no Kick token to ask Kick"
        return Resolution(accounts, unresolved)
    told: set[str] = set()
    asking = _Asking()
    bar = progress(len(ask))
    try:
        for name in ask:
            found = asking.gave_up or await asking.ask(lookup, name)
            if isinstance(found, KickAccount):
                accounts[name] = found
                told.add(name)
            else:
                unresolved[name] = found
            bar.advance()
    finally:
        bar.close()
    return Resolution(accounts, unresolved, told)


# Kick failing for this many names in a row is Kick down: the rest are not asked (each name
# would wait for its own timeouts), and say so.
FAILURES_IN_A_ROW = 3


@dataclass
class _Asking:
    """Asks Kick name by name, and gives up once Kick cannot answer: at once when no token can
    be had, or after :data:`FAILURES_IN_A_ROW` failed names."""

    failures: int = 0
    gave_up: str | None = None  # why the names left were not asked

    async def ask(self, lookup: KickLookup, name: str) -> KickAccount | str:
        try:
            found = await _ask_kick_once(lookup, name)
        # OAuthError: the guild's token was due for a refresh and Kick's OAuth server did not
        # give one; asking again needs the same token.
        except (NeedsReauthorization, OAuthError) as exc:
            self.gave_up = f"not asked: Kick did not give a token ({type(exc).__name__})"
            return f"Kick did not say ({type(exc).__name__})"
        except KickApiError as exc:
            self.failures += 1
            if self.failures >= FAILURES_IN_A_ROW:
                self.gave_up = f"not asked: Kick failed {self.failures} names in a row"
            return f"Kick did not say ({type(exc).__name__})"
        self.failures = 0
        return found


async def _ask_kick_once(lookup: KickLookup, name: str) -> KickAccount | str:
    for slug in slugs_of(name):
        user_id = await lookup.user_id_of_slug(slug)
        if user_id is None:
            continue
        current = (await lookup.names_of([user_id])).get(user_id)
        if current is not None and fold(current) == name:
            return KickAccount(user_id, current)
        return f"the Kick channel '{slug}' belongs to someone now called {current or '?'}"
    return "no Kick account has this name now (renamed or deleted?)"


class TokenCall(Protocol):
    """Makes ``call(token)`` with a usable token (``KickConnections.call_as_streamer`` for a
    guild, which refreshes on a 401)."""

    def __call__(self, call: Callable[[str], Awaitable[T]]) -> Awaitable[T]: ...


class KickApiLookup:
    """:class:`KickLookup` on Kick's public API, each call made with ``with_token``."""

    def __init__(self, api: KickApi, with_token: TokenCall) -> None:
        self._api = api
        self._with_token = with_token

    async def user_id_of_slug(self, slug: str) -> str | None:
        channel = await self._with_token(lambda token: self._api.get_channel_by_slug(token, slug))
        return None if channel is None else str(channel.broadcaster_user_id)

    async def names_of(self, user_ids: Collection[str]) -> Mapping[str, str]:
        ids = list(user_ids)
        users = await self._with_token(lambda token: self._api.get_users(token, ids))
        return {str(user.user_id): user.name for user in users}

    async def aclose(self) -> None:
        await self._api.aclose()
