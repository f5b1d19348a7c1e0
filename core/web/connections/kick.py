"""Sign-in with Kick (``/auth/kick/...``): a streamer's channel from ``!kick setup``, a viewer's
account from ``!link``."""

from __future__ import annotations

from core.features.connections.kick.signin import KickSignIn
from core.web.connections.signin import SignInSite, signin_blueprint

bp = signin_blueprint(
    SignInSite(
        flow=KickSignIn,
        connections=lambda web: web.kick_connections,
        viewer_intro=(
            "This personal link connects the Kick account you sign in with to the Discord "
            "account that asked for it with !link. Continue only if you asked for it yourself."
        ),
    )
)
