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
from typing import Any

from core.events import Event
from core.platforms.sockets import DELIVERY_WINDOW, repeat_until_stopped
from core.platforms.twitch.conditions import condition_of
from core.platforms.twitch.eventsub_subscribe import EventSubApi, SessionSubscriber
from core.platforms.twitch.eventsub_ws import EventSubSocket, EventSubState
from core.platforms.twitch.notifications import ALERT_TYPES, PARSED_TYPES
from core.platforms.twitch.webhook import Revocation

log = logging.getLogger(__name__)

# What a broadcaster's socket subscribes to: every type the parser reads, the alerts' follows,
# raids and cheers among them, each in its version and condition (conditions.py). Chat is read
# as the broadcaster (``user_id`` = the broadcaster), so one socket and one token serve
# everything; a type Twitch refuses (the token lacks the scope for follows or cheers, a retired
# version) is skipped and shown in the socket's state (eventsub_subscribe.py).
SOCKET_SUBSCRIPTIONS: tuple[str, ...] = (*PARSED_TYPES, *ALERT_TYPES)
ARRIVAL_PREFIX = "twitch:"  # Twitch webhook arrivals share the store with Kick's

TokenFor = Callable[[str], Awaitable[str] | str]


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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``make_api()`` is called on the loop at the first subscription of each :meth:`run`
        (the client is closed, if it has ``aclose``, and forgotten when that run ends: the
        scheduler runs it again when the job's lease comes back to this process).
        ``broadcasters()`` and ``arrivals()`` may block (they are run in a thread once per
        reconcile). ``arrivals()`` gives when a webhook last arrived per (broadcaster,
        ``"twitch:" + subscription type``). ``token_for()`` finds the token provider on each
        reconcile (it may be installed later); while it finds none the supervisor idles.
        ``sleep`` makes the waits between tries of a subscription Twitch did not answer."""
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
        self._subscriber = SessionSubscriber(
            lambda: self.api, self._token, self.subscription_types, sleep
        )
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

    async def _subscribe(self, broadcaster: str, session_id: str) -> dict[str, str]:
        """Create every subscription on the new session (:class:`SessionSubscriber`): the types
        Twitch refused for good are returned (shown in the socket's state, ``refused``); what
        fails every type raises, ending the session."""
        done = await self._subscriber.subscribe(broadcaster, session_id)
        self._fingerprints[broadcaster] = _fingerprint(done.token)
        return done.refused

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
