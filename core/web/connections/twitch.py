"""Sign-in with Twitch (``/auth/twitch/...``): a streamer's channel from ``!twitch setup``, a
viewer's account from ``!link twitch``. A viewer is told Twitch is unreachable with a 503:
nothing on our side is wrong, try later."""

from __future__ import annotations

from core.features.connections.twitch.signin import TwitchSignIn
from core.features.connections.twitch.viewer_signin import TWITCH_VIEWER_UNAVAILABLE_MESSAGE
from core.web.connections.signin import SignInSite, signin_blueprint

bp = signin_blueprint(
    SignInSite(
        flow=TwitchSignIn,
        connections=lambda web: web.twitch_connections,
        viewer_intro=(
            "This personal link connects the Twitch account you sign in with to the Discord "
            "account that asked for it with !link twitch. Twitch only tells us who you are; "
            "continue only if you asked for it yourself."
        ),
        viewer_unavailable_status=503,
        viewer_unavailable_message=TWITCH_VIEWER_UNAVAILABLE_MESSAGE,
    )
)
