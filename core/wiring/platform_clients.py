"""What Kick's and Twitch's wiring share (``wiring/kick.py``, ``wiring/twitch.py``): a platform's
clients made from its settings, the streamer's connections they sign in and speak through, and
what every webhook receiver takes from the runtime."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from core.features.connections.round_trip import RoundTrip
from core.metrics import Metrics
from core.platforms.oauth import OAuthClient
from core.ratelimits import Windows
from core.wiring.chat_on_loop import ChatOnLoop, Sender

if TYPE_CHECKING:
    from core.wiring.assembly import Assembly

ConnectionsT = TypeVar("ConnectionsT", bound=RoundTrip[Any])


class PlatformSettings(Protocol):
    client_id: str | None
    client_secret: str | None
    oauth_base_url: str


class PlatformClients(ChatOnLoop[Sender]):
    """A platform's HTTP clients, made from its settings (``oauth_type``: its OAuth client); the
    chat sender is one per process and speaks as ``connections``, which
    :meth:`streamer_connections` sets. ``windows``: the process's rate-limit windows
    (``rt.windows``), which every client that sends what a partner limits is given."""

    oauth_type: ClassVar[type[OAuthClient]]

    def __init__(
        self,
        settings: PlatformSettings,
        clock: Callable[[], datetime],
        metrics: Metrics,
        windows: Windows,
    ) -> None:
        self.settings = settings
        self.windows = windows
        self.clock = clock
        self.metrics = metrics
        self.connections: Any = None

    def chat_client(self) -> Any:
        """The HTTP client the chat sender speaks through (Kick's API, Twitch's Helix)."""
        raise NotImplementedError

    def chat_sender(self, client: Any, streamer_call: Any) -> Sender:
        """The platform's chat sender on ``client``, calling as the streamer through
        ``streamer_call`` (the connections' ``call_as_streamer``)."""
        raise NotImplementedError

    def _build_chat(self) -> tuple[Sender, Any]:
        """Replies in the platform's chat, as the streamer's connections (set by
        :meth:`streamer_connections` before any use)."""
        if self.connections is None:
            raise RuntimeError("the streamer's connections are made before the chat sender")
        client = self.chat_client()
        return self.chat_sender(client, self.connections.call_as_streamer), client

    @property
    def is_configured(self) -> bool:
        return bool(self.settings.client_id and self.settings.client_secret)

    def oauth_client(self) -> OAuthClient:
        settings = self.settings
        return self.oauth_type(
            settings.oauth_base_url,
            settings.client_id or "",
            settings.client_secret or "",
            clock=self.clock,
        )

    def streamer_connections(
        self,
        kind: type[ConnectionsT],
        rt: Assembly,
        make_api: Callable[[], AbstractAsyncContextManager[Any]],
    ) -> ConnectionsT:
        """The streamer's connections of ``kind``, signing in through
        ``/auth/<platform>/callback``; the chat sender speaks as them from now on."""
        self.connections = kind(
            rt.engine,
            rt.cipher,
            oauth_base_url=self.settings.oauth_base_url,
            client_id=self.settings.client_id,
            redirect_uri=f"{rt.public_base_url}/auth/{kind.PLATFORM.value}/callback",
            make_oauth=self.oauth_client,
            make_api=make_api,
            clock=rt.clock,
        )
        return self.connections


def receiver_options(rt: Assembly) -> dict[str, Any]:
    """What every webhook receiver takes from the runtime (see
    :class:`~core.platforms.webhook_answers.WebhookReceiver`) but ``on_arrival``."""
    return {
        "replay_guard": rt.replay_guard,
        "is_tracked": lambda platform, user_id: bool(rt.guilds.guilds_tracking(platform, user_id)),
        "publish": rt.bus.publish,
        "metrics": rt.metrics,
        "clock": rt.clock,
        "publish_delivery": rt.publish_delivery,
    }
