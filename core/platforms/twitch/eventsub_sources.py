"""Keeps Twitch's EventSub WebSocket running: one socket per broadcaster that guilds follow and
whose user token the caller can provide, started and stopped as that changes.

It runs when no public HTTPS ``OAUTH_BASE_URL`` is configured (Twitch's webhooks cannot reach
the bot then), like Kick's Pusher. Subscriptions on a socket need the broadcaster's *user*
token: ``token_for(broadcaster_user_id)`` is asked afresh for every new session; when it raises
(no connection yet, a grant being refreshed or revoked) the socket is not started, or its
session is retried later with backoff. The provider itself is looked up on each reconcile, so
the supervisor idles until the Twitch connection feature provides one. A socket whose
subscriptions Twitch revoked is started anew, subscribing everything again, as soon as
``token_for`` gives a different token (the streamer consented again).
See docs/twitch.md, "EventSub over WebSocket".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from core.events import Event
from core.platforms.sockets import DELIVERY_WINDOW, repeat_until_stopped
from core.platforms.twitch.conditions import condition_of, given_condition, version_of
from core.platforms.twitch.eventsub_ws import EventSubSocket, EventSubState
from core.platforms.twitch.helix_models import EventSubList
from core.platforms.twitch.helix_transport import Conflict, Forbidden, RateLimited, Unauthorized
from core.platforms.twitch.notifications import ALERT_TYPES, PARSED_TYPES
from core.platforms.twitch.webhook import Revocation

log = logging.getLogger(__name__)

# What a broadcaster's socket subscribes to: every type the parser reads, the alerts' follows,
# raids and cheers among them, each in its version and condition (conditions.py). Chat is read
# as the broadcaster (``user_id`` = the broadcaster), so one socket and one token serve
# everything; a type the token lacks the scope for (follows, cheers) is skipped.
SOCKET_SUBSCRIPTIONS: tuple[str, ...] = (*PARSED_TYPES, *ALERT_TYPES)
ARRIVAL_PREFIX = "twitch:"  # Twitch webhook arrivals share the store with Kick's

TokenFor = Callable[[str], Awaitable[str] | str]


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


class EventSubSupervisor:
    def __init__(
        self,
        url: str,
        *,
        broadcasters: Callable[[], Iterable[str]],
        token_for: Callable[[], TokenFor | None],
        make_api: Callable[[], EventSubApi],
        publish: Callable[[Event], object],
        record_revocation: Callable[[Revocation], object] = lambda _revocation: None,
        arrivals: Callable[[], Mapping[tuple[str, str], datetime]] = dict,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        subscription_types: Iterable[str] = SOCKET_SUBSCRIPTIONS,
        socket_options: Mapping[str, Any] | None = None,
    ) -> None:
        """``make_api()`` is called on the loop at the first subscription of each :meth:`run`
        (the client is closed, if it has ``aclose``, and forgotten when that run ends: the
        scheduler runs it again when the job's lease comes back to this process).
        ``broadcasters()`` and ``arrivals()`` may block (they are run in a thread once per
        reconcile). ``arrivals()`` gives when a webhook last arrived per (broadcaster,
        ``"twitch:" + subscription type``). ``token_for()`` finds the token provider on each
        reconcile (it may be installed later); while it finds none the supervisor idles."""
        self.url = url
        self.broadcasters = broadcasters
        self.token_for = token_for
        self.make_api = make_api
        self._api: EventSubApi | None = None
        self.publish = publish
        self.record_revocation = record_revocation
        self.arrivals = arrivals
        self.clock = clock
        self.subscription_types = tuple(subscription_types)
        self.socket_options = dict(socket_options or {})
        self._arrived: Mapping[tuple[str, str], datetime] = {}
        self._sockets: dict[str, tuple[EventSubSocket, asyncio.Task[None], asyncio.Event]] = {}
        self._fingerprints: dict[str, str] = {}  # a hash of the token each one subscribed with

    def states(self) -> dict[str, EventSubState]:
        """Each socket's state by broadcaster user id, for status pages and commands."""
        return {broadcaster: socket.state for broadcaster, (socket, _, _) in self._sockets.items()}

    def webhooks_deliver(self, broadcaster_user_id: str, subscription_type: str) -> bool:
        """Whether a webhook of this type arrived for the broadcaster lately (last reading)."""
        at = self._arrived.get((broadcaster_user_id, ARRIVAL_PREFIX + subscription_type))
        return at is not None and at > self.clock() - DELIVERY_WINDOW

    async def reconcile(self) -> None:
        if self.token_for() is None:
            return
        self._arrived = await asyncio.to_thread(lambda: dict(self.arrivals()))
        wanted = set(await asyncio.to_thread(lambda: list(self.broadcasters())))
        for broadcaster in set(self._sockets) - wanted:
            await self._stop(broadcaster)
        for broadcaster in sorted(wanted):
            running = self._sockets.get(broadcaster)
            if running is not None and not running[0].state.revoked:
                continue
            try:
                token = await self._token(broadcaster)
            except Exception as exc:
                log.info("Twitch EventSub: no token for %s yet (%s)", broadcaster, exc)
                continue
            if running is not None:
                if _fingerprint(token) == self._fingerprints.get(broadcaster):
                    continue  # revoked, and still the same grant: wait for a new consent
                log.info("Twitch EventSub: %s has a new token; subscribing again", broadcaster)
                await self._stop(broadcaster)
            self._start(broadcaster)

    async def _token(self, broadcaster: str) -> str:
        provider = self.token_for()
        if provider is None:
            raise LookupError("no Twitch token provider")
        result = provider(broadcaster)
        return await result if inspect.isawaitable(result) else result

    @property
    def api(self) -> EventSubApi:
        if self._api is None:
            self._api = self.make_api()
        return self._api

    def _start(self, broadcaster: str) -> None:
        socket = EventSubSocket(
            self.url,
            subscribe=lambda session_id: self._subscribe(broadcaster, session_id),
            publish=self.publish,
            record_revocation=self.record_revocation,
            webhooks_deliver=lambda kind, _event: self.webhooks_deliver(broadcaster, kind),
            name=broadcaster,
            **self.socket_options,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(socket.run(stop), name=f"twitch-eventsub-{broadcaster}")
        self._sockets[broadcaster] = (socket, task, stop)
        log.info("listening to Twitch broadcaster %s over the EventSub WebSocket", broadcaster)

    async def _stop(self, broadcaster: str) -> None:
        _, task, stop = self._sockets.pop(broadcaster)
        self._fingerprints.pop(broadcaster, None)
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=10)

    async def _subscribe(self, broadcaster: str, session_id: str) -> None:
        """Create every subscription on the new session with a freshly read token. A type the
        token lacks the scope for is skipped (logged); anything else raises, ending the session."""
        token = await self._token(broadcaster)
        transport = {"method": "websocket", "session_id": session_id}
        for kind in self.subscription_types:
            condition = condition_of(kind, broadcaster)
            try:
                token = await self._create(token, broadcaster, kind, condition, transport)
            except Forbidden as exc:
                log.warning(
                    "Twitch EventSub %s: not allowed to read %s: %s", broadcaster, kind, exc
                )
        self._fingerprints[broadcaster] = _fingerprint(token)

    async def _create(
        self,
        token: str,
        broadcaster: str,
        kind: str,
        condition: Mapping[str, str],
        transport: Mapping[str, str],
    ) -> str:
        """Create one subscription; returns the token that worked."""
        try:
            await self.api.create_eventsub_subscription(
                token, kind, version_of(kind), condition, transport
            )
        except Unauthorized:
            fresh = await self._token(broadcaster)  # the provider refreshes a dead token
            if fresh == token:
                raise
            await self.api.create_eventsub_subscription(
                fresh, kind, version_of(kind), condition, transport
            )
            return fresh
        except (Conflict, RateLimited):
            # Orphans of a dead session hold the type and condition: remove them, then retry.
            await self._delete_orphans(token, kind, condition, transport["session_id"])
            await self.api.create_eventsub_subscription(
                token, kind, version_of(kind), condition, transport
            )
        return token

    async def _delete_orphans(
        self, token: str, kind: str, condition: Mapping[str, str], session_id: str
    ) -> None:
        listed = await self.api.list_eventsub_subscriptions(token, type=kind)
        for subscription in listed.subscriptions:
            is_orphan = (
                subscription.transport_method == "websocket"
                and subscription.session_id != session_id
                and given_condition(subscription.condition) == dict(condition)
            )
            if is_orphan:
                await self.api.delete_eventsub_subscription(token, subscription.id)

    async def run(self, stop: asyncio.Event, *, every_seconds: float = 60.0) -> None:
        steps = [(self.reconcile, "could not update the Twitch EventSub sockets; trying later")]
        try:
            await repeat_until_stopped(stop, steps, every_seconds=every_seconds, logger=log)
        finally:
            for broadcaster in list(self._sockets):
                await self._stop(broadcaster)
            api, self._api = self._api, None  # a run after this one makes its own client
            close = getattr(api, "aclose", None)
            if close is not None:
                await close()


def _fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


__all__ = [
    "SOCKET_SUBSCRIPTIONS",
    "EventSubApi",
    "EventSubSupervisor",
    "condition_of",
]
