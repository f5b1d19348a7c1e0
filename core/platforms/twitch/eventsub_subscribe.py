"""Creating a broadcaster's subscriptions on a new EventSub WebSocket session, through Helix with
the broadcaster's user token (docs/twitch.md, "EventSub over WebSocket").

What Twitch refuses for one type stays with that type: a type refused for good (400: a version
Twitch retired, a condition it does not take; 403: a scope the grant lacks; 404) is skipped with
a warning and reported, and the session goes on with the others. What would fail every type ends
the session (the socket reconnects with backoff): no token, a 401 once the token was read again,
Twitch unreachable or answering 5xx after ``CREATE_TRIES`` tries of one create, or every type
refused (a session without subscriptions is closed by Twitch anyway).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.platforms.twitch.conditions import condition_of, given_condition, version_of
from core.platforms.twitch.helix_models import EventSubList
from core.platforms.twitch.helix_transport import (
    BadRequest,
    Conflict,
    Forbidden,
    HelixError,
    NotFound,
    RateLimited,
    Unauthorized,
)

log = logging.getLogger(__name__)

# Twitch's answers that refuse one type for good: trying again, or another session, cannot help.
REFUSED_FOR_GOOD: tuple[type[HelixError], ...] = (BadRequest, Forbidden, NotFound)
# One create that got no answer or a 5xx is made this many times in all, the waits between
# doubling from CREATE_RETRY_SECONDS (Helix does not repeat a create by itself: Twitch may have
# acted; a repeat it did act on answers 409, and the subscription is found on this session).
CREATE_TRIES = 3
CREATE_RETRY_SECONDS = 0.5


class EventSubApi(Protocol):
    """The Helix calls the supervisor needs (:class:`~core.platforms.twitch.helix.HelixClient`)."""

    async def create_eventsub_subscription(
        self,
        token: str,
        type: str,
        version: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
    ) -> Any: ...

    async def list_eventsub_subscriptions(
        self, token: str, *, type: str | None = None
    ) -> EventSubList: ...

    async def delete_eventsub_subscription(self, token: str, subscription_id: str) -> None: ...


class NothingSubscribed(Exception):
    """Twitch refused every type on the session: it is ended (Twitch would close it)."""


@dataclass
class Subscribed:
    """A session's subscriptions made: ``token`` the one that worked last, ``refused`` the
    types Twitch refused for good (type -> Twitch's answer)."""

    token: str = field(repr=False)  # a secret: never in a log line or a traceback
    refused: dict[str, str] = field(default_factory=dict)


def is_transient(exc: HelixError) -> bool:
    """No answer (``status`` None) or a 5xx: the same create may work in a moment."""
    return exc.status is None or exc.status >= 500


class SessionSubscriber:
    """``api()`` gives the Helix client (looked up at each call), ``token(broadcaster)`` the
    broadcaster's user token (read afresh; the provider refreshes a dead one), ``sleep`` makes
    the waits between tries of a create."""

    def __init__(
        self,
        api: Callable[[], EventSubApi],
        token: Callable[[str], Awaitable[str]],
        subscription_types: Iterable[str],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.api = api
        self.token = token
        self.subscription_types = tuple(subscription_types)
        self.sleep = sleep

    async def subscribe(self, broadcaster: str, session_id: str) -> Subscribed:
        """Every type on the session, with a freshly read token; see the module for what is
        skipped and what raises (ending the session)."""
        done = Subscribed(await self.token(broadcaster))
        transport = {"method": "websocket", "session_id": session_id}
        for kind in self.subscription_types:
            condition = condition_of(kind, broadcaster)
            try:
                done.token = await self._create_tried(
                    done.token, broadcaster, kind, condition, transport
                )
            except REFUSED_FOR_GOOD as exc:
                done.refused[kind] = str(exc)
                log.warning("Twitch EventSub %s: Twitch refused %s: %s", broadcaster, kind, exc)
        if self.subscription_types and len(done.refused) == len(self.subscription_types):
            raise NothingSubscribed(f"Twitch refused every subscription type ({_first(done)})")
        return done

    async def _create_tried(
        self,
        token: str,
        broadcaster: str,
        kind: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
    ) -> str:
        """:meth:`_create`, made again up to ``CREATE_TRIES`` times in all while Twitch does not
        answer or answers 5xx; then its error is raised."""
        for tried in range(1, CREATE_TRIES + 1):
            try:
                return await self._create(token, broadcaster, kind, condition, transport)
            except HelixError as exc:
                if not is_transient(exc) or tried == CREATE_TRIES:
                    raise
                delay = CREATE_RETRY_SECONDS * 2 ** (tried - 1)
                log.info(
                    "Twitch EventSub %s: creating %s failed (%s); trying again in %.1f s",
                    broadcaster,
                    kind,
                    exc,
                    delay,
                )
                await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _create(
        self,
        token: str,
        broadcaster: str,
        kind: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
    ) -> str:
        """Create one subscription; returns the token that worked."""
        api = self.api()

        async def create(with_token: str) -> None:
            await api.create_eventsub_subscription(
                with_token, kind, version_of(kind), condition, transport
            )

        try:
            await create(token)
        except Unauthorized:
            fresh = await self.token(broadcaster)  # the provider refreshes a dead token
            if fresh == token:
                raise
            await create(fresh)
            return fresh
        except (Conflict, RateLimited):
            # Orphans of a dead session hold the type and condition: remove them, then retry;
            # unless this session has it already (an earlier try whose answer was lost).
            if await self._clear_orphans(token, kind, condition, transport["session_id"]):
                return token
            await create(token)
        return token

    async def _clear_orphans(
        self, token: str, kind: str, condition: Mapping[str, str], session_id: str
    ) -> bool:
        """Delete the websocket subscriptions of other sessions with this type and condition;
        whether this session has one."""
        api = self.api()
        listed = await api.list_eventsub_subscriptions(token, type=kind)
        has_one = False
        for subscription in listed.subscriptions:
            if subscription.transport_method != "websocket":
                continue
            if given_condition(subscription.condition) != dict(condition):
                continue
            if subscription.session_id == session_id:
                has_one = True
            else:
                await api.delete_eventsub_subscription(token, subscription.id)
        return has_one


def _first(done: Subscribed) -> str:
    """The first refusal, for the session's ``last_error``."""
    kind, why = next(iter(done.refused.items()))
    return f"{kind}: {why}"


__all__ = [
    "CREATE_TRIES",
    "REFUSED_FOR_GOOD",
    "EventSubApi",
    "NothingSubscribed",
    "SessionSubscriber",
    "Subscribed",
]
